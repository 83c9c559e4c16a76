package pack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/naming"
)

// TestMain lets the test binary act as a packing process that can be
// killed: with CHAMA_ETL_HELPER=1 it packs CHAMA_ETL_CONFIG's interface X
// for CHAMA_ETL_PERIOD, and pauses after its first finished file.
func TestMain(m *testing.M) {
	if os.Getenv("CHAMA_ETL_HELPER") == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

const pausedLine = "CHAMA_TEST_PAUSED"

func helperMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := config.Load(os.Getenv("CHAMA_ETL_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	testHookFileDone = func(ctx context.Context) {
		fmt.Println(pausedLine) // the parent now knows a file is half-way through the set
		<-ctx.Done()
	}
	_, err = Run(ctx, Options{Config: c, Iface: c.Interfaces["X"], Period: naming.MustPeriod(os.Getenv("CHAMA_ETL_PERIOD")), Workers: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		return 1
	}
	return 0
}

// startPacker runs the helper and waits until it has finished its first
// file and paused mid-pack.
func startPacker(t *testing.T, e *env, period string) *exec.Cmd {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "chama.yaml")
	if err := os.WriteFile(cfgPath, []byte(e.yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHAMA_ETL_HELPER=1", "CHAMA_ETL_CONFIG="+cfgPath, "CHAMA_ETL_PERIOD="+period)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	paused := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == pausedLine {
				paused <- true
				io.Copy(io.Discard, out)
				return
			}
		}
		paused <- false
	}()
	select {
	case ok := <-paused:
		if !ok {
			cmd.Wait()
			t.Fatalf("the packer ended without pausing: %s", stderr.String())
		}
	case <-time.After(2 * time.Minute): // a safety net against a hang, not a timing assertion
		t.Fatal("the packer did not reach its first file")
	}
	return cmd
}

func killEnv(t *testing.T) *env {
	e := newEnv(t, "lines_per_file: 50")
	var ls []string
	for i := range 1000 {
		ls = append(ls, row(fmt.Sprint(i), "payload"))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls...)
	return e
}

// tempFolders lists the interface's temporary folders.
func tempFolders(e *env) []string {
	ents, _ := os.ReadDir(filepath.Join(e.work, "out", "X"))
	var out []string
	for _, d := range ents {
		if d.IsDir() && strings.Contains(d.Name(), ".tmp-") {
			out = append(out, filepath.Join(e.work, "out", "X", d.Name()))
		}
	}
	return out
}

// SIGKILL mid-pack leaves the previous complete output (or nothing when
// there was none), never a half set; the next run cleans up and succeeds.
func TestPackKilledMidwayLeavesNoHalfOutput(t *testing.T) {
	for _, withOld := range []bool{false, true} {
		t.Run(fmt.Sprintf("previous=%v", withOld), func(t *testing.T) {
			e := killEnv(t)
			var before map[string][]byte
			if withOld {
				e.cfg.Interfaces["X"].LinesPerFile = 400 // a different, complete set
				e.mustPack("20241212")
				e.cfg.Interfaces["X"].LinesPerFile = 50
				before = readManifestFiles(t, e.outDir("20241212"))
			}
			cmd := startPacker(t, e, "20241212")
			tmps := tempFolders(e)
			if len(tmps) != 1 || len(listTree(t, tmps[0])) == 0 {
				t.Fatalf("no half-written temp folder while paused: %v", tmps)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			_, err := os.Stat(e.outDir("20241212"))
			if !withOld {
				if !os.IsNotExist(err) {
					t.Fatalf("a killed first run published something: %v", listTree(t, e.outDir("20241212")))
				}
			} else {
				after := readManifestFiles(t, e.outDir("20241212"))
				if len(after) != len(before) || len(after) != 3 {
					t.Fatalf("output after the kill: %d files, before %d", len(after), len(before))
				}
				for n, b := range before {
					if string(after[n]) != string(b) {
						t.Errorf("%s changed by the killed run", n)
					}
				}
			}
			m := e.mustPack("20241212")
			if FileCount(m) != 20 {
				t.Errorf("re-run made %d files, want 20", FileCount(m))
			}
			e.noTemporaries()
		})
	}
}

// SIGTERM mid-pack stops cleanly: exit status 1, temporaries removed, the
// previous output untouched.
func TestPackTerminatedRemovesTemporaries(t *testing.T) {
	e := killEnv(t)
	e.cfg.Interfaces["X"].LinesPerFile = 400
	e.mustPack("20241212")
	before := readManifestFiles(t, e.outDir("20241212"))
	cmd := startPacker(t, e, "20241212")
	if len(tempFolders(e)) != 1 {
		t.Fatal("no temp folder while paused")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	e.noTemporaries()
	after := readManifestFiles(t, e.outDir("20241212"))
	if len(after) != len(before) {
		t.Errorf("output changed: %d files, was %d", len(after), len(before))
	}
	for n, b := range before {
		if string(after[n]) != string(b) {
			t.Errorf("%s changed", n)
		}
	}
}
