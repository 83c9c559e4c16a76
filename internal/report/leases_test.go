package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/naming"
)

func TestLeases(t *testing.T) {
	l, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2024, 12, 13, 2, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	ctx := t.Context()
	held, _ := l.Acquire(ctx, "pack/51007/2024121207", "m1:1:r1:aa", 2*time.Minute)
	l.Acquire(ctx, "push/51007/20241212/plat", "m2:2:r2:bb", time.Minute)
	gone, _ := l.Acquire(ctx, "pack/51007/2024121208", "m1:1:r1:aa", time.Minute)
	gone.Release(ctx)
	l.Acquire(ctx, "pack/51006/2024121207", "m1:1:r1:aa", time.Minute) // another interface
	l.Acquire(ctx, "pack/51007/2024121107", "m1:1:r1:aa", time.Minute) // another day
	now = now.Add(90 * time.Second)                                    // the push's lease expired
	ls, err := Leases(ctx, l, []naming.Period{naming.MustPeriod("20241212")}, []*config.Interface{{Name: "51007"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range ls {
		got[s.Unit] = s.State
	}
	want := map[string]string{"pack/51007/2024121207": "held", "pack/51007/2024121208": "free", "push/51007/20241212/plat": "expired"}
	if len(got) != len(want) {
		t.Fatalf("leases %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	var b bytes.Buffer
	WriteLeases(&b, ls, time.UTC)
	if !strings.Contains(b.String(), "pack/51007/2024121207     held     1      "+held.Owner) {
		t.Errorf("table:\n%s", b.String())
	}
}
