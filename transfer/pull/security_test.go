package pull

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/retry"
)

// However many retries a config asks for, pull gives up after
// retry.MaxRetries; the pause doubles from the backoff to MaxRetryPause.
func TestRetryIsBounded(t *testing.T) {
	defer func(s func(context.Context, time.Duration) error) { sleep = s }(sleep)
	var pauses []time.Duration
	sleep = func(_ context.Context, d time.Duration) error { pauses = append(pauses, d); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := again(ctx, slog.New(slog.DiscardHandler), 1<<40, 2*time.Second, "x", func() error {
		calls++
		if calls > 10*retry.MaxRetries {
			cancel()
		}
		return errors.New("down")
	})
	if err == nil || calls != retry.MaxRetries+1 {
		t.Fatalf("%d calls (%v), want %d", calls, err, retry.MaxRetries+1)
	}
	if pauses[0] != 2*time.Second || pauses[3] != 16*time.Second || pauses[40] != MaxRetryPause {
		t.Fatalf("pauses %v: want 2s doubling to at most %s", pauses[:6], MaxRetryPause)
	}
}

// ready_command gets a minimal environment, not chama's secrets.
func TestReadyCommandEnvironment(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "check")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv > '"+out+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHAMA_TEST_SFTP_PW", "Hunter2Secret!")
	t.Setenv("PGPASSWORD", "Hunter2Pg")
	t.Setenv("CHAMA_LEDGER_DSN", "postgres://chama:Hunter2@db/ledger")
	t.Setenv("SSH_AUTH_SOCK", "/tmp/agent.Hunter2")
	t.Setenv("TZ", "Asia/Shanghai")
	t.Setenv("LANG", "zh_CN.UTF-8")
	t.Setenv("LC_ALL", "C.UTF-8")
	cs := &config.Source{}
	cs.HDFS.ReadyCommand = []string{script}
	cs.HDFS.Timeout = config.Duration(10 * time.Second)
	ok, reason, err := readyCommand(context.Background(), cs, &Partition{Iface: "51007", Period: "20241212", Hour: "07", Path: "ods/dt=20241212/hour=07", Source: "hdfs1"})
	if !ok || err != nil {
		t.Fatalf("%v %q %v", ok, reason, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := "\n" + string(b)
	for _, want := range []string{"\nPATH=" + os.Getenv("PATH") + "\n", "\nTZ=Asia/Shanghai\n", "\nLANG=zh_CN.UTF-8\n", "\nLC_ALL=C.UTF-8\n",
		"\nCHAMA_IFACE=51007\n", "\nCHAMA_PERIOD=2024121207\n", "\nCHAMA_PATH=ods/dt=20241212/hour=07\n", "\nCHAMA_SOURCE=hdfs1\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("no %q in the command's environment", strings.TrimSpace(want))
		}
	}
	if h := os.Getenv("HOME"); h != "" && !strings.Contains(env, "\nHOME="+h+"\n") {
		t.Errorf("no HOME in the command's environment")
	}
	// (Only names are printed: this machine's environment may hold
	// secrets of its own.)
	for _, kv := range strings.Split(env, "\n") {
		if name, v, _ := strings.Cut(kv, "="); strings.Contains(v, "Hunter2") {
			t.Errorf("the command got chama's secret in %s", name)
		}
	}
}

// A second pull of a partition being staged is refused as busy (exit 3,
// ledger status busy), so it never hides the run that holds the lock.
func TestPartitionLockRefusalIsBusy(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockPartition(dir, "dt=20241212/hour=05")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = lockPartition(dir, "dt=20241212/hour=05")
	if !errors.Is(err, exit.ErrBusy) || exit.Code(err) != exit.Partial {
		t.Fatalf("second lock: %v (exit %d), want busy, exit 3", err, exit.Code(err))
	}
}
