package push

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

// partialSet turns a packed day into what hourly packing leaves before
// the day is assembled: the data files and partial.json, no .verf, no
// manifest.json.
func partialSet(t *testing.T, work, iface, period string, n, size int) *manifest.Manifest {
	t.Helper()
	m := packSet(t, work, iface, period, 0, n, size)
	dir := workdir.New(work).Out(iface, period)
	if err := os.Rename(filepath.Join(dir, workdir.ManifestFile), filepath.Join(dir, workdir.PartialFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, m.Sets[0].Verf)); err != nil {
		t.Fatal(err)
	}
	return m
}

// An early partial push delivers the known files and no .verf; it is a
// PARTIAL delivery whose record is not complete. Once the day is
// assembled, the next push sends only the .verf, last.
func TestPushPartialSendsNoVerf(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := partialSet(t, e.work, "51007", "20241212", 3, 30_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")

	// Without --partial there is nothing to push yet.
	if _, err, _ := e.push(cfg); exit.Code(err) != exit.NotReady {
		t.Fatalf("push without --partial: %v, want not ready", err)
	}
	res, err, status := e.push(cfg, func(o *Options) { o.Partial = true })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "CHAMA_PUSH PARTIAL iface=51007 period=20241212 target=plat files=3 ") {
		t.Errorf("status %q", status)
	}
	if len(res.Jobs) != 1 || !res.Jobs[0].OK || !res.Jobs[0].Partial || res.Files != 3 {
		t.Errorf("result %+v", res.Jobs)
	}
	remote := filepath.Join(s.Root(), "in")
	for _, n := range publishOrder(s.Events()) {
		if strings.HasSuffix(n, ".verf") {
			t.Errorf("a partial push published the .verf %s", n)
		}
	}
	if _, err := os.Stat(filepath.Join(remote, m.Sets[0].Verf)); !os.IsNotExist(err) {
		t.Errorf(".verf on the target after a partial push: %v", err)
	}
	for _, f := range m.Sets[0].Files {
		if got := readFileMD5(t, filepath.Join(remote, f.Name)); got != f.MD5 {
			t.Errorf("%s on the target: md5 %q, want %s", f.Name, got, f.MD5)
		}
	}
	rec, _ := delivery.Read(local, "plat")
	if rec == nil || rec.Complete || len(rec.Files) != 3 {
		t.Fatalf("record after a partial push: %+v", rec)
	}

	// The day is assembled: manifest.json and the .verf appear.
	before := len(s.Events())
	packSet(t, e.work, "51007", "20241212", 0, 3, 30_000)
	os.Remove(filepath.Join(local, workdir.PartialFile))
	res, err, status = e.push(cfg, func(o *Options) { o.Partial = true })
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Skipped != 3 || res.Jobs[0].Partial || !strings.Contains(status, "CHAMA_PUSH OK ") {
		t.Errorf("after assembly: files=%d skipped=%d partial=%v status %q", res.Files, res.Skipped, res.Jobs[0].Partial, status)
	}
	if order := publishOrder(s.Events()[before:]); len(order) != 1 || order[0] != m.Sets[0].Verf {
		t.Errorf("published after assembly: %v, want only the .verf", order)
	}
	assertDelivered(t, remote, m, local)
	if rec, _ := delivery.Read(local, "plat"); rec == nil || !rec.Complete {
		t.Errorf("record not complete after the .verf: %+v", rec)
	}
}

// A set that changed since a target received it (a re-packed hour
// renumbered the files) is refused before anything is sent, naming the
// files and the way out; --force goes ahead.
func TestPushRefusesMixedSetBeforeSending(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	partialSet(t, e.work, "51007", "20241212", 3, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg, func(o *Options) { o.Partial = true }); err != nil {
		t.Fatal(err)
	}
	before := len(s.Events())
	// Re-packed: four files of other content under the same names.
	m2 := packSet(t, e.work, "51007", "20241212", 0, 4, 20_000)
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("push of a changed set: exit %d (%v), want 1", exit.Code(err), err)
	}
	for _, w := range []string{"changed since target plat received it", m2.Sets[0].Files[0].Name, m2.Sets[0].Files[2].Name, "refusing to push a mixed set", "--resend 01", "--force"} {
		if !strings.Contains(status, w) {
			t.Errorf("status does not mention %q: %s", w, status)
		}
	}
	if strings.Contains(status, m2.Sets[0].Files[3].Name) {
		t.Errorf("file 4 was never delivered, so it does not differ: %s", status)
	}
	if evs := s.Events()[before:]; len(evs) != 0 {
		t.Errorf("the refused push touched the target: %+v", evs)
	}
	if _, err, _ := e.push(cfg, func(o *Options) { o.Force = true }); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m2, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

// During the day (partial.json), the refusal's way out is --partial
// --force or a re-send of the assembled day.
func TestPushRefusesMixedPartialSet(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	partialSet(t, e.work, "51007", "20241212", 2, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg, func(o *Options) { o.Partial = true }); err != nil {
		t.Fatal(err)
	}
	partialSet(t, e.work, "51007", "20241212", 3, 20_000)
	_, err, status := e.push(cfg, func(o *Options) { o.Partial = true })
	if exit.Code(err) != exit.Failure || !strings.Contains(status, "chama push --date 20241212 --partial --force") || !strings.Contains(status, "wait for the assembled day") {
		t.Fatalf("exit %d, status %s", exit.Code(err), status)
	}
	if _, err, _ := e.push(cfg, func(o *Options) { o.Partial = true; o.Force = true }); err != nil {
		t.Fatal(err)
	}
	for _, n := range publishOrder(s.Events()) {
		if strings.HasSuffix(n, ".verf") {
			t.Errorf("a partial push published the .verf %s", n)
		}
	}
}
