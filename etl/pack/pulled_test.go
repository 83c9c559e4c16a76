package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

var packNow = func() time.Time { return time.Date(2024, 12, 13, 1, 2, 3, 0, time.UTC) }

// hourlyEnv is an env whose interface X reads ods/dt={date}/hour={hour},
// with the given hours written (two plain files each, three rows in
// all) and extra interface keys.
func hourlyEnv(t *testing.T, extra string, hours ...string) *env {
	t.Helper()
	e := newEnv(t, "path: ods/dt={date}/hour={hour}\nfields: 2\nlines_per_file: 2\n"+extra)
	for _, h := range hours {
		e.writeInput("ods/dt=20241212/hour="+h+"/000000_0", row("a"+h, "1"), row("b"+h, "2"))
		e.writeInput("ods/dt=20241212/hour="+h+"/000001_0", row("c"+h, "3"))
	}
	return e
}

// pullHours stages hours of day 20241212 of X with chama pull.
func (e *env) pullHours(hours ...string) {
	e.t.Helper()
	var ps []naming.Period
	for _, h := range hours {
		ps = append(ps, naming.MustPeriod("20241212"+h))
	}
	if _, err := pull.Run(context.Background(), pull.Options{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}}); err != nil {
		e.t.Fatalf("pull: %v", err)
	}
}

// stagedFile is a file of X's pulled copy.
func (e *env) stagedFile(hour, name string) string {
	return filepath.Join(e.work, "raw", "X", "20241212", "ods", "dt=20241212", "hour="+hour, name)
}

// files reads every file of a period folder but manifest.json.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == workdir.ManifestFile {
			return err
		}
		b, err := os.ReadFile(p)
		out[strings.TrimPrefix(p, dir)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func inputOf(t *testing.T, dir string) pull.InputOf {
	t.Helper()
	in, err := readInputOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// With the source gone, a pulled hour packs from its copy into the very
// files packing the source gave; --source origin then fails and
// --source pulled works.
func TestPackReadsThePulledCopy(t *testing.T) {
	e := hourlyEnv(t, "", "06", "07")
	now := func(o *Options) { o.Now = packNow }
	e.mustPack("2024121206", now, func(o *Options) { o.Input = pull.Origin })
	want := files(t, e.outDir("2024121206"))
	if len(want) < 3 || inputOf(t, e.outDir("2024121206")).Input != pull.InputSource {
		t.Fatalf("origin pack: %d files, input %+v", len(want), inputOf(t, e.outDir("2024121206")))
	}
	e.pullHours("06", "07")
	if err := os.Rename(e.root, e.root+".gone"); err != nil {
		t.Fatal(err)
	}
	e.mustPack("2024121206", now)
	got := files(t, e.outDir("2024121206"))
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Fatalf("%s differs between packing the source and packing the pulled copy", name)
		}
	}
	if in := inputOf(t, e.outDir("2024121206")); in.Input != pull.InputPulled || !slices.Equal(in.Pulled, []string{"ods/dt=20241212/hour=06"}) {
		t.Fatalf("manifest input %+v", in)
	}
	if _, err := e.pack("2024121207", func(o *Options) { o.Input = pull.Origin }); err == nil {
		t.Fatal("--source origin packed with the source gone")
	}
	e.mustPack("2024121207", func(o *Options) { o.Input = pull.Pulled })
}

// A pulled copy whose last byte changed after pull fails the pack at the
// end of the period's last file, naming the file and both checksums, and
// nothing is published: the previous output stays, byte for byte, and no
// work folder is left.
func TestPackRefusesADamagedPulledCopyAndPublishesNothing(t *testing.T) {
	e := hourlyEnv(t, "", "06", "07")
	e.pullHours("06", "07")
	e.mustPack("2024121207")
	before := files(t, e.outDir("2024121207"))
	manifestBefore, _ := os.ReadFile(filepath.Join(e.outDir("2024121207"), workdir.ManifestFile))

	for _, h := range []string{"06", "07"} {
		last := e.stagedFile(h, "000001_0") // the last file of the period
		b, _ := os.ReadFile(last)
		b[len(b)-1] = 'x' // the line's '\n': still one good line, so only the checksum tells
		os.WriteFile(last, b, 0o600)
	}
	_, err := e.pack("2024121207")
	var ce *pull.CopyError
	if !errors.As(err, &ce) || exit.Code(err) != exit.Failure || ce.File != e.stagedFile("07", "000001_0") || ce.What != "crc32c" {
		t.Fatalf("damaged copy: exit %d, %v", exit.Code(err), err)
	}
	if !strings.Contains(err.Error(), e.stagedFile("07", "000001_0")) || !strings.Contains(err.Error(), ce.Want+" recorded, "+ce.Got+" found") {
		t.Fatalf("the error does not name the file and both checksums: %v", err)
	}
	after := files(t, e.outDir("2024121207"))
	manifestAfter, _ := os.ReadFile(filepath.Join(e.outDir("2024121207"), workdir.ManifestFile))
	if !bytes.Equal(manifestBefore, manifestAfter) || len(after) != len(before) {
		t.Fatal("a failed pack changed the published period")
	}
	for n, b := range before {
		if !bytes.Equal(after[n], b) {
			t.Fatalf("%s changed", n)
		}
	}
	// A period never packed stays absent.
	if _, err := e.pack("2024121206"); exit.Code(err) != exit.Failure {
		t.Fatalf("hour 06: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.work, "out", "X"))
	for _, en := range ents {
		if en.Name() == "2024121206" || strings.Contains(en.Name(), ".tmp-") || strings.Contains(en.Name(), ".old-") {
			t.Errorf("left in out/X: %s", en.Name())
		}
	}
	// The source is read only with --source origin, never silently.
	m, err := e.pack("2024121207", func(o *Options) { o.Input = pull.Origin })
	if err != nil || m.Rows.Written != 3 {
		t.Fatalf("origin over a damaged copy: %v", err)
	}
}

// --source pulled: an hour not pulled is not ready (exit 4), with the
// source right there.
func TestPackPulledOnlyIsNotReadyForAnHourNotPulled(t *testing.T) {
	e := hourlyEnv(t, "", "06", "07")
	e.pullHours("06")
	_, err := e.pack("2024121207", func(o *Options) { o.Input = pull.Pulled })
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "not pulled") {
		t.Fatalf("exit %d: %v", exit.Code(err), err)
	}
	if _, err := os.Stat(e.outDir("2024121207")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("published")
	}
	// auto reads it from the source.
	e.mustPack("2024121207")
	if in := inputOf(t, e.outDir("2024121207")); in.Input != pull.InputSource {
		t.Fatalf("input %+v", in)
	}
}

// A day read partly from pulled copies: the pulled hours come from them,
// the others from the source, the files are those of the source alone,
// and the status line and manifest say input=mixed with the pulled hours.
func TestPackMixedDay(t *testing.T) {
	var hours []string
	for h := range 24 {
		hours = append(hours, fmt.Sprintf("%02d", h))
	}
	e := hourlyEnv(t, "", hours...)
	e.mustPack("20241212", func(o *Options) { o.Input = pull.Origin; o.Now = packNow })
	want := files(t, e.outDir("20241212"))
	e.pullHours("00", "01")
	// The pulled hours are gone from the source: only their copies hold them.
	for _, h := range []string{"00", "01"} {
		os.RemoveAll(filepath.Join(e.root, "ods", "dt=20241212", "hour="+h))
	}
	var out bytes.Buffer
	err := RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(out.String()), " input=mixed") {
		t.Fatalf("status line %q", out.String())
	}
	in := inputOf(t, e.outDir("20241212"))
	if in.Input != pull.InputMixed || !slices.Equal(in.Pulled, []string{"ods/dt=20241212/hour=00", "ods/dt=20241212/hour=01"}) {
		t.Fatalf("manifest input %+v", in)
	}
	got := files(t, e.outDir("20241212"))
	for n, b := range want {
		if strings.HasSuffix(n, ".verf") {
			continue // ctime
		}
		if !bytes.Equal(got[n], b) {
			t.Fatalf("%s differs", n)
		}
	}
}

// hourly_pack: each hour chunk reads its hour's pulled copy (the chunk
// lives in the nested chunks workdir, the copy stays under raw/), and
// the assembled day merges the hours' inputs.
func TestPackHourlyChunksReadPulledCopies(t *testing.T) {
	var hours []string
	for h := range 24 {
		hours = append(hours, fmt.Sprintf("%02d", h))
	}
	e := hourlyEnv(t, "hourly_pack: true", hours...)
	e.pullHours("00", "01")
	for _, h := range []string{"00", "01"} {
		os.RemoveAll(filepath.Join(e.root, "ods", "dt=20241212", "hour="+h))
	}
	var out bytes.Buffer
	o := AllOptions{Config: e.cfg, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out, Workers: 2}
	o.Periods = []naming.Period{naming.MustPeriod("2024121200"), naming.MustPeriod("2024121202")}
	if err := RunAll(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " input=pulled") || !strings.HasSuffix(lines[1], " input=source") {
		t.Fatalf("status lines:\n%s", out.String())
	}
	chunks := workdir.New(e.work).Chunks()
	if in := inputOf(t, chunks.Out("X", "2024121200")); in.Input != pull.InputPulled {
		t.Fatalf("chunk 00 input %+v", in)
	}
	out.Reset()
	o.Periods = []naming.Period{naming.MustPeriod("20241212")}
	if err := RunAll(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(out.String()), " input=mixed") {
		t.Fatalf("day status line %q", out.String())
	}
	var day struct {
		pull.InputOf
		Rows struct{ Written int64 }
	}
	data, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.ManifestFile))
	if err := json.Unmarshal(data, &day); err != nil {
		t.Fatal(err)
	}
	if day.Input != pull.InputMixed || !slices.Equal(day.Pulled, []string{"ods/dt=20241212/hour=00", "ods/dt=20241212/hour=01"}) || day.Rows.Written != 72 {
		t.Fatalf("day manifest: %+v", day)
	}
}

// A byte changed inside a gzip pulled copy breaks its decompression
// before its end: the error is still the copy's mismatch, naming the
// file and both checksums, not a corrupt-gzip message.
func TestPackDamagedGzipPulledCopyIsNamed(t *testing.T) {
	e := newEnv(t, "path: ods/dt={date}/hour={hour}\nfields: 2")
	var rows []string
	for i := range 2000 {
		rows = append(rows, row(fmt.Sprintf("id%05d", i), strings.Repeat("v", i%50)))
	}
	e.writeInput("ods/dt=20241212/hour=07/000000_0.gz", rows...)
	e.pullHours("07")
	file := e.stagedFile("07", "000000_0.gz")
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 0xff
	os.WriteFile(file, b, 0o600)
	_, err := e.pack("2024121207")
	var ce *pull.CopyError
	if !errors.As(err, &ce) || ce.File != file || ce.What != "crc32c" || exit.Code(err) != exit.Failure || strings.Contains(err.Error(), "gzip") {
		t.Fatalf("exit %d: %v", exit.Code(err), err)
	}
	if _, err := os.Stat(e.outDir("2024121207")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("published")
	}
}
