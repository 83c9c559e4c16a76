package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/workdir"
)

// pulledEnv is a config over the HDFS test server: interface 51007 packs
// text partitions ads/dt={date}/hour={hour}; 51006 and 51010 are from:
// transform over the ODS table events (ods/events/dt={date}/hour={hour}).
// Every hour of 20241212 is in HDFS with its marker.
type pulledEnv struct {
	t       *testing.T
	dir     string
	cfg     string
	work    string
	cluster *hdfstest.Cluster
}

func newPulledEnv(t *testing.T) *pulledEnv {
	t.Helper()
	e := &pulledEnv{t: t, dir: t.TempDir()}
	hdfsDir := filepath.Join(e.dir, "hdfs")
	for h := range 24 {
		ads := filepath.Join(hdfsDir, "wh", "ads", "dt=20241212", fmt.Sprintf("hour=%02d", h))
		ods := filepath.Join(hdfsDir, "wh", "ods", "events", "dt=20241212", fmt.Sprintf("hour=%02d", h))
		for _, d := range []string{ads, ods} {
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "_SUCCESS"), nil, 0o644)
		}
		for f := range 2 {
			var a, o strings.Builder
			for i := range 3 {
				fmt.Fprintf(&a, "ev%02d%d%d\x01user%d\x01page/%d\n", h, f, i, i, h)
				fmt.Fprintf(&o, "e%02d%d%d\x01%s\n", h, f, i, []string{"app", "h5", "other"}[i])
			}
			os.WriteFile(filepath.Join(ads, fmt.Sprintf("%06d_0", f)), []byte(a.String()), 0o644)
			os.WriteFile(filepath.Join(ods, fmt.Sprintf("%06d_0", f)), []byte(o.String()), 0o644)
		}
	}
	c, err := hdfstest.Start(hdfstest.Options{Root: hdfsDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.cluster = c
	e.work = filepath.Join(e.dir, "work")
	e.cfg = filepath.Join(e.dir, "chama.yaml")
	srv, _ := startExchange(t, e.dir, "national")
	os.WriteFile(e.cfg, []byte(fmt.Sprintf(`workdir: work
targets:
  plat:
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: %q}
    known_hosts: %q
sources:
  hdfs1:
    type: hdfs
    namenodes: [%q]
    user: chama
    root: /wh
    retries: 0
    connect_timeout: 2s
interfaces:
  "51007":
    source: hdfs1
    path: ads/dt={date}/hour={hour}
    fields: 3
    lines_per_file: 4
  "51006": {from: transform, granularity: hour, lines_per_file: 2, routes: [{target: plat, dir: /national}],
    file_name: "a_10000_{period}_{iface}_{resend:02}_{seq}.dat.gz", verf_name: "a_10000_{period}_{iface}_{resend:02}.verf"}
  "51010": {from: transform, granularity: hour, routes: [{target: plat, dir: /national}],
    file_name: "a_10000_{period}_{iface}_{resend:02}_{seq}.dat.gz", verf_name: "a_10000_{period}_{iface}_{resend:02}.verf"}
transform:
  workers: 2
  batch_rows: 2
  ods:
    events:
      source: hdfs1
      path: ods/events/dt={date}/hour={hour}
      columns: {event_id: string, ds: string}
  dwd:
    events: {from: events}
  ads:
    "51006": {from: events, filter: 'ds in ["app"]', columns: {event_id: event_id}}
    "51010": {from: events, filter: 'ds in ["h5"]', columns: {event_id: event_id, ds: ds}}
`, srv.Port(), filepath.Join(e.dir, "id"), filepath.Join(e.dir, "known_hosts"), c.Addrs()[0])), 0o644)
	return e
}

// chama runs the CLI with the env's config.
func (e *pulledEnv) chama(args ...string) (string, int) {
	e.t.Helper()
	out, code, _ := packCLI(e.t, append([]string{"--config", e.cfg}, args...)...)
	return out, code
}

func (e *pulledEnv) mustChama(args ...string) string {
	e.t.Helper()
	out, code, err := packCLI(e.t, append([]string{"--config", e.cfg}, args...)...)
	if code != 0 {
		e.t.Fatalf("chama %s: exit %d: %v\n%s", strings.Join(args, " "), code, err, out)
	}
	return out
}

// output maps each file of a period folder (but manifest.json) to its
// bytes, with a .verf's ctime column blanked: the files of two packs of
// the same input must be equal byte for byte.
func (e *pulledEnv) output(iface, period string) map[string]string {
	e.t.Helper()
	dir := workdir.New(e.work).Out(iface, period)
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == workdir.ManifestFile || strings.HasPrefix(d.Name(), "delivery-") {
			return err
		}
		b, err := os.ReadFile(p)
		s := string(b)
		if strings.HasSuffix(p, ".verf") {
			s = regexp.MustCompile(`\|\d{14}\|`).ReplaceAllString(s, "|CTIME|")
		}
		got[strings.TrimPrefix(p, dir)] = s
		return err
	})
	if err != nil || len(got) == 0 {
		e.t.Fatalf("output of %s %s: %d files, %v", iface, period, len(got), err)
	}
	return got
}

func (e *pulledEnv) sameOutput(iface, period string, want map[string]string) {
	e.t.Helper()
	got := e.output(iface, period)
	if len(got) != len(want) {
		e.t.Fatalf("%s %s: %d files, want %d", iface, period, len(got), len(want))
	}
	for n, b := range want {
		if got[n] != b {
			e.t.Fatalf("%s %s: %s differs from packing the source", iface, period, n)
		}
	}
}

// manifestInput is where a published period's manifest says its input
// came from.
func (e *pulledEnv) manifestInput(iface, period string) (string, []string) {
	e.t.Helper()
	var m struct {
		Input  string   `json:"input"`
		Pulled []string `json:"pulled_partitions"`
	}
	data, err := os.ReadFile(filepath.Join(workdir.New(e.work).Out(iface, period), workdir.ManifestFile))
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Input, m.Pulled
}

// pack after pull with the HDFS server gone reads the pulled copy and
// gives the very files packing from HDFS gave; --source origin then
// fails, --source pulled works.
func TestPackAfterPullWithTheSourceGone(t *testing.T) {
	e := newPulledEnv(t)
	e.mustChama("pack", "--date", "2024121206", "--iface", "51007", "--source", "origin")
	want := e.output("51007", "2024121206")
	if in, _ := e.manifestInput("51007", "2024121206"); in != "source" {
		t.Fatalf("manifest input %q", in)
	}
	e.mustChama("pull", "--date", "20241212", "--hours", "06-07", "--iface", "51007")
	e.cluster.Close()

	out := e.mustChama("pack", "--date", "2024121206", "--iface", "51007")
	if !regexp.MustCompile(`(?m)^CHAMA_PACK OK iface=51007 period=2024121206 .* input=pulled$`).MatchString(out) {
		t.Fatalf("status line:\n%s", out)
	}
	e.sameOutput("51007", "2024121206", want)
	if in, pulled := e.manifestInput("51007", "2024121206"); in != "pulled" || len(pulled) != 1 || pulled[0] != "ads/dt=20241212/hour=06" {
		t.Fatalf("manifest input %q %v", in, pulled)
	}

	out, code := e.chama("pack", "--date", "2024121207", "--iface", "51007", "--source", "origin")
	if code == 0 || !strings.Contains(out, "CHAMA_PACK FAIL iface=51007 period=2024121207") {
		t.Fatalf("--source origin with the source gone: exit %d\n%s", code, out)
	}
	if code != exit.Partial {
		t.Errorf("--source origin with the source gone: exit %d, want 3 (the cluster may come back)\n%s", code, out)
	}
	out = e.mustChama("pack", "--date", "2024121207", "--iface", "51007", "--source", "pulled")
	if !strings.Contains(out, " input=pulled") {
		t.Fatalf("status line:\n%s", out)
	}
}

// A pulled copy with one byte changed is refused (exit 1) naming the
// file, even with the source up (it is never silently read instead), and
// nothing is published.
func TestPackRefusesADamagedPulledCopy(t *testing.T) {
	e := newPulledEnv(t)
	e.mustChama("pull", "--date", "2024121207", "--iface", "51007")
	file := filepath.Join(e.work, "raw", "51007", "20241212", "ads", "dt=20241212", "hour=07", "000000_0")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[5] ^= 0x01 // same size, same line count: only the checksum tells
	os.WriteFile(file, b, 0o600)

	out, code := e.chama("pack", "--date", "2024121207", "--iface", "51007")
	if code != exit.Failure || !strings.Contains(out, "CHAMA_PACK FAIL iface=51007 period=2024121207") ||
		!strings.Contains(out, file) || !regexp.MustCompile(`crc32c [0-9a-f]{8} recorded, [0-9a-f]{8} found`).MatchString(out) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, err := os.Stat(workdir.New(e.work).Out("51007", "2024121207")); !os.IsNotExist(err) {
		t.Fatalf("something was published: %v", err)
	}
	// Reading the source is an explicit choice.
	e.mustChama("pack", "--date", "2024121207", "--iface", "51007", "--source", "origin")
}

// --source pulled with an hour that was not pulled is "not ready" (exit
// 4), the source being up.
func TestPackPulledOnlyNotPulledIsNotReady(t *testing.T) {
	e := newPulledEnv(t)
	e.mustChama("pull", "--date", "2024121206", "--iface", "51007")
	out, code := e.chama("pack", "--date", "2024121207", "--iface", "51007", "--source", "pulled")
	if code != exit.NotReady || !strings.Contains(out, "CHAMA_PACK NOTREADY iface=51007 period=2024121207") || !strings.Contains(out, "not pulled") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, code := e.chama("pack", "--date", "2024121207", "--iface", "51007", "--source", "bogus"); code != exit.Usage {
		t.Fatalf("--source bogus: exit %d", code)
	}
}

// A day pulled for some hours only: those hours are read from their
// pulled copies (no block of theirs is read from HDFS), the others from
// HDFS, and the files are those of packing HDFS alone.
func TestPackDayPulledForSomeHours(t *testing.T) {
	e := newPulledEnv(t)
	e.mustChama("pack", "--date", "20241212", "--iface", "51007", "--source", "origin")
	want := e.output("51007", "20241212")
	e.mustChama("pull", "--date", "20241212", "--hours", "00-05", "--iface", "51007")

	var mu sync.Mutex
	read := map[string]bool{}
	e.cluster.SetReadHook(func(path string, block int) {
		mu.Lock()
		read[path] = true
		mu.Unlock()
	})
	out := e.mustChama("pack", "--date", "20241212", "--iface", "51007")
	e.cluster.SetReadHook(nil)
	if !regexp.MustCompile(`(?m)^CHAMA_PACK OK iface=51007 period=20241212 .* input=mixed$`).MatchString(out) {
		t.Fatalf("status line:\n%s", out)
	}
	e.sameOutput("51007", "20241212", want)
	for h := range 24 {
		p := fmt.Sprintf("/wh/ads/dt=20241212/hour=%02d/000000_0", h)
		if read[p] != (h > 5) {
			t.Errorf("hour %02d read from HDFS: %t", h, read[p])
		}
	}
	in, pulled := e.manifestInput("51007", "20241212")
	if in != "mixed" || len(pulled) != 6 || pulled[0] != "ads/dt=20241212/hour=00" || pulled[5] != "ads/dt=20241212/hour=05" {
		t.Fatalf("manifest input %q %v", in, pulled)
	}
}

// from: transform interfaces: chama pull stages their ODS table once
// (raw/ods.events), and chama run and chama transform read it with the
// HDFS server gone, giving the files the source gave.
func TestTransformReadsPulledCopies(t *testing.T) {
	e := newPulledEnv(t)
	e.mustChama("run", "--date", "2024121207", "--iface", "51006,51010", "--source", "origin")
	want6, want10 := e.output("51006", "2024121207"), e.output("51010", "2024121207")

	out := e.mustChama("pull", "--date", "2024121207", "--iface", "51006,51010")
	if !strings.Contains(out, "CHAMA_PULL OK iface=51006 period=2024121207 path=ods/events/dt=20241212/hour=07 table=events source=hdfs1 files=2 ") ||
		!strings.Contains(out, "CHAMA_PULL OK iface=51010 period=2024121207 path=ods/events/dt=20241212/hour=07 table=events source=hdfs1 files=0 skipped=2 ") {
		t.Fatalf("pull:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(e.work, "raw", "ods.events", "20241212", "ods", "events", "dt=20241212", "hour=07", "000001_0")); err != nil {
		t.Fatal(err)
	}
	e.cluster.Close()

	out = e.mustChama("run", "--date", "2024121207", "--iface", "51006,51010")
	for _, iface := range []string{"51006", "51010"} {
		if !regexp.MustCompile(`(?m)^CHAMA_PACK OK iface=` + iface + ` period=2024121207 .* input=pulled$`).MatchString(out) {
			t.Fatalf("status line of %s:\n%s", iface, out)
		}
	}
	e.sameOutput("51006", "2024121207", want6)
	e.sameOutput("51010", "2024121207", want10)

	out = e.mustChama("transform", "--date", "2024121207", "--layer", "ads", "--source", "pulled")
	if !regexp.MustCompile(`(?m)^CHAMA_TRANSFORM OK layer=ads period=2024121207 read=6 .* input=pulled$`).MatchString(out) {
		t.Fatalf("transform:\n%s", out)
	}
	var sum struct {
		Input  string   `json:"input"`
		Pulled []string `json:"pulled_partitions"`
	}
	data, err := os.ReadFile(filepath.Join(e.work, "stage", "ads", "2024121207.summary.json"))
	if err == nil {
		err = json.Unmarshal(data, &sum)
	}
	if err != nil || sum.Input != "pulled" || len(sum.Pulled) != 1 {
		t.Fatalf("summary input %+v, %v", sum, err)
	}
	if out, code := e.chama("transform", "--date", "2024121207", "--layer", "ads", "--source", "origin"); code == 0 {
		t.Fatalf("transform --source origin with the source gone:\n%s", out)
	}
	// An hour not pulled is not ready with --source pulled.
	if out, code := e.chama("transform", "--date", "2024121208", "--layer", "ads", "--source", "pulled"); code != exit.NotReady || !strings.Contains(out, "CHAMA_TRANSFORM NOTREADY") {
		t.Fatalf("hour 08 with --source pulled: exit %d\n%s", code, out)
	}
}

// --help of pack, transform and run teaches --source.
func TestSourceFlagHelp(t *testing.T) {
	for _, cmd := range []string{"pack", "transform", "run"} {
		out, code, _ := packCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(out, "--source") || !strings.Contains(out, "pulled  pulled copies only") || !strings.Contains(out, "input=mixed") {
			t.Errorf("chama %s --help (exit %d):\n%s", cmd, code, out)
		}
	}
}
