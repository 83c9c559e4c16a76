package transform

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/naming"
)

// BenchmarkTransform51007 runs the bench spec (testdata/transform/
// bench51007.yaml) over rows from internal/gen, in one worker, so that
// ns/op divided by rows is the per-core cost. make bench-transform runs
// the same spec through the CLI on 2,000,000 rows.
func BenchmarkTransform51007(b *testing.B) {
	rows := int64(40000)
	if n, err := strconv.ParseInt(os.Getenv("CHAMA_BENCH_ROWS"), 10, 64); err == nil && n > 0 {
		rows = n // make bench-transform runs it on its full row count
	}
	cfg, _ := benchConfig(b, rows)
	b.ResetTimer()
	c0 := cpuTime()
	var written int64
	for i := 0; i < b.N; i++ {
		sum, err := Stream(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet},
			func(string, Output) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		written = sum.Rows["51007"].Written
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(int64(b.N)*rows), "cpu-ns/row")
	b.ReportMetric(float64(written), "rows_51007")
}

// benchConfig generates rows into hour 07 of 20241212 with internal/gen and
// loads the bench spec over them, one worker and one reader.
func benchConfig(tb testing.TB, rows int64) (*config.Config, string) {
	dir := tb.TempDir()
	o := gen.Defaults()
	o.Dir, o.Date, o.Hours, o.Rows, o.Gzip = filepath.Join(dir, "ods"), "20241212", []int{7}, rows, false
	if _, err := gen.Run(context.Background(), o); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("CHAMA_MOBILE_KEY", gen.DemoMobileKeyHex)
	xdb := filepath.Join(dir, "ip.xdb")
	if err := os.WriteFile(xdb, benchXDB(tb), 0o644); err != nil {
		tb.Fatal(err)
	}
	spec, err := os.ReadFile("../../testdata/transform/bench51007.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	y := strings.NewReplacer("{{WORK}}", filepath.Join(dir, "work"), "{{ROOT}}", o.Dir, "{{XDB}}", xdb, "{{WORKERS}}", "1").Replace(string(spec))
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Transform.Readers = 1
	return cfg, dir
}

// BenchmarkEval51007 isolates the evaluator (DWD + routing + 51 output
// columns) on one decoded batch of generated rows.
func BenchmarkEval51007(b *testing.B) {
	cfg, _ := benchConfig(b, 8192)
	ev, dec, ch := benchInput(b, cfg)
	raw := ch.raw
	b.Run("decode", func(b *testing.B) {
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			ch.raw = raw
			rec, _ := dec.decode(ch)
			rec.Release()
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*ch.lines), "cpu-ns/row")
	})
	rec, _ := dec.decode(ch)
	evalBench := func(ev *evaluator) func(*testing.B) {
		return func(b *testing.B) {
			c0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*int(rec.NumRows())), "cpu-ns/row") }()
			for i := 0; i < b.N; i++ {
				out, err := ev.eval(LayerADS, rec)
				if err != nil {
					b.Fatal(err)
				}
				releaseOuts(out)
			}
		}
	}
	b.Run("eval", evalBench(ev))
	// The same output split by province, as CM interfaces are.
	a := cfg.Transform.ADS["51007"]
	a.Partition = "province"
	cfg.Transform.ADS["51007"] = a
	evp, _, _ := benchInput(b, cfg)
	b.Run("eval-by-province", evalBench(evp))
}

// cpuTime is the process's user+system CPU time in nanoseconds: on a
// shared machine it measures cost per core better than the wall clock.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkStage51007 is BenchmarkTransform51007 writing the Parquet stage.
func BenchmarkStage51007(b *testing.B) {
	const rows = 40000
	cfg, _ := benchConfig(b, rows)
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := Run(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*rows), "cpu-ns/row")
	var staged int64
	filepath.WalkDir(StageDir(cfg.Workdir, LayerADS), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			if fi, err := d.Info(); err == nil {
				staged += fi.Size()
			}
		}
		return nil
	})
	b.ReportMetric(float64(staged)/rows, "staged-bytes/row")
}

// BenchmarkParquet51007 prices Parquet alone: one batch's 51007 output,
// already evaluated, encoded again and again with the staging settings
// (buffered row groups of 8 batches, plain encoding) to io.Discard. Its
// figure is a floor under BenchmarkStage51007 and chama transform that no
// change to the evaluator can lower. CPU ns per input row, as elsewhere.
// A page (stagePageBytes) holds less than one batch of a column, so the
// repetition gives Snappy nothing to find that real data would not.
func BenchmarkParquet51007(b *testing.B) {
	cfg, _ := benchConfig(b, 8192)
	ev, rec := benchBatch(b, cfg)
	out, err := ev.eval(LayerADS, rec)
	if err != nil {
		b.Fatal(err)
	}
	defer releaseOuts(out)
	r := out.outs[0].Rec
	for _, c := range []struct {
		name  string
		codec compress.Compression
	}{{"snappy", compress.Codecs.Snappy}, {"none", compress.Codecs.Uncompressed}} {
		b.Run(c.name, func(b *testing.B) {
			w, err := pqarrow.NewFileWriter(r.Schema(), io.Discard, stageProps(c.codec), pqarrow.NewArrowWriterProperties())
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if i%8 == 0 {
					if err := w.NewBufferedRowGroupChecked(); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.WriteBuffered(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*int(rec.NumRows())), "cpu-ns/row")
			b.ReportMetric(float64(r.NumRows())/float64(rec.NumRows()), "written/row")
		})
	}
}

// BenchmarkEval51007Parts prices the bench spec's pieces: the 51007
// filter alone, the 19 columns copied from the ODS row, then each group
// of derived columns on top of that projection, then all 51 columns
// (derived columns run only when an output reads them). It runs the
// evaluator on one decoded batch, as BenchmarkEval51007 does.
func BenchmarkEval51007Parts(b *testing.B) {
	spec, err := os.ReadFile("../../testdata/transform/bench51007.yaml")
	if err != nil {
		b.Fatal(err)
	}
	at := strings.LastIndex(string(spec), "      columns:\n")
	head, cols := string(spec[:at]), strings.Split(strings.TrimRight(string(spec[at+len("      columns:\n"):]), "\n"), "\n")
	name := func(line string) string { return strings.TrimSpace(strings.SplitN(line, ":", 2)[0]) }
	var project []string
	for _, l := range cols[:20] {
		if name(l) != "user_value" { // mobile: priced on its own
			project = append(project, l)
		}
	}
	with := func(names ...string) []string {
		out := append([]string(nil), project...)
		for _, l := range cols {
			for _, n := range names {
				if name(l) == n {
					out = append(out, l)
				}
			}
		}
		return out
	}
	parts := []struct {
		name string
		cols []string
	}{
		{"filter", cols[:1]},
		{"project19", project},
		{"+json", with("wt_et", "wt_es", "wt_ti", "wt_vtid")},
		{"+url", with("page_id", "channel_id")},
		{"+ua", with("os", "os_version", "browser", "browser_version", "device_brand", "device_model")},
		{"+ip", with("ip_prov", "ip_city")},
		{"+mobile", with("user_value")},
		{"+wt_av", with("wt_av", "client_version")},
		{"all51", cols},
	}
	cfg0, _ := benchConfig(b, 8192)
	for _, p := range parts {
		y := strings.NewReplacer("{{WORK}}", cfg0.Workdir, "{{ROOT}}", cfg0.Sources["gen"].Root, "{{XDB}}", cfg0.Transform.IPDB,
			"{{WORKERS}}", "1").Replace(head + "      columns:\n" + strings.Join(p.cols, "\n") + "\n")
		cfg, err := config.Parse([]byte(y))
		if err != nil {
			b.Fatal(err)
		}
		ev, rec := benchBatch(b, cfg)
		b.Run(p.name, func(b *testing.B) {
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				out, err := ev.eval(LayerADS, rec)
				if err != nil {
					b.Fatal(err)
				}
				releaseOuts(out)
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*int(rec.NumRows())), "cpu-ns/row")
		})
	}
}

// benchBatch compiles cfg's stream and decodes the first batch of its
// first input file.
func benchBatch(b *testing.B, cfg *config.Config) (*evaluator, arrow.RecordBatch) {
	ev, dec, ch := benchInput(b, cfg)
	rec, _ := dec.decode(ch)
	return ev, rec
}

// benchInput compiles cfg's stream and reads the first batch of its first
// input file, with a decoder for it.
func benchInput(b *testing.B, cfg *config.Config) (*evaluator, *decoder, *chunk) {
	streams, err := buildPlan(cfg.Transform, LayerADS, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := streams[0]
	sh, err := openShared(b, cfg.Transform)
	if err != nil {
		b.Fatal(err)
	}
	mem := newPoolAllocator()
	ev, err := newEvaluator(st, sh, mem, evalVector)
	if err != nil {
		b.Fatal(err)
	}
	src, files, err := listInputs(context.Background(), Options{Config: cfg, Period: naming.MustPeriod("2024121207")}, st)
	if err != nil {
		b.Fatal(err)
	}
	var ch *chunk
	readText(context.Background(), src, files[0].info.Path, "07", 1<<20, func(c *chunk) error { ch = c; return nil })
	return ev, newDecoder(mem, st.schema, 1, `\N`), ch
}

// BenchmarkLookup51007 prices a dimension lookup: the bench spec's
// routing filter (data_source_id in [5 values]) against the same routing
// as an inner join with a mapping table of the data sources (the form of
// the team's 51010 rule), alternating in each iteration on the same rows.
// It reports both costs per row and their ratio; the outputs must agree.
func BenchmarkLookup51007(b *testing.B) {
	rows := int64(40000)
	if n, err := strconv.ParseInt(os.Getenv("CHAMA_BENCH_ROWS"), 10, 64); err == nil && n > 0 {
		rows = n
	}
	in, dir := benchConfig(b, rows)
	join, _ := benchConfig(b, 1)
	join.Transform.ODS = in.Transform.ODS
	join.Sources = in.Sources
	mapping := filepath.Join(dir, "dim", "dt=20241212")
	if err := os.MkdirAll(mapping, 0o755); err != nil {
		b.Fatal(err)
	}
	var m strings.Builder
	for _, d := range gen.DataSources {
		iface := "other"
		switch d.ID {
		case "2000001", "2000002", "2000003", "2000010", "2000020":
			iface = "51007"
		}
		m.WriteString(d.ID + "\x01" + iface + "\n")
	}
	if err := os.WriteFile(filepath.Join(mapping, "000000_0"), []byte(m.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	join.Sources["dims"] = &config.Source{Type: "file", Root: filepath.Join(dir, "dim"), Ready: "none"}
	join.Transform.Dims = map[string]*config.DimTable{"mapping": {
		FileTable: config.FileTable{Source: "dims", Format: "text", Delimiter: "\x01", Null: `\N`,
			Columns: config.Exprs{{Name: "data_source_id", Expr: "string"}, {Name: "interface", Expr: "string"}}},
		Path: "dt={date}", MaxRows: config.DefaultDimMaxRows, MaxBytes: config.DefaultDimMaxBytes}}
	a := join.Transform.ADS["51007"]
	a.Filter = ""
	a.Lookups = []*config.Lookup{{Dim: "mapping", Type: config.JoinInner, ID: "ads.51007.mapping", Where: `interface == "51007"`,
		On: config.Exprs{{Name: "data_source_id", Expr: "data_source_id"}}}}
	run := func(cfg *config.Config) (int64, int64) {
		c0 := cpuTime()
		sum, err := Stream(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet},
			func(string, Output) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		return sum.Rows["51007"].Written, cpuTime() - c0
	}
	b.ResetTimer()
	var tin, tjoin int64
	for i := 0; i < b.N; i++ {
		wi, di := run(in)
		wj, dj := run(join)
		if wi != wj || wi == 0 {
			b.Fatalf("the lookup wrote %d rows, the filter %d", wj, wi)
		}
		tin, tjoin = tin+di, tjoin+dj
	}
	n := float64(int64(b.N) * rows)
	b.ReportMetric(float64(tin)/n, "in-cpu-ns/row")
	b.ReportMetric(float64(tjoin)/n, "lookup-cpu-ns/row")
	b.ReportMetric(float64(tjoin)/float64(tin), "lookup/in")
}
