package source_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/transfer/source"
	"github.com/chama-data/chama/transfer/source/sourcetest"
)

// writeFile writes n seeded random bytes at p, creating its folder.
func writeFile(t *testing.T, p string, n int, seed uint64) []byte {
	t.Helper()
	b := sourcetest.Bytes(n, seed)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// An SFTP relay as a source: endpoints tried in order (the dead primary
// is passed over), listing, marker, reads, ranges and md5sum verification.
func TestSFTPSourceReadsFromARelay(t *testing.T) {
	rl := startRelay(t)
	part := filepath.Join(rl.Root(), "relay", "ods", "dt=20241212", "hour=07")
	a := writeFile(t, filepath.Join(part, "000000_0"), 300_000, 1)
	writeFile(t, filepath.Join(part, "sub", "000001_0"), 10, 2)
	writeFile(t, filepath.Join(part, "_SUCCESS"), 0, 3)
	writeFile(t, filepath.Join(part, ".000002_0.tmp"), 5, 4)

	cfg := rl.config(t, "/relay", []string{deadAddr(t)}, []string{rl.srv.Addr()}, "remote_checksum: true")
	src, err := source.Open(cfg, "relay")
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close(src)
	ctx := context.Background()

	fis, err := src.List(ctx, "ods/dt=20241212/hour=07")
	if err != nil {
		t.Fatal(err)
	}
	if len(fis) != 2 || fis[0].Path != "ods/dt=20241212/hour=07/000000_0" || fis[0].Size != 300_000 || fis[1].Path != "ods/dt=20241212/hour=07/sub/000001_0" {
		t.Fatalf("listing %+v", fis)
	}
	if _, err := src.List(ctx, "ods/dt=20241212/hour=08"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("missing partition: %v", err)
	}
	if ok, err := src.Exists(ctx, "ods/dt=20241212/hour=07/_SUCCESS"); !ok || err != nil {
		t.Fatalf("marker: %v %v", ok, err)
	}
	if ok, err := src.Exists(ctx, "ods/dt=20241212/hour=08/_SUCCESS"); ok || err != nil {
		t.Fatalf("missing marker: %v %v", ok, err)
	}
	p := "ods/dt=20241212/hour=07/000000_0"
	v, ok := src.(source.Verifier)
	if !ok {
		t.Fatal("remote_checksum is on but the source does not verify")
	}
	h, _ := v.NewHash(ctx, p)
	r, err := src.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	// Large reads, as pull does them (a server answering 32 KiB to a larger
	// read must not look like the end of the file).
	if _, err := io.CopyBuffer(struct{ io.Writer }{io.MultiWriter(&got, h)}, struct{ io.Reader }{r}, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !bytes.Equal(got.Bytes(), a) {
		t.Fatal("read other bytes")
	}
	size, sum, err := v.Sum(ctx, p)
	want := md5.Sum(a)
	if err != nil || size != 300_000 || !bytes.Equal(sum, want[:]) || !bytes.Equal(h.Sum(nil), sum) {
		t.Fatalf("sum %d %x (%v), want %x", size, sum, err, want)
	}
	rr, err := src.(source.RangeOpener).OpenRange(ctx, p, 100_000, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	part2, err := io.ReadAll(rr)
	rr.Close()
	if err != nil || !bytes.Equal(part2, a[100_000:150_000]) {
		t.Fatalf("range: %d bytes, %v", len(part2), err)
	}

	// Without remote_checksum the source does not claim to verify.
	cfg.Targets["relayhost"].RemoteChecksum = false
	plain, err := source.Open(cfg, "relay")
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close(plain)
	if _, ok := plain.(source.Verifier); ok {
		t.Fatal("a relay without md5sum claims to verify")
	}
}

func TestSFTPSourceConfigValidation(t *testing.T) {
	_, err := config.Parse([]byte(`
sources:
  relay: {type: sftp, root: relative}
  relay2: {type: sftp, target: nope, root: /x}
interfaces:
  "51007": {source: relay, path: "ods/dt={date}"}
`))
	for _, want := range []string{"sources.relay.target: an sftp source reads through a target", "sources.relay.root: an sftp source needs the absolute remote folder", `sources.relay2.target: unknown target "nope"`} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
