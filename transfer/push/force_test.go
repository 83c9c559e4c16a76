package push

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/sshconn"
)

// TestPushForceRepairsAFileCorruptedAfterDelivery: verify --remote --deep
// finds a delivered file whose bytes changed on the platform (same
// size). A re-run trusts its delivery record and skips it; --force must
// not: it compares the remote content (read back, as this target has no
// remote md5sum) and re-sends only that file.
func TestPushForceRepairsAFileCorruptedAfterDelivery(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 3, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(s.Root(), "in", m.Sets[0].Files[1].Name)
	b, _ := os.ReadFile(remote)
	b[len(b)/2] ^= 0xff
	os.WriteFile(remote, b, 0o644)

	res, err, _ := e.push(cfg)
	if err != nil || res.Files != 0 {
		t.Fatalf("plain re-run: %v, %d files sent; it should trust its record", err, res.Files)
	}
	res, err, status := e.push(cfg, func(o *Options) { o.Force = true })
	if err != nil {
		t.Fatalf("%v\n%s", err, status)
	}
	if res.Files != 1 || res.Skipped != 3 {
		t.Errorf("--force sent %d files, skipped %d; want 1 (the damaged one) and 3", res.Files, res.Skipped)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

// TestDownSummaryNamesTheHostOnce: "h:22 failed: login as chama
// refused ...", not "h:22 failed: h:22: login as chama refused ...".
func TestDownSummaryNamesTheHostOnce(t *testing.T) {
	r := &targetRun{hosts: []*hostState{
		{addr: "h:22", dead: &sshconn.AuthError{Host: "h:22", User: "chama", Err: errors.New("no")}},
		{addr: "g:22", downUntil: time.Now().Add(time.Hour), lastErr: errors.New("connect g:22: refused")},
	}}
	want := "h:22 failed: login as chama refused: no (check the target's user and auth settings); g:22 down: connect g:22: refused"
	if got := r.downSummary(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
