package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
)

const hourPath = "ods/events/dt=20241212/hour=%s"

// inputs is the Inputs of interface 51007's day 20241212 in mode m, its
// source the HDFS cluster (which a test may have closed).
func (e *env) inputs(t *testing.T, m Mode) *Inputs {
	t.Helper()
	src, err := source.Open(e.cfg, "hdfs1")
	if err != nil {
		t.Fatal(err)
	}
	in := NewInputs(InputOptions{Config: e.cfg, Mode: m, Dir: "51007", Source: "hdfs1", Origin: src, OwnOrigin: true, Period: naming.MustPeriod("20241212")})
	t.Cleanup(func() { in.Close() })
	return in
}

func part(hour string) source.Partition {
	return source.Partition{Iface: "51007", Period: "20241212", Hour: hour, Path: fmt.Sprintf(hourPath, hour), Source: "hdfs1"}
}

// readAll lists partition hour through in and reads every file to its
// end, returning the bytes by "hour/name".
func readPartition(ctx context.Context, in *Inputs, hour string) (map[string][]byte, error) {
	files, err := in.Partition(ctx, part(hour), time.Now())
	if err != nil {
		return nil, err
	}
	got := map[string][]byte{}
	for _, f := range files {
		rc, err := in.Open(ctx, f.Path)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return got, err
		}
		got[hour+"/"+strings.TrimPrefix(f.Path, fmt.Sprintf(hourPath, hour)+"/")] = b
	}
	return got, nil
}

// A pulled hour is read from its copy, checked file by file, with the
// cluster gone; an hour not pulled goes to the source in auto (which is
// gone: an error, never a silent empty read) and is not ready in pulled.
func TestInputsReadPulledCopyWithTheSourceGone(t *testing.T) {
	// split_above makes the 2 MiB file go as ranges: its read checksum
	// is computed over the finished copy, not the stream.
	e := newEnv(t, hdfstest.Options{BlockSize: 256 << 10}, "    split_above: 1048576")
	want := e.dataset()
	want["00/big"] = e.write("20241212", "00", "big", 2<<20+77, 9)
	ctx := context.Background()
	if _, err := e.run(ctx, e.hours("20241212", "00", "01"), nil); err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	rec, err := ReadRecord(e.cfg, "51007", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rec {
		for _, f := range p.Files {
			if len(f.CRC32C) != 8 {
				t.Fatalf("%s: read checksum %q recorded", f.Path, f.CRC32C)
			}
		}
	}
	e.cluster.Close()

	in := e.inputs(t, Auto)
	for _, h := range []string{"00", "01"} {
		got, err := readPartition(ctx, in, h)
		if err != nil {
			t.Fatalf("hour %s: %v", h, err)
		}
		n := 0
		for k := range want {
			if strings.HasPrefix(k, h+"/") {
				n++
			}
		}
		if len(got) != n {
			t.Fatalf("hour %s: read %d files, want %d", h, len(got), n)
		}
		for k, b := range got {
			if !bytes.Equal(b, want[k]) {
				t.Fatalf("%s: pulled copy read differs from the source's bytes", k)
			}
		}
	}
	if err := in.Verified(); err != nil {
		t.Fatal(err)
	}
	if of := in.InputOf(); of.Input != InputPulled || !slices.Equal(of.Pulled, []string{fmt.Sprintf(hourPath, "00"), fmt.Sprintf(hourPath, "01")}) {
		t.Fatalf("input %+v", of)
	}
	// Hour 02 was not pulled: auto asks the (closed) cluster.
	if _, err := in.Partition(ctx, part("02"), time.Now()); err == nil || exit.Code(err) == exit.NotReady || errors.As(err, new(*CopyError)) {
		t.Fatalf("hour 02 in auto with the source gone: %v", err)
	}
	if got := in.InputOf().Input; got != InputPulled {
		t.Fatalf("a partition that failed counts as read: %s", got)
	}
	// In pulled, it is not ready.
	_, err = e.inputs(t, Pulled).Partition(ctx, part("02"), time.Now())
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "not pulled") {
		t.Fatalf("hour 02 in pulled: exit %d, %v", exit.Code(err), err)
	}
}

// A pulled copy whose bytes changed after pull is refused, naming the
// file, what pull recorded and what is there: a changed byte at end of
// file, a size changed at listing, a missing file; and a file listed but
// not read to its end fails Verified.
func TestInputsRefuseADamagedCopy(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.dataset()
	ctx := context.Background()
	if _, err := e.run(ctx, e.hours("20241212", "00"), nil); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.work, "raw", "51007", "20241212")
	file := filepath.Join(stage, "ods", "events", "dt=20241212", "hour=00", "000001_0")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(orig)
	damaged[len(damaged)-1] ^= 0x20 // the last byte: found only at end of file
	os.WriteFile(file, damaged, 0o600)

	_, err = readPartition(ctx, e.inputs(t, Auto), "00")
	var ce *CopyError
	if !errors.As(err, &ce) || exit.Code(err) != exit.Failure || ce.File != file || ce.What != "crc32c" || ce.Want == ce.Got || len(ce.Want) != 8 {
		t.Fatalf("a changed byte: exit %d, %v", exit.Code(err), err)
	}
	if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), ce.Want+" recorded, "+ce.Got+" found") {
		t.Fatalf("message does not name the file and both checksums: %v", err)
	}

	// A size that differs is found when the partition is listed.
	os.WriteFile(file, orig[:len(orig)-1], 0o600)
	_, err = e.inputs(t, Auto).Partition(ctx, part("00"), time.Now())
	if !errors.As(err, &ce) || ce.What != "size" || ce.Want != fmt.Sprintf("%d bytes", len(orig)) || ce.Got != fmt.Sprintf("%d bytes", len(orig)-1) {
		t.Fatalf("a shorter copy: %v", err)
	}
	// So is a missing file.
	os.Remove(file)
	_, err = e.inputs(t, Pulled).Partition(ctx, part("00"), time.Now())
	if !errors.As(err, &ce) || ce.What != "file" || exit.Code(err) != exit.Failure {
		t.Fatalf("a missing copy: %v", err)
	}
	os.WriteFile(file, orig, 0o600)

	// A file listed and opened but not read to its end is not proven.
	in := e.inputs(t, Auto)
	files, err := in.Partition(ctx, part("00"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rc, err := in.Open(ctx, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Path != fmt.Sprintf(hourPath, "00")+"/000001_0" {
			io.Copy(io.Discard, rc)
		}
		rc.Close()
	}
	if err := in.Verified(); exit.Code(err) != exit.Failure || !strings.Contains(err.Error(), file) {
		t.Fatalf("a file not read to its end: %v", err)
	}
}

// A file longer than recorded fails as soon as the read passes the
// recorded size (checked also covers a copy grown after the listing).
func TestCheckedReaderStopsPastTheRecordedSize(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("abcdef"), 0o600)
	f, _ := os.Open(p)
	in := &Inputs{verified: map[string]bool{}}
	c := &checked{f: f, in: in, path: "f", pf: &pulledFile{abs: p, rec: File{Bytes: 4}}, want: make([]byte, 4), crc: crc32.New(castagnoli)}
	defer c.Close()
	_, err := io.ReadAll(c)
	var ce *CopyError
	if !errors.As(err, &ce) || ce.What != "size" || !strings.Contains(ce.Got, "more than 4") {
		t.Fatalf("%v", err)
	}
}

// A record without read checksums (an older chama) is not used: auto
// reads the source instead, pulled refuses it (exit 1). Neither is a copy
// pulled from another source than the interface's, nor one without its
// marker (being cleaned): auto reads the source, pulled says not ready.
func TestInputsCopiesThatCannotBeProven(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := e.dataset()
	ctx := context.Background()
	if _, err := e.run(ctx, e.hours("20241212", "00"), nil); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.work, "raw", "51007", "20241212")
	recFile := filepath.Join(stage, workdir.PullRecordFile)
	orig, _ := os.ReadFile(recFile)
	var ps []*Partition
	json.Unmarshal(orig, &ps)
	for i := range ps[0].Files {
		ps[0].Files[i].CRC32C = ""
	}
	old, _ := json.Marshal(ps)
	os.WriteFile(recFile, old, 0o644)

	in := e.inputs(t, Auto)
	got, err := readPartition(ctx, in, "00")
	if err != nil || !bytes.Equal(got["00/000001_0"], want["00/000001_0"]) || in.InputOf().Input != InputSource {
		t.Fatalf("auto over an old record: %v, input %s", err, in.InputOf().Input)
	}
	if _, err := e.inputs(t, Pulled).Partition(ctx, part("00"), time.Now()); exit.Code(err) != exit.Failure || !strings.Contains(err.Error(), "no read checksum") {
		t.Fatalf("pulled over an old record: exit %d, %v", exit.Code(err), err)
	}

	// A copy pulled from a source the interface no longer reads.
	json.Unmarshal(orig, &ps)
	ps[0].Source = "elsewhere"
	moved, _ := json.Marshal(ps)
	os.WriteFile(recFile, moved, 0o644)
	in = e.inputs(t, Auto)
	if _, err := readPartition(ctx, in, "00"); err != nil || in.InputOf().Input != InputSource {
		t.Fatalf("auto over a copy from another source: %v, input %s", err, in.InputOf().Input)
	}

	os.WriteFile(recFile, orig, 0o644)
	os.Remove(filepath.Join(stage, "ods", "events", "dt=20241212", "hour=00", "_SUCCESS"))
	in = e.inputs(t, Auto)
	if _, err := readPartition(ctx, in, "00"); err != nil || in.InputOf().Input != InputSource {
		t.Fatalf("auto without the marker: %v, input %s", err, in.InputOf().Input)
	}
	if _, err := e.inputs(t, Pulled).Partition(ctx, part("00"), time.Now()); exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "_SUCCESS") {
		t.Fatalf("pulled without the marker: exit %d, %v", exit.Code(err), err)
	}
	// Origin never looks at the pulled copy.
	in = e.inputs(t, Origin)
	if _, err := readPartition(ctx, in, "00"); err != nil || in.InputOf().Input != InputSource {
		t.Fatalf("origin: %v, %+v", err, in.InputOf())
	}
}

// A pulled copy is read under its partition's pull lock, shared: while a
// pull stages the partition the read is busy (exit 3), and while it is
// read a pull of it is refused as busy.
func TestInputsAndPullExcludeEachOther(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.dataset()
	ctx := context.Background()
	if _, err := e.run(ctx, e.hours("20241212", "00"), nil); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.work, "raw", "51007", "20241212")
	unlock, err := lock.Try(filepath.Join(stage, workdir.PullPartitionLock(fmt.Sprintf(hourPath, "00"))), lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.inputs(t, Auto).Partition(ctx, part("00"), time.Now())
	if exit.Code(err) != exit.Partial || !errors.Is(err, exit.ErrBusy) {
		t.Fatalf("read while a pull holds the lock: exit %d, %v", exit.Code(err), err)
	}
	unlock()

	in := e.inputs(t, Auto)
	if _, err := in.Partition(ctx, part("00"), time.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(ctx, e.hours("20241212", "00"), nil)
	if exit.Code(err) != exit.Partial || res.Partitions[0].Status != StatusFailed {
		t.Fatalf("pull while the copy is read: exit %d, %v", exit.Code(err), err)
	}
	in.Close()
	if _, err := e.run(ctx, e.hours("20241212", "00"), nil); err != nil {
		t.Fatalf("pull once the read is done: %v", err)
	}
}

// A staged file whose sidecar has no read checksum (staged by an older
// chama) is copied again, so that it gets one.
func TestPullRecopiesFilesWithoutReadChecksum(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.dataset()
	ctx := context.Background()
	ps := e.hours("20241212", "00")
	if _, err := e.run(ctx, ps, nil); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(e.work, "raw", "51007", "20241212", "ods", "events", "dt=20241212", "hour=00", "000001_0")
	var sc sidecar
	data, _ := os.ReadFile(sidecarPath(dst))
	json.Unmarshal(data, &sc)
	want := sc.CRC32C
	sc.CRC32C = ""
	data, _ = json.Marshal(sc)
	os.WriteFile(sidecarPath(dst), data, 0o644)
	res, err := e.run(ctx, ps, nil)
	if err != nil || res.Files != 1 || res.Skipped != 3 {
		t.Fatalf("re-run: copied %d, skipped %d, %v", res.Files, res.Skipped, err)
	}
	data, _ = os.ReadFile(sidecarPath(dst))
	json.Unmarshal(data, &sc)
	if sc.CRC32C != want {
		t.Fatalf("sidecar read checksum %q, want %q", sc.CRC32C, want)
	}
}

// The ODS table behind from: transform interfaces is pulled once, under
// raw/ods.<table>/, however many interfaces read it; each interface gets
// its status line (and ledger row), the later ones sharing the outcome.
func TestPullStagesTheODSTableOfTransformInterfaces(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := e.dataset()
	y := fmt.Sprintf(`workdir: %s
sources:
  hdfs1:
    type: hdfs
    namenodes: [%q]
    user: chama
    root: /warehouse
interfaces:
  "51006": {from: transform}
  "51010": {from: transform}
transform:
  ods:
    events:
      source: hdfs1
      path: ods/events/dt={date}/hour={hour}
      columns: {a: string}
  dwd:
    events: {from: events}
  ads:
    "51006": {from: events, columns: {a: a}}
    "51010": {from: events, columns: {a: a}}
`, e.work, e.cluster.Addrs()[0])
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx := context.Background()
	res, err := Run(ctx, Options{Config: cfg, Periods: e.hours("20241212", "00"), Ifaces: []*config.Interface{cfg.Interfaces["51006"], cfg.Interfaces["51010"]}, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Files != 4 || res.Skipped != 4 || len(res.Partitions) != 2 {
		t.Fatalf("copied %d, skipped %d, partitions %d", res.Files, res.Skipped, len(res.Partitions))
	}
	for _, iface := range []string{"51006", "51010"} {
		line := fmt.Sprintf("CHAMA_PULL OK iface=%s period=2024121200 path=ods/events/dt=20241212/hour=00 table=events source=hdfs1", iface)
		if !strings.Contains(out.String(), line) {
			t.Errorf("no %q in\n%s", line, out.String())
		}
	}
	stage := filepath.Join(e.work, "raw", "ods.events", "20241212")
	got, err := os.ReadFile(filepath.Join(stage, "ods", "events", "dt=20241212", "hour=00", "000001_0"))
	if err != nil || !bytes.Equal(got, want["00/000001_0"]) {
		t.Fatalf("staged table file: %v", err)
	}
	rec, err := readRecord(stage)
	if err != nil || len(rec) != 1 || rec[0].Table != "events" || rec[0].Iface != "51006" {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if _, err := os.Stat(filepath.Join(e.work, "raw", "51006")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an interface folder was made: %v", err)
	}
}
