// Package pgtest starts a throwaway PostgreSQL server for tests: the
// shared ledger of several interface machines (internal/ledger, the
// multi-machine tests of cmd/chama).
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Start starts a throwaway PostgreSQL cluster on 127.0.0.1 and
// returns its DSN; it skips the test when the server binaries are not
// installed (.ci/run installs them).
func Start(t testing.TB) string {
	t.Helper()
	// Set by .ci/run (see sshdtest.RequireEnv): there a missing server
	// fails the test instead of skipping it.
	skip := t.Skip
	if os.Getenv("CHAMA_TEST_REQUIRE_SERVERS") != "" {
		skip = t.Fatal
	}
	bin := findPGBin()
	if bin == "" {
		skip("PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql to run the PostgreSQL ledger test")
	}
	var runAs []string
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		if _, err := user.Lookup("postgres"); err != nil {
			skip("running as root and there is no postgres user to run the server as")
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	dir, err := os.MkdirTemp("", "chama-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if runAs != nil {
		u, _ := user.Lookup("postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(append([]string{}, runAs...), filepath.Join(bin, name)), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "chama", "--auth=trust", "-E", "UTF8", "--no-sync")
	port := freePort(t)
	run("pg_ctl", "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() {
		argv := append(append(append([]string{}, runAs...), filepath.Join(bin, "pg_ctl")), "-D", data, "-m", "immediate", "-w", "stop")
		exec.Command(argv[0], argv[1:]...).Run()
	})
	return fmt.Sprintf("postgres://chama@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func findPGBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(ms) == 0 {
		return ""
	}
	return filepath.Dir(ms[len(ms)-1])
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
