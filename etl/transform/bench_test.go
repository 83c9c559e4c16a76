package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/naming"
)

// BenchmarkTransform51007 runs the bench spec (testdata/transform/
// bench51007.yaml) over rows from internal/gen, in one worker, so that
// ns/op divided by rows is the per-core cost. make bench-transform runs
// the same spec through the CLI on 2,000,000 rows.
func BenchmarkTransform51007(b *testing.B) {
	const rows = 40000
	dir := b.TempDir()
	o := gen.Defaults()
	o.Dir, o.Date, o.Hours, o.Rows, o.Gzip = filepath.Join(dir, "ods"), "20241212", []int{7}, rows, false
	if _, err := gen.Run(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.Setenv("CHAMA_MOBILE_KEY", gen.DemoMobileKeyHex)
	xdb := filepath.Join(dir, "ip.xdb")
	if err := os.WriteFile(xdb, benchXDB(b), 0o644); err != nil {
		b.Fatal(err)
	}
	spec, err := os.ReadFile("../../testdata/transform/bench51007.yaml")
	if err != nil {
		b.Fatal(err)
	}
	y := strings.NewReplacer("{{WORK}}", filepath.Join(dir, "work"), "{{ROOT}}", o.Dir, "{{XDB}}", xdb, "{{WORKERS}}", "1").Replace(string(spec))
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Transform.Readers = 1
	b.ResetTimer()
	var written int64
	for i := 0; i < b.N; i++ {
		sum, err := Run(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet},
			func(string, Output) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		written = sum.Rows["51007"].Written
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	b.ReportMetric(float64(written), "rows_51007")
}
