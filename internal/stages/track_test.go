package stages

import (
	"path/filepath"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/verify"
)

// TrackVerify's rows carry the period's hour, the route targets only when
// given the config (verify --remote), and the first failing finding.
func TestTrackVerifyRows(t *testing.T) {
	l, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rc := &obs.Recorder{Ledger: l}
	c := &config.Config{Interfaces: map[string]*config.Interface{
		"51007": {Routes: []config.Route{{Target: "panda"}, {Target: "tiger"}}},
	}}
	ctx := t.Context()
	TrackVerify(rc, c)(ctx, "51007", "2024121207")(&verify.Result{OK: true, Files: 3, Lines: 30, Bytes: 99, Hosts: []string{"h1:22", "h2:22"}})
	TrackVerify(rc, nil)(ctx, "51007", "20241212")(&verify.Result{Findings: []verify.Finding{
		{Severity: verify.Warn, Reason: "w", File: "a"},
		{Severity: verify.Fail, Reason: "size_mismatch", File: "b"},
	}})
	rows, err := l.Rows(ctx, ledger.Query{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if r := rows[0]; r.Stage != ledger.StageVerify || r.Hour != "07" || r.Target != "panda,tiger" || r.Status != ledger.OK ||
		r.Files != 3 || r.RowsIn != 30 || r.RowsOut != 30 || r.Bytes != 99 || r.Host != "h1:22,h2:22" {
		t.Errorf("remote row %+v", r)
	}
	if r := rows[1]; r.Hour != "" || r.Target != "" || r.Status != ledger.Failed || r.Err != "2 findings, first: size_mismatch b" {
		t.Errorf("failed row %+v", r)
	}
}
