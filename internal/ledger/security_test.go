package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
)

// A workdir may hold any byte a file name can: '?' and '#' in it must
// not end the file name of the SQLite URI (which created a database
// outside the workdir and dropped the pragmas).
func TestSQLiteWorkdirWithURICharacters(t *testing.T) {
	// (Subtests by number: t.TempDir keeps '#' of a test's name.)
	for i, name := range []string{"a?b#c", "a?mode=ro&b#c%20d e", "x#y", "p%3Fq"} {
		t.Run(strconv.Itoa(i), func(t *testing.T) { sqliteIn(t, name) })
	}
}

func sqliteIn(t *testing.T, name string) {
	parent := t.TempDir()
	work := filepath.Join(parent, name)
	l, err := Open(&config.Config{Workdir: work, Ledger: config.Ledger{Driver: "sqlite"}})
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, l)
	var mode string
	if err := l.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v): the DSN's pragmas were lost", mode, err)
	}
	l.Close()
	if st, err := os.Stat(filepath.Join(work, workdir.LedgerFile)); err != nil || st.Size() == 0 {
		t.Errorf("no ledger in the workdir: %v", err)
	}
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != filepath.Base(work) {
			t.Errorf("%s was created outside the workdir", filepath.Join(parent, e.Name()))
		}
	}
	// Reopened, the rows are there.
	l, err = OpenSQLite(filepath.Join(work, workdir.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if rows, err := l.Rows(t.Context(), Query{}); err != nil || len(rows) != 3 {
		t.Errorf("reopened: %d rows, %v", len(rows), err)
	}
}

// No part of a PostgreSQL DSN is ever in an error: pgx redacts the
// password of a DSN it cannot parse only as far as it can tell where
// the password ends, and a raw '@', '/' or '#' in it moves that border.
func TestPostgresDSNNeverInErrors(t *testing.T) {
	for _, dsn := range []string{
		"postgres://chama:s3cr@Hunter2@127.0.0.1:1/ledger",
		"postgres://chama:p@Hunter2:word@127.0.0.1:5432/ledger",
		"postgres://chama:s3cr@Hunter2/x@127.0.0.1:1/ledger",
		"postgres://chama:Hunter2/Secret@127.0.0.1:1/ledger",
		"postgres://chama:12#Hunter2@127.0.0.1:1/ledger",
		"postgres://chama:12?Hunter2@127.0.0.1:1/ledger",
		"host=127.0.0.1 port=x user=chama password = 'Hunter2 Secret'",
		"host=127.0.0.1 port=1 user=chama password=Hunter2 sslmode=bogus",
		"postgres://chama:Hunter2@127.0.0.1:1/ledger?sslmode=disable&connect_timeout=5",
	} {
		t.Setenv("CHAMA_TEST_LEAK_DSN", dsn)
		_, err := Open(&config.Config{Ledger: config.Ledger{Driver: "postgres", DSNEnv: "CHAMA_TEST_LEAK_DSN"}})
		if err == nil {
			t.Errorf("%s: opened", dsn)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "Hunter2") || strings.Contains(msg, "s3cr") || strings.Contains(msg, "chama:") {
			t.Errorf("the error shows part of the DSN:\n  dsn %s\n  err %s", dsn, msg)
		}
		if !strings.Contains(msg, "the DSN in $CHAMA_TEST_LEAK_DSN") {
			t.Errorf("the error does not say where the DSN is: %s", msg)
		}
	}
	// OpenPostgres, given the DSN itself, does not show it either.
	if _, err := OpenPostgres("postgres://chama:p@Hunter2:word@127.0.0.1:5432/ledger"); err == nil || strings.Contains(err.Error(), "Hunter2") {
		t.Errorf("OpenPostgres: %v", err)
	}
}

// A DSN pasted into ledger.dsn_env itself (a config that did not go
// through config.Validate) is not echoed as the variable's name.
func TestOpenDoesNotEchoAPastedDSN(t *testing.T) {
	_, err := Open(&config.Config{Ledger: config.Ledger{Driver: "postgres", DSNEnv: "postgres://chama:Hunter2@db/ledger"}})
	if err == nil || strings.Contains(err.Error(), "Hunter2") || !strings.Contains(err.Error(), "ledger.dsn_env") {
		t.Fatalf("err = %v", err)
	}
}

func TestScrub(t *testing.T) {
	l := &Ledger{secrets: []string{"postgres://u:Hunter2@h/db", "Hunter2", "abc"}}
	if err := l.scrub(errors.New("x postgres://u:Hunter2@h/db y Hunter2 abc")); err.Error() != "x xxxxx y xxxxx abc" {
		t.Errorf("scrubbed: %v", err)
	}
	orig := errors.New("nothing secret")
	if err := l.scrub(orig); err != orig {
		t.Errorf("an error without secrets was replaced: %v", err)
	}
}
