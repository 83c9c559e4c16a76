package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
)

// env is an HDFS test cluster with a warehouse folder and a config
// pointing an interface at it.
type env struct {
	t       *testing.T
	cluster *hdfstest.Cluster
	hdfsDir string // backing folder of the cluster
	work    string
	relay   string // a local mount used as fallback
	cfg     *config.Config
	out     bytes.Buffer
}

const partPathFmt = "warehouse/ods/events/dt=%s/hour=%s"

func newEnv(t *testing.T, o hdfstest.Options, extra string) *env {
	t.Helper()
	e := &env{t: t, hdfsDir: t.TempDir(), work: t.TempDir(), relay: t.TempDir()}
	o.Root = e.hdfsDir
	if o.BlockSize == 0 {
		o.BlockSize = 64 << 10
	}
	c, err := hdfstest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.cluster = c
	e.cfg = e.config(c.Addrs(), extra)
	return e
}

func (e *env) config(namenodes []string, extra string) *config.Config {
	e.t.Helper()
	nn, _ := json.Marshal(namenodes)
	y := fmt.Sprintf(`workdir: %s
sources:
  hdfs1:
    type: hdfs
    namenodes: %s
    user: chama
    root: /warehouse
    concurrency: 4
    retries: 2
    retry_backoff: 1ms
    timeout: 5s
%s
  relay:
    type: file
    root: %s
    ready: marker
interfaces:
  "51007":
    source: hdfs1
    path: ods/events/dt={date}/hour={hour}
`, e.work, nn, extra, e.relay)
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		e.t.Fatalf("config: %v\n%s", err, y)
	}
	return cfg
}

// write puts a file into the HDFS folder (and the relay, same bytes).
func (e *env) write(date, hour, name string, n int, seed uint64) []byte {
	e.t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	for _, root := range []string{e.hdfsDir, e.relay} {
		rel := fmt.Sprintf(partPathFmt, date, hour)
		if root == e.relay {
			rel = strings.TrimPrefix(rel, "warehouse/")
		}
		p := filepath.Join(root, filepath.FromSlash(rel), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return b
}

func (e *env) hours(date string, hours ...string) []naming.Period {
	var ps []naming.Period
	for _, h := range hours {
		ps = append(ps, naming.MustPeriod(date+h))
	}
	return ps
}

func (e *env) run(ctx context.Context, ps []naming.Period, mod func(*Options)) (*Result, error) {
	e.out.Reset()
	o := Options{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["51007"]}, Out: &e.out}
	if mod != nil {
		mod(&o)
	}
	return Run(ctx, o)
}

// staged reads a staged file of an hour (staged in its day's folder).
func (e *env) staged(date, hour, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(e.work, "raw", "51007", date, "ods", "events", "dt="+date, "hour="+hour, name))
}

// dataset writes three hours of four files each (one multi-block, one
// empty, one in a subfolder) with markers, and returns their bytes.
func (e *env) dataset() map[string][]byte {
	want := map[string][]byte{}
	for i, h := range []string{"00", "01", "02"} {
		s := uint64(i * 10)
		want[h+"/000000_0"] = e.write("20241212", h, "000000_0", 200_000+i, s+1) // 4 blocks
		want[h+"/000001_0"] = e.write("20241212", h, "000001_0", 1_000, s+2)
		want[h+"/000002_0"] = e.write("20241212", h, "000002_0", 0, s+3)
		want[h+"/part/000003_0"] = e.write("20241212", h, "part/000003_0", 70_000, s+4)
		e.write("20241212", h, "_SUCCESS", 0, 0)
	}
	return want
}

func (e *env) checkStaged(want map[string][]byte) {
	e.t.Helper()
	for k, b := range want {
		hour, name, _ := strings.Cut(k, "/")
		got, err := e.staged("20241212", hour, name)
		if err != nil {
			e.t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			e.t.Fatalf("staged %s: %d bytes differing from the %d in HDFS", k, len(got), len(b))
		}
	}
	filepath.WalkDir(filepath.Join(e.work, "raw"), func(p string, d os.DirEntry, err error) error {
		if strings.HasSuffix(p, ".chama-part") || strings.Contains(filepath.Base(p), ".chama-tmp-") {
			e.t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// concurrentOpens wraps a source so each Open waits until another Open is
// in flight too: a pull that copies one file at a time fails (times out).
type concurrentOpens struct {
	source.Source
	mu      sync.Mutex
	open    int
	peak    int
	release chan struct{}
	once    sync.Once
}

func (c *concurrentOpens) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	c.mu.Lock()
	c.open++
	if c.open > c.peak {
		c.peak = c.open
	}
	if c.open == 2 {
		c.once.Do(func() { close(c.release) })
	}
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.open--; c.mu.Unlock() }()
	select {
	case <-c.release:
	case <-time.After(20 * time.Second):
		return nil, errors.New("no second file was opened while this one waited: copies are serialized")
	}
	return c.Source.Open(ctx, p)
}

func (c *concurrentOpens) Close() error { return source.Close(c.Source) }

func TestPullParallelMultiHourPartition(t *testing.T) {
	e := newEnv(t, hdfstest.Options{Namenodes: 2, Datanodes: 2}, "")
	want := e.dataset()
	var wrapped *concurrentOpens
	res, err := e.run(context.Background(), e.hours("20241212", "00", "01", "02"), func(o *Options) {
		o.OpenSource = func(c *config.Config, name string) (source.Source, error) {
			s, err := source.Open(c, name)
			if err != nil {
				return nil, err
			}
			wrapped = &concurrentOpens{Source: s, release: make(chan struct{})}
			return struct {
				*concurrentOpens
				source.Verifier
			}{wrapped, s.(source.Verifier)}, nil
		}
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	if res.Files != 12 || res.Skipped != 0 || len(res.Partitions) != 3 {
		t.Fatalf("result: files %d skipped %d partitions %d", res.Files, res.Skipped, len(res.Partitions))
	}
	var total int64
	for _, b := range want {
		total += int64(len(b))
	}
	if res.Bytes != total {
		t.Fatalf("bytes %d, want %d", res.Bytes, total)
	}
	e.checkStaged(want)
	if wrapped.peak < 2 {
		t.Fatalf("peak concurrent opens %d", wrapped.peak)
	}
	for _, h := range []string{"00", "01", "02"} {
		line := fmt.Sprintf("CHAMA_PULL OK iface=51007 period=20241212%s path=ods/events/dt=20241212/hour=%s source=hdfs1 files=4 skipped=0", h, h)
		if !strings.Contains(e.out.String(), line) {
			t.Errorf("no line %q in\n%s", line, e.out.String())
		}
		if _, err := e.staged("20241212", h, "_SUCCESS"); err != nil {
			t.Errorf("staged partition %s has no marker: %v", h, err)
		}
	}
	for _, p := range res.Partitions {
		for _, f := range p.Files {
			if len(f.Checksum) != 32 {
				t.Errorf("%s: no HDFS checksum recorded (%q)", f.Path, f.Checksum)
			}
		}
	}
	rec, err := ReadRecord(e.cfg, "51007", "2024121201")
	if err != nil || len(rec) != 3 || rec[1].Path != "ods/events/dt=20241212/hour=01" || rec[1].Source != "hdfs1" || rec[1].Fallback {
		t.Fatalf("pull record: %+v %v", rec, err)
	}
	// The staged copy serves the same paths as the source.
	fis, err := Staged(e.cfg, "51007", "2024121201").List(context.Background(), "ods/events/dt=20241212/hour=01")
	if err != nil || len(fis) != 4 {
		t.Fatalf("staged source lists %v, %v", fis, err)
	}
}

func TestPullDayExpandsToHours(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.write("20241212", "05", "f", 10, 1)
	e.write("20241212", "05", "_SUCCESS", 0, 1)
	res, err := e.run(context.Background(), []naming.Period{naming.MustPeriod("20241212")}, nil)
	if exit.Code(err) != exit.NotReady {
		t.Fatalf("a day with 23 empty hours: %v, want not ready", err)
	}
	if len(res.Partitions) != 24 || res.Partitions[5].Status != StatusOK || res.Partitions[4].Status != StatusNotReady {
		t.Fatalf("partitions: %d; hour 05 %s, hour 04 %s", len(res.Partitions), res.Partitions[5].Status, res.Partitions[4].Status)
	}
	if st, err := os.Stat(filepath.Join(e.work, "raw", "51007", "20241212", "ods", "events", "dt=20241212", "hour=05", "f")); err != nil {
		t.Fatal(err)
	} else if st.Mode().Perm() != 0o600 {
		t.Errorf("pulled copy mode %04o, want 0600: it holds raw personal data", st.Mode().Perm())
	}
	if !strings.Contains(e.out.String(), "CHAMA_PULL NOTREADY iface=51007 period=2024121204 path=ods/events/dt=20241212/hour=04 source=hdfs1") {
		t.Fatalf("status lines:\n%s", e.out.String())
	}
}

func TestPullRerunSkipsVerifiedFiles(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := e.dataset()
	ps := e.hours("20241212", "00", "01", "02")
	if _, err := e.run(context.Background(), ps, nil); err != nil {
		t.Fatal(err)
	}
	reads := e.cluster.Datanodes[0].Reads()
	res, err := e.run(context.Background(), ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 0 || res.Skipped != 12 {
		t.Fatalf("re-run copied %d, skipped %d; want 0 and 12", res.Files, res.Skipped)
	}
	if got := e.cluster.Datanodes[0].Reads(); got != reads {
		t.Fatalf("re-run read %d blocks again", got-reads)
	}
	if !strings.Contains(e.out.String(), "files=0 skipped=4") {
		t.Fatalf("status lines:\n%s", e.out.String())
	}
	// A file replaced in HDFS is pulled again; a staged file damaged
	// locally (size differs) too; the rest is skipped.
	want["01/000001_0"] = e.write("20241212", "01", "000001_0", 1_500, 99)
	dmg := filepath.Join(e.work, "raw", "51007", "20241212", "ods", "events", "dt=20241212", "hour=02", "000001_0")
	if err := os.WriteFile(dmg, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = e.run(context.Background(), ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || res.Skipped != 10 {
		t.Fatalf("after a change: copied %d, skipped %d; want 2 and 10", res.Files, res.Skipped)
	}
	e.checkStaged(want)
}

func TestPullNotReadyWithoutMarker(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.write("20241212", "07", "000000_0", 100, 1) // no _SUCCESS: still being written
	res, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if exit.Code(err) != exit.NotReady {
		t.Fatalf("exit code %d (%v), want 4", exit.Code(err), err)
	}
	line := `CHAMA_PULL NOTREADY iface=51007 period=2024121207 path=ods/events/dt=20241212/hour=07 source=hdfs1 reason="no _SUCCESS marker"`
	if strings.TrimSpace(e.out.String()) != line {
		t.Fatalf("status line\n%s\nwant\n%s", e.out.String(), line)
	}
	if res.Partitions[0].Status != StatusNotReady {
		t.Fatalf("status %s", res.Partitions[0].Status)
	}
	if _, err := os.Stat(filepath.Join(e.work, "raw", "51007", "20241212", "ods")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was staged for a partition that is not ready: %v", err)
	}
}

// markerLater is a source whose marker appears after the first check.
type markerLater struct {
	source.Source
	checks atomic.Int32
	create func()
}

func (m *markerLater) Exists(ctx context.Context, p string) (bool, error) {
	ok, err := m.Source.Exists(ctx, p)
	if m.checks.Add(1) == 1 {
		m.create()
	}
	return ok, err
}

func TestPullWaitPollsUntilReady(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := map[string][]byte{"07/000000_0": e.write("20241212", "07", "000000_0", 100, 1)}
	var ml *markerLater
	res, err := e.run(context.Background(), e.hours("20241212", "07"), func(o *Options) {
		o.Wait, o.Poll = time.Minute, 5*time.Millisecond
		o.OpenSource = func(c *config.Config, name string) (source.Source, error) {
			s, err := source.Open(c, name)
			ml = &markerLater{Source: s, create: func() { e.write("20241212", "07", "_SUCCESS", 0, 0) }}
			return ml, err
		}
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	if ml.checks.Load() < 2 || res.Files != 1 {
		t.Fatalf("checks %d, files %d", ml.checks.Load(), res.Files)
	}
	e.checkStaged(want)
}

func TestPullQuietPeriod(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "    ready: quiet\n    quiet_period: 10m")
	e.write("20241212", "07", "000000_0", 100, 1)
	now := time.Now()
	_, err := e.run(context.Background(), e.hours("20241212", "07"), func(o *Options) { o.Now = func() time.Time { return now } })
	if exit.Code(err) != exit.NotReady || !strings.Contains(e.out.String(), "quiet_period is 10m0s") {
		t.Fatalf("fresh files: %v\n%s", err, e.out.String())
	}
	later := now.Add(11 * time.Minute)
	res, err := e.run(context.Background(), e.hours("20241212", "07"), func(o *Options) { o.Now = func() time.Time { return later } })
	if err != nil || res.Files != 1 {
		t.Fatalf("after the quiet period: %v, %d files", err, res.Files)
	}
	// The staged copy keeps the source's mtime.
	st, _ := os.Stat(filepath.Join(e.work, "raw", "51007", "20241212", "ods", "events", "dt=20241212", "hour=07", "000000_0"))
	src, _ := os.Stat(filepath.Join(e.hdfsDir, "warehouse", "ods", "events", "dt=20241212", "hour=07", "000000_0"))
	if st.ModTime().UnixMilli() != src.ModTime().UnixMilli() {
		t.Fatalf("staged mtime %v, source %v", st.ModTime(), src.ModTime())
	}
}

func TestPullFollowsNamenodeFailover(t *testing.T) {
	e := newEnv(t, hdfstest.Options{Namenodes: 3}, "")
	want := e.dataset()
	e.cluster.Namenodes[0].Stop()
	e.cluster.Namenodes[1].SetStandby(true)
	if _, err := e.run(context.Background(), e.hours("20241212", "00", "01", "02"), nil); err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(want)
	if e.cluster.Namenodes[1].Calls("getServerDefaults") == 0 || e.cluster.Namenodes[2].Calls("getListing") == 0 {
		t.Fatal("the standby was not tried, or the active one not used")
	}
}

func TestPullDatanodeDiesMidBlock(t *testing.T) {
	e := newEnv(t, hdfstest.Options{Datanodes: 2, BlockSize: 128 << 10}, "")
	want := e.dataset()
	// Datanode 0 hangs up 10,000 bytes into every block it serves; each
	// block has a second replica on datanode 1.
	e.cluster.Datanodes[0].SetFault(hdfstest.Fault{CloseAfter: 10_000})
	if _, err := e.run(context.Background(), e.hours("20241212", "00", "01", "02"), nil); err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(want)
	if e.cluster.Datanodes[0].Reads() == 0 {
		t.Fatal("the failing datanode was never used")
	}
}

func TestPullChecksumMismatchDetected(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.write("20241212", "07", "000000_0", 100_000, 1)
	e.write("20241212", "07", "_SUCCESS", 0, 0)
	e.cluster.Datanodes[0].SetFault(hdfstest.Fault{BadChecksum: true})
	res, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit code %d (%v), want 1", exit.Code(err), err)
	}
	var me *MismatchError
	if !errors.As(res.Partitions[0].err, &me) || me.Path != "ods/events/dt=20241212/hour=07/000000_0" || me.What != "checksum" {
		t.Fatalf("error %v, want a checksum mismatch naming the file", res.Partitions[0].err)
	}
	if !strings.Contains(e.out.String(), "CHAMA_PULL FAIL iface=51007 period=2024121207") || !strings.Contains(e.out.String(), "checksum mismatch") {
		t.Fatalf("status:\n%s", e.out.String())
	}
	if _, err := e.staged("20241212", "07", "000000_0"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a copy that failed verification was given its final name: %v", err)
	}
}

func TestPullFileChangingDuringPull(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.write("20241212", "07", "000000_0", 100_000, 1)
	e.write("20241212", "07", "_SUCCESS", 0, 0)
	var once sync.Once
	var final []byte
	e.cluster.SetReadHook(func(path string, block int) {
		once.Do(func() { final = e.write("20241212", "07", "000000_0", 120_000, 2) })
	})
	res, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(map[string][]byte{"07/000000_0": final})
	if res.Bytes != 120_000 {
		t.Fatalf("bytes %d", res.Bytes)
	}
}

func TestPullFallbackWhenPrimaryDown(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "    fallback: relay")
	want := e.dataset()
	e.cluster.Close() // the whole cluster is unreachable
	res, err := e.run(context.Background(), e.hours("20241212", "00", "01", "02"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(want)
	for _, p := range res.Partitions {
		if p.Source != "relay" || !p.Fallback || p.PrimaryError == "" {
			t.Fatalf("partition %s: source %s fallback %v (%s)", p.Path, p.Source, p.Fallback, p.PrimaryError)
		}
	}
	if !strings.Contains(e.out.String(), "source=relay files=4 skipped=0 bytes=") || !strings.Contains(e.out.String(), "fallback=yes") {
		t.Fatalf("status lines:\n%s", e.out.String())
	}
	rec, err := ReadRecord(e.cfg, "51007", "2024121200")
	if err != nil || !rec[0].Fallback || rec[0].Source != "relay" {
		t.Fatalf("the pull record does not say the fallback was used: %+v %v", rec, err)
	}
}

func TestPullPrimaryDownWithoutFallbackIsPartial(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.dataset()
	e.cluster.Close()
	_, err := e.run(context.Background(), e.hours("20241212", "00"), nil)
	if exit.Code(err) != exit.Partial || !strings.Contains(e.out.String(), "CHAMA_PULL FAIL iface=51007 period=2024121200") {
		t.Fatalf("exit %d (%v)\n%s", exit.Code(err), err, e.out.String())
	}
}

func TestPullLargeFileInRanges(t *testing.T) {
	e := newEnv(t, hdfstest.Options{Datanodes: 2, BlockSize: 256 << 10}, "    split_above: 1048576")
	want := map[string][]byte{"07/big": e.write("20241212", "07", "big", 3<<20+12345, 1)}
	e.write("20241212", "07", "_SUCCESS", 0, 0)
	res, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(want)
	if len(res.Partitions[0].Files[0].Checksum) != 32 {
		t.Fatal("a ranged copy was not verified")
	}
	if r := splitRanges(3<<20+12345, 1<<20); len(r) != 4 || r[3] != [2]int64{3 << 20, 12345} {
		t.Fatalf("ranges %v", r)
	}
}

func TestPullExternalReadinessCheck(t *testing.T) {
	script := filepath.Join(t.TempDir(), "check")
	flag := filepath.Join(t.TempDir(), "ready")
	// Ready once the flag file exists; the environment names the partition.
	body := "#!/bin/sh\n[ \"$CHAMA_PERIOD\" = 2024121207 ] && [ \"$CHAMA_PATH\" = ods/events/dt=20241212/hour=07 ] || { echo bad env; exit 2; }\n[ -e " + flag + " ] || { echo writer still running; exit 1; }\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, hdfstest.Options{}, "    ready: command\n    ready_command: ["+script+"]")
	e.write("20241212", "07", "000000_0", 100, 1) // no marker: not needed with a command
	_, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if exit.Code(err) != exit.NotReady || !strings.Contains(e.out.String(), `reason="ready_command exited 1: writer still running"`) {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	os.WriteFile(flag, nil, 0o644)
	res, err := e.run(context.Background(), e.hours("20241212", "07"), nil)
	if err != nil || res.Files != 1 {
		t.Fatalf("%v, %d files\n%s", err, res.Files, e.out.String())
	}
}

func TestPullRemovesStagedFilesGoneFromSource(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := e.dataset()
	ps := e.hours("20241212", "01")
	if _, err := e.run(context.Background(), ps, nil); err != nil {
		t.Fatal(err)
	}
	// Upstream rewrote the hour without one file; someone also dropped a
	// file of their own into the staged folder.
	if err := os.Remove(filepath.Join(e.hdfsDir, "warehouse", "ods", "events", "dt=20241212", "hour=01", "part", "000003_0")); err != nil {
		t.Fatal(err)
	}
	stagedHour := filepath.Join(e.work, "raw", "51007", "20241212", "ods", "events", "dt=20241212", "hour=01")
	os.WriteFile(filepath.Join(stagedHour, "notes.txt"), []byte("x"), 0o644)
	res, err := e.run(context.Background(), ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Partitions[0]
	if len(p.Removed) != 1 || p.Removed[0] != "ods/events/dt=20241212/hour=01/part/000003_0" {
		t.Fatalf("removed %v", p.Removed)
	}
	if len(p.Foreign) != 1 || !strings.HasSuffix(p.Foreign[0], "notes.txt") {
		t.Fatalf("foreign %v", p.Foreign)
	}
	if _, err := os.Stat(filepath.Join(stagedHour, "part", "000003_0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the stale staged file is still there")
	}
	if _, err := os.Stat(filepath.Join(stagedHour, "notes.txt")); err != nil {
		t.Fatal("a file pull did not stage was deleted")
	}
	delete(want, "01/part/000003_0")
	for k := range want {
		if !strings.HasPrefix(k, "01/") {
			delete(want, k)
		}
	}
	e.checkStaged(want)
}

func TestPullRefusesAConcurrentPullOfThePartition(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	e.dataset()
	unlock, err := lockPartition(stageDir(e.cfg, "51007", "2024121201"), "ods/events/dt=20241212/hour=01")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.run(context.Background(), e.hours("20241212", "00", "01"), nil)
	if exit.Code(err) != exit.Partial || res.Partitions[0].Status != StatusOK || res.Partitions[1].Status != StatusFailed ||
		!strings.Contains(res.Partitions[1].Error, "another chama pull is staging this partition") {
		t.Fatalf("exit %d (%v): %s / %s %q", exit.Code(err), err, res.Partitions[0].Status, res.Partitions[1].Status, res.Partitions[1].Error)
	}
	unlock()
	if _, err := e.run(context.Background(), e.hours("20241212", "01"), nil); err != nil {
		t.Fatalf("after the other pull ended: %v", err)
	}
}

// Files checksummed with CRC32 (old writers, dfs.checksum.type CRC32) are
// verified too, not reported as mismatches.
func TestPullVerifiesCRC32Files(t *testing.T) {
	e := newEnv(t, hdfstest.Options{CRC32: true}, "")
	want := e.dataset()
	res, err := e.run(context.Background(), e.hours("20241212", "00"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	for k := range want {
		if !strings.HasPrefix(k, "00/") {
			delete(want, k)
		}
	}
	e.checkStaged(want)
	if res.Files != 4 || len(res.Partitions[0].Files[0].Checksum) != 32 {
		t.Fatalf("files %d", res.Files)
	}
}
