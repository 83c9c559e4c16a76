package ledger

import (
	"sync"
	"testing"
)

// TestPostgresConcurrentFirstOpen: several interface machines start at
// once against a fresh shared ledger; every one of them opens it (the
// concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's
// catalog), none runs unrecorded.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	dsn := startPostgres(t)
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
