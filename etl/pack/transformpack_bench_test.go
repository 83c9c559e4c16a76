package pack

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/naming"
)

// BenchmarkTransformPack51007 runs the bench spec (testdata/transform/
// bench51007.yaml, 51 columns) over rows from internal/gen, one transform
// worker and one compressor, as transform alone (to a sink that drops the
// batches) and as a from: transform interface packed to gzip files, so
// that the cpu-ns/row of the two show what packing adds. CHAMA_BENCH_ROWS
// sets the row count (default 40000).
func BenchmarkTransformPack51007(b *testing.B) {
	rows := int64(40000)
	if n, err := strconv.ParseInt(os.Getenv("CHAMA_BENCH_ROWS"), 10, 64); err == nil && n > 0 {
		rows = n
	}
	dir := b.TempDir()
	o := gen.Defaults()
	o.Dir, o.Date, o.Hours, o.Rows, o.Gzip = filepath.Join(dir, "ods"), "20241212", []int{7}, rows, false
	if _, err := gen.Run(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.Setenv("CHAMA_MOBILE_KEY", gen.DemoMobileKeyHex)
	provs := []string{"广东省|广州市", "江苏省|南京市", "浙江省|杭州市", "北京|北京市", "四川省|成都市"}
	var rs []funcs.XDBRange
	for a := uint32(1); a < 224; a++ {
		rs = append(rs, funcs.XDBRange{Start: a << 24, End: a<<24 | 0xffffff, Region: "中国|0|" + provs[a%5] + "|移动"})
	}
	db, err := funcs.BuildXDB(rs)
	if err != nil {
		b.Fatal(err)
	}
	xdb := filepath.Join(dir, "ip.xdb")
	os.WriteFile(xdb, db, 0o644)
	spec, err := os.ReadFile("../../testdata/transform/bench51007.yaml")
	if err != nil {
		b.Fatal(err)
	}
	y := strings.NewReplacer("{{WORK}}", filepath.Join(dir, "work"), "{{ROOT}}", o.Dir, "{{XDB}}", xdb, "{{WORKERS}}", "1",
		`"51007": {source: gen, path: "dt={date}/hour={hour}"}`, `"51007": {from: transform}`).Replace(string(spec))
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Transform.Readers = 1
	period := naming.MustPeriod("2024121207")
	run := func(b *testing.B, f func() int64) {
		b.ResetTimer()
		c0 := cpuNanos()
		var written int64
		for i := 0; i < b.N; i++ {
			written = f()
		}
		b.ReportMetric(float64(cpuNanos()-c0)/float64(int64(b.N)*rows), "cpu-ns/row")
		b.ReportMetric(float64(written), "rows_51007")
	}
	b.Run("transform", func(b *testing.B) {
		run(b, func() int64 {
			sum, err := transform.Stream(context.Background(), transform.Options{Config: cfg, Layer: transform.LayerADS, Period: period, Names: []string{"51007"}, Log: quietLog},
				func(string, transform.Output) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			return sum.Rows["51007"].Written
		})
	})
	b.Run("transform+pack", func(b *testing.B) {
		run(b, func() int64 {
			m, err := Run(context.Background(), Options{Config: cfg, Iface: cfg.Interfaces["51007"], Period: period, Workers: 1, Log: quietLog})
			if err != nil {
				b.Fatal(err)
			}
			return m.Rows.Written
		})
	})
	// Three interfaces with the 51007 spec: one shared pass, and each
	// packed with its own pass.
	// (ads is the spec's last section.)
	y3 := strings.Replace(y, "  ads:\n    \"51007\":\n", "  ads:\n    \"51007\": &a51007\n", 1) +
		"    \"51006\": *a51007\n    \"51010\": *a51007\n"
	y3 = strings.Replace(y3, `"51007": {from: transform}`, `"51007": {from: transform}
  "51006": {from: transform}
  "51010": {from: transform}`, 1)
	cfg3, err := config.Parse([]byte(y3))
	if err != nil {
		b.Fatal(err)
	}
	cfg3.Transform.Readers = 1
	ifs := []*config.Interface{cfg3.Interfaces["51006"], cfg3.Interfaces["51007"], cfg3.Interfaces["51010"]}
	b.Run("3x-transform", func(b *testing.B) {
		run(b, func() int64 {
			if _, err := transform.Stream(context.Background(), transform.Options{Config: cfg3, Layer: transform.LayerADS, Period: period, Log: quietLog},
				func(string, transform.Output) error { return nil }); err != nil {
				b.Fatal(err)
			}
			return 0
		})
	})
	b.Run("3x-shared", func(b *testing.B) {
		run(b, func() int64 {
			if err := RunAll(context.Background(), AllOptions{Config: cfg3, Periods: []naming.Period{period}, Ifaces: ifs, Workers: 1, Log: quietLog}); err != nil {
				b.Fatal(err)
			}
			return 0
		})
	})
	b.Run("3x-separate", func(b *testing.B) {
		run(b, func() int64 {
			for _, i := range ifs {
				if _, err := Run(context.Background(), Options{Config: cfg3, Iface: i, Period: period, Workers: 1, Log: quietLog}); err != nil {
					b.Fatal(err)
				}
			}
			return 0
		})
	})
}

var quietLog = slog.New(slog.DiscardHandler)

// cpuNanos is the process's user+system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
