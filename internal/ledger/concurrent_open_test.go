package ledger

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/chama-data/chama/internal/pgtest"
	"github.com/chama-data/chama/internal/workdir"
)

// TestPostgresConcurrentFirstOpen: several interface machines start at
// once against a fresh shared ledger; every one of them opens it (the
// concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's
// catalog), none runs unrecorded.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	dsn := pgtest.Start(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := OpenPostgres(dsn)
			if err == nil {
				l.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
}

// TestSQLiteConcurrentFirstOpen: Airflow starts several stages at once
// on a fresh workdir; each opens the new ledger.db (WAL switch, CREATE
// TABLE) and records its run. SQLite answered some "database is locked"
// at once, whatever the busy timeout.
func TestSQLiteConcurrentFirstOpen(t *testing.T) {
	for round := range 25 {
		path := filepath.Join(t.TempDir(), workdir.LedgerFile)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := OpenSQLite(path)
				if err == nil {
					_, err = l.Start(t.Context(), Run{Stage: StagePack, Iface: "51007", Period: "20241212"})
					l.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, open %d: %v", round, i, err)
			}
		}
	}
}
