package clean

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
)

// clean prunes the shared chunk store: days past the retention, and
// superseded versions once settled; the latest version of a kept day stays.
func TestCleanPrunesTheChunkStore(t *testing.T) {
	work, store, src := t.TempDir(), t.TempDir(), t.TempDir()
	c, err := config.Parse([]byte(fmt.Sprintf(`
workdir: %q
ledger: {driver: postgres, dsn_env: CHAMA_X}
chunk_store: {type: file, dir: %q}
sources:
  local: {type: file, root: %q}
interfaces:
  "51007": {source: local, path: "dt={date}/hour={hour}", hourly_pack: true}
`, work, store, src)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := chunkstore.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(body string) string {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "chunk_07_000001.dat.gz"), []byte(body), 0o644)
		return d
	}
	ctx := t.Context()
	// The versions are written now: two days later they are settled,
	// a day from 30 days before is past the retention, yesterday is not.
	now := time.Now().Add(48 * time.Hour)
	oldHour, dayHour := now.AddDate(0, 0, -30).Format("2006010207"), now.AddDate(0, 0, -1).Format("2006010207")
	s.Put(ctx, "51007", oldHour, chunk("old"), 1, "m1", nil)
	s.Put(ctx, "51007", dayHour, chunk("superseded"), 1, "m1", nil)
	keep, _ := s.Put(ctx, "51007", dayHour, chunk("latest"), 2, "m2", nil)
	var out bytes.Buffer
	res, err := Run(ctx, Options{Config: c, Days: 15, Now: now, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	lines := out.String()
	for _, want := range []string{"reason=retention", "path=51007/" + oldHour, "reason=superseded"} {
		if !strings.Contains(lines, want) {
			t.Errorf("output lacks %q:\n%s", want, lines)
		}
	}
	if res.StoreDirs != 3 {
		t.Errorf("store dirs %d, want 3 (old day, superseded record and folder)", res.StoreDirs)
	}
	if v, _ := s.Latest(ctx, "51007", dayHour); v == nil || v.Name != keep.Name {
		t.Errorf("the latest version went: %+v", v)
	}
}
