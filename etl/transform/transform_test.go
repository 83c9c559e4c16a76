package transform

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const testKeyHex = "00112233445566778899aabbccddeeff"

const (
	uaAndroid = "Mozilla/5.0 (Linux; Android 10; SM-G9750 Build/QP1A.190711.020; wv) AppleWebKit/537.36 Chrome/83.0 Mobile Safari/537.36 leadeon/9.5.0"
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 14_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.2"
)

var odsNames = []string{"event_id", "data_source_id", "user_key", "user_id", "user_agent", "ip", "mc_ev", "attributes", "ts"}

// sampleRows is one ODS sample covering the domain's routing rules:
// data_source_id lists, and mc_ev "contains 210315_QYCS and not
// ^210315_QYCS_\d+$ -> 51006; matches ^210315_QYCS_\d+$ -> 51010".
func sampleRows(t *testing.T) [][]string {
	key, _ := hex.DecodeString(testKeyHex)
	c, err := funcs.NewMobileCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	enc := c.Encrypt("13800138000")
	attrs := func(es, av string) string {
		// URL-encoded JSON, as the app sends it.
		j := fmt.Sprintf(`{"WT_es":%q,"WT_av":%q}`, es, av)
		return strings.NewReplacer("{", "%7B", "}", "%7D", `"`, "%22", ":", "%3A", ",", "%2C").Replace(j)
	}
	return [][]string{
		{"e1", "app01", "$basic_userId", enc, uaAndroid, "1.0.0.7", "", attrs("https://m.10086.cn/p?pageId=12345678901234567890123&channelId=", ""), "1"},
		{"e2", "partner9", "$other", "u2", uaIPhone, "36.2.0.1", `\N`, attrs("https://h5/#/x?channelId=CH0123456789XYZ", "APP_ios_1"), "2"},
		{"e3", "other", "$other", "u3", uaAndroid, "36.4.0.1", "210315_QYCS_act", `\N`, "3"},
		{"e4", "other", "$other", "u4", uaAndroid, "8.8.8.8", "210315_QYCS_42", "", "4"},
		{"e5", "h5prov", "$basic_userId", "bad==", uaIPhone, "1.0.0.1", "", "", `\N`},
		{"e6", "other", "$other", "u6", "", "", "x", "", "6"},
		{"e7", "app02", "$other", "u7", uaIPhone, "36.4.0.2", "210315_QYCS_7", "", "7"},
		{"e8", "other", "$other", "u8", uaAndroid, "1.0.0.2", `\N`, "", "8"},
	}
}

// want per interface: event ids in order.
var wantRouting = map[string][]string{
	"51007": {"e1", "e7"},
	"51006": {"e2", "e3"},
	"51010": {"e4", "e5", "e7"},
	"CM001": {"e1", "e7"},
}

type fixture struct {
	work, root string
	cfg        *config.Config
}

func tinyXDB(t *testing.T, dir string) string {
	ip := func(s string) uint32 { v, _ := funcs.ParseIPv4(s); return v }
	b, err := funcs.BuildXDB([]funcs.XDBRange{
		{Start: ip("1.0.0.0"), End: ip("1.0.0.255"), Region: "中国|0|江苏省|南京市|移动"},
		{Start: ip("36.0.0.0"), End: ip("36.3.255.255"), Region: "中国|0|北京|北京市|移动"},
		{Start: ip("36.4.0.0"), End: ip("36.4.0.9"), Region: "中国|0|浙江省|杭州市|电信"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ip.xdb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFixture(t *testing.T, format string, edit func(string) string) *fixture {
	t.Helper()
	t.Setenv("CHAMA_TEST_MOBILE_KEY", testKeyHex)
	dir := t.TempDir()
	f := &fixture{work: filepath.Join(dir, "work"), root: filepath.Join(dir, "root")}
	spec, err := os.ReadFile("../../testdata/transform/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.NewReplacer("{{WORK}}", f.work, "{{ROOT}}", f.root, "{{FORMAT}}", format, "{{XDB}}", tinyXDB(t, dir)).Replace(string(spec))
	if edit != nil {
		y = edit(y)
	}
	f.cfg, err = config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeText writes rows as gzip \x01 text split over files of per rows.
func (f *fixture) writeText(t *testing.T, hour string, rows [][]string, per int, gz bool) {
	t.Helper()
	dir := filepath.Join(f.root, "ods/events/dt=20241212/hour="+hour)
	os.MkdirAll(dir, 0o755)
	for i, n := 0, 0; i < len(rows); i, n = i+per, n+1 {
		var buf bytes.Buffer
		for _, r := range rows[i:min(i+per, len(rows))] {
			buf.WriteString(strings.Join(r, "\x01") + "\n")
		}
		data := buf.Bytes()
		name := fmt.Sprintf("%06d_0", n)
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data, name = z.Bytes(), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeParquet writes the same rows as a Parquet file per per rows, with
// \N as a real null and ts as int64.
func (f *fixture) writeParquet(t *testing.T, hour string, rows [][]string, per int) {
	t.Helper()
	dir := filepath.Join(f.root, "ods/events/dt=20241212/hour="+hour)
	os.MkdirAll(dir, 0o755)
	var fs []arrow.Field
	for _, n := range odsNames {
		typ := arrow.DataType(arrow.BinaryTypes.String)
		if n == "ts" {
			typ = arrow.PrimitiveTypes.Int64
		}
		fs = append(fs, arrow.Field{Name: n, Type: typ, Nullable: true})
	}
	schema := arrow.NewSchema(fs, nil)
	for i, n := 0, 0; i < len(rows); i, n = i+per, n+1 {
		writeParquetRows(t, filepath.Join(dir, fmt.Sprintf("part-%05d.parquet", n)), schema, rows[i:min(i+per, len(rows))])
	}
}

// writeParquetRows writes rows (text, \N for null) as one Parquet file
// of schema's string and int64 columns.
func writeParquetRows(t *testing.T, path string, schema *arrow.Schema, rows [][]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		for c, v := range r {
			switch fb := b.Field(c).(type) {
			case *array.StringBuilder:
				if v == `\N` {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			case *array.Int64Builder:
				var x int64
				if _, err := fmt.Sscan(v, &x); err != nil {
					fb.AppendNull()
				} else {
					fb.Append(x)
				}
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, out, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// collect runs the transform and returns every output as lines, by
// "name" or "name/part".
func (f *fixture) collect(t *testing.T, layer string, period string) (map[string][]string, *Summary, error) {
	t.Helper()
	got := map[string][]string{}
	sum, err := Stream(context.Background(), Options{Config: f.cfg, Layer: layer, Period: naming.MustPeriod(period), Log: quiet}, func(hour string, out Output) error {
		k := out.Name
		if out.Part != "" {
			k += "/" + out.Part
		}
		for r := 0; r < int(out.Rec.NumRows()); r++ {
			got[k] = append(got[k], string(AppendLine(nil, out.Rec, r, '|', "")))
		}
		return nil
	})
	return got, sum, err
}

func firstFields(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.SplitN(l, "|", 2)[0])
	}
	return out
}

func TestRoutingByDomainRules(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 3, true)
	got, sum, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	for _, iface := range []string{"51007", "51006", "51010"} {
		if ids := firstFields(got[iface]); !reflect.DeepEqual(ids, wantRouting[iface]) {
			t.Errorf("%s got %v, want %v", iface, ids, wantRouting[iface])
		}
	}
	// The cleaned values of row e1 (51007): Android, Samsung UA via leadeon,
	// Jiangsu IP, decrypted mobile, wt_av fallback, pageId cut to 19,
	// empty channelId -> null, ts as written.
	want := "e1|Android|10|leadeon|江苏省|南京市|13800138000|APP_android_9.5.0|1234567890123456789||1"
	if got["51007"][0] != want {
		t.Errorf("51007 row e1\n got %s\nwant %s", got["51007"][0], want)
	}
	// e5: $basic_userId with a value ending in == that is not valid -> null mobile.
	if l := got["51010"][1]; strings.Split(l, "|")[6] != "" || !strings.HasPrefix(l, "e5|iOS|14.4|WeChat|江苏省") {
		t.Errorf("51010 row e5: %s", l)
	}
	// e2: channelId cut to 12, wt_av kept from the attributes.
	if l := got["51006"][0]; !strings.HasSuffix(l, "|u2|APP_ios_1||CH0123456789|2") {
		t.Errorf("51006 row e2: %s", l)
	}
	tot := sum.Streams[0].Total
	// e7 goes to 51007 and 51010 but is routed once; e6 and e8 match nothing.
	if tot.Read != 8 || tot.Routed != 6 || tot.Filtered != 2 || tot.Rejected != 0 {
		t.Errorf("counts %+v", tot)
	}
	if r := sum.Rows["51010"]; r.Read != 8 || r.Written != 3 || r.Filtered != 5 || r.Check() != nil {
		t.Errorf("51010 rows %+v", r)
	}
}

func TestProvincePartitioning(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 4, false)
	got, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	// e1 comes from Jiangsu (250), e7 from Zhejiang (571).
	if !reflect.DeepEqual(firstFields(got["CM001/250"]), []string{"e1"}) || !reflect.DeepEqual(firstFields(got["CM001/571"]), []string{"e7"}) {
		t.Errorf("CM001 parts: %v", got)
	}
	if _, ok := got["CM001"]; ok {
		t.Error("a partitioned interface must not produce an unpartitioned output")
	}
	if got["CM001/250"][0] != "e1|250|13800138000" {
		t.Errorf("CM001 row: %s", got["CM001/250"][0])
	}
}

func TestNullPartition(t *testing.T) {
	f := newFixture(t, "text", nil)
	rows := sampleRows(t)[:1]
	rows[0][5] = "9.9.9.9" // no region
	f.writeText(t, "07", rows, 4, false)
	got, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if len(got["CM001/"+NullPart]) != 1 {
		t.Errorf("a row without a province goes to the %q part: %v", NullPart, got)
	}
}

// Parquet and text inputs of the same rows give identical ADS output.
func TestParquetAndTextGiveSameADS(t *testing.T) {
	rows := sampleRows(t)
	ft := newFixture(t, "text", nil)
	ft.writeText(t, "07", rows, 5, true)
	fp := newFixture(t, "parquet", nil)
	fp.writeParquet(t, "07", rows, 5)
	gt, st, err := ft.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	gp, sp, err := fp.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gt, gp) {
		t.Errorf("text and parquet differ\n text %v\n parq %v", gt, gp)
	}
	if st.Streams[0].Total.Routed != sp.Streams[0].Total.Routed || len(gt) < 4 {
		t.Errorf("counts differ: %+v vs %+v", st.Streams[0].Total, sp.Streams[0].Total)
	}
}

// Output order does not depend on the number of workers, readers or the
// batch size: pack numbers files from it.
func TestOutputOrderIsDeterministic(t *testing.T) {
	var rows [][]string
	base := sampleRows(t)
	for i := 0; i < 300; i++ {
		r := append([]string(nil), base[i%len(base)]...)
		r[0] = fmt.Sprintf("r%04d", i)
		rows = append(rows, r)
	}
	var ref map[string][]string
	for _, w := range []struct{ workers, readers, batch string }{{"1", "1", "1000"}, {"4", "3", "7"}, {"3", "1", "2"}} {
		f := newFixture(t, "text", func(y string) string {
			return strings.NewReplacer("batch_rows: 3", "batch_rows: "+w.batch, "workers: 3", "workers: "+w.workers, "readers: 2", "readers: "+w.readers).Replace(y)
		})
		f.writeText(t, "07", rows[:150], 40, true)
		f.writeText(t, "08", rows[150:], 33, false)
		got, _, err := f.collectHours(t) // hours 07 and 08, in order
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = got
			continue
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("workers %s readers %s batch %s changed the output", w.workers, w.readers, w.batch)
		}
	}
	// Rows 0 and 6 of every 8 are 51007's (e1, e7): r0000, r0006, r0008, ... r0296
	if len(ref["51007"]) != 75 || !strings.HasPrefix(ref["51007"][0], "r0000|") || !strings.HasPrefix(ref["51007"][74], "r0296|") {
		t.Errorf("51007 got %d rows, first %q", len(ref["51007"]), ref["51007"][0])
	}
}

// collectHours runs hours 07 and 08 and concatenates them in order.
func (f *fixture) collectHours(t *testing.T) (map[string][]string, *Summary, error) {
	all := map[string][]string{}
	var last *Summary
	for _, h := range []string{"2024121207", "2024121208"} {
		got, sum, err := f.collect(t, LayerADS, h)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range got {
			all[k] = append(all[k], v...)
		}
		last = sum
	}
	return all, last, nil
}

func TestAccountingWithRejects(t *testing.T) {
	f := newFixture(t, "text", nil)
	rows := sampleRows(t)
	var lines [][]string
	lines = append(lines, rows[0])
	lines = append(lines, []string{"short", "row"})                          // wrong field count
	lines = append(lines, append(append([]string{}, rows[1][:8]...), "12x")) // bad bigint
	lines = append(lines, rows[2:]...)
	f.writeText(t, "07", lines, 100, true)
	_, sum, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	tot := sum.Streams[0].Total
	if tot.Read != 9 || tot.Rejected != 2 || tot.Read != tot.Routed+tot.Filtered+tot.Rejected {
		t.Fatalf("counts %+v", tot)
	}
	if h := sum.Streams[0].Hours["2024121207"]; h.Read != 9 || h.Rejected != 2 {
		t.Errorf("hour counts %+v", h)
	}
	if sum.Rejects == "" {
		t.Fatal("no reject file")
	}
	data, err := os.ReadFile(sum.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	rj := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(rj) != 2 ||
		!strings.HasPrefix(rj[0], "ods/events/dt=20241212/hour=07/000000_0.gz:2: 2 fields, want 9: ") ||
		!strings.Contains(rj[1], ":3: field 9 (ts) \"12x\" is not a int64") {
		t.Errorf("reject file:\n%s", data)
	}
	if sum.Streams[0].Inputs[0].Lines != 9 {
		t.Errorf("input lines %+v", sum.Streams[0].Inputs)
	}
}

func TestAccountingFailureIsReported(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 100, false)
	once := false
	testHookCounts = func(c *Counts) { // a row lost between stages
		if !once && c.Filtered > 0 {
			c.Filtered--
			once = true
		}
	}
	defer func() { testHookCounts = nil }()
	_, sum, err := f.collect(t, LayerADS, "2024121207")
	if err == nil || !strings.Contains(err.Error(), "rows do not reconcile: read 8 != routed 6 + filtered 1 + rejected 0") {
		t.Fatalf("want the broken identity reported, got %v", err)
	}
	if sum == nil || sum.Check() == nil {
		t.Error("the summary must show the failure too")
	}
}

func TestMissingPartitionIsNotReady(t *testing.T) {
	f := newFixture(t, "text", nil)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "hour=07") {
		t.Fatalf("want exit 4 naming the partition, got %d %v", exit.Code(err), err)
	}
}

func TestRuntimeErrorNamesColumnAndBatch(t *testing.T) {
	f := newFixture(t, "text", func(y string) string {
		return strings.Replace(y, `filter: data_source_id in ["h5prov"]`, `filter: nvl(data_source_id, true) != "x" && data_source_id in ["h5prov"]`, 1)
	})
	rows := sampleRows(t)
	rows[3][1] = `\N` // true != "x" fails at run time
	f.writeText(t, "07", rows, 100, false)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	if err == nil || !strings.Contains(err.Error(), "ads 51010 filter") || !strings.Contains(err.Error(), "000000_0 (batch from line 4)") {
		t.Fatalf("got %v", err)
	}
}

func TestRunStageWritesParquetAndSummary(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 3, true)
	// A failed earlier run left a part file in .partial: it must not be
	// moved into place.
	stale := filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207.partial", "part-00009.parquet")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("junk"), 0o644)
	for _, layer := range []string{LayerADS, LayerDWD, LayerADS} { // ADS twice: a rerun replaces
		sum, err := Run(context.Background(), Options{Config: f.cfg, Layer: layer, Period: naming.MustPeriod("2024121207"), Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		for _, o := range sum.Outputs {
			rows += readParquetRows(t, filepath.Join(StageDir(f.work, layer), o.Path))
		}
		var want int64
		for _, r := range sum.Rows {
			want += r.Written
		}
		if rows != want || rows == 0 {
			t.Errorf("%s: parquet holds %d rows, summary says %d", layer, rows, want)
		}
		var back Summary
		data, err := os.ReadFile(filepath.Join(StageDir(f.work, layer), "2024121207.summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &back); err != nil || back.Check() != nil {
			t.Fatalf("summary: %v %v", err, back.Check())
		}
	}
	// The staged 51007 file holds exactly the rows routed to it, in order.
	// Staged rows hold decrypted mobile numbers: owner only.
	if st, err := os.Stat(filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207", "part-00001.parquet")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("staged parquet mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if ids := readParquetColumn(t, filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207", "part-00001.parquet"), "event_id"); !reflect.DeepEqual(ids, wantRouting["51007"]) {
		t.Errorf("staged 51007 event ids %v, want %v", ids, wantRouting["51007"])
	}
	if _, err := os.Stat(filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207", "part-00009.parquet")); !os.IsNotExist(err) {
		t.Error("a stale part file from a failed run was published")
	}
	cm := filepath.Join(StageDir(f.work, LayerADS), "CM001", "2024121207")
	parts, _ := os.ReadDir(cm)
	var names []string
	for _, p := range parts {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "250,571" {
		t.Errorf("CM001 stage parts %v", names)
	}
	if _, err := os.Stat(filepath.Join(StageDir(f.work, LayerDWD), "events", "2024121207", "part-00001.parquet")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207.partial")); !os.IsNotExist(err) {
		t.Error("a .partial folder was left behind")
	}
}

// readParquetTable reads a whole Parquet file (the caller releases it).
func readParquetTable(t *testing.T, path string) arrow.Table {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// readParquetColumn reads one string column of a Parquet file.
func readParquetColumn(t *testing.T, path, col string) []string {
	t.Helper()
	tbl := readParquetTable(t, path)
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(col)
	if len(idx) == 0 {
		t.Fatalf("%s has no column %s", path, col)
	}
	var out []string
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		a := chunk.(*array.String)
		for i := 0; i < a.Len(); i++ {
			out = append(out, a.Value(i))
		}
	}
	return out
}

func readParquetRows(t *testing.T, path string) int64 {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.NumRows()
}

func TestDWDLayerColumns(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 100, false)
	got, sum, err := f.collect(t, LayerDWD, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if len(got["events"]) != 8 || sum.Streams[0].Total.Filtered != 0 || sum.Rows["events"].Written != 8 {
		t.Fatalf("dwd rows %d %+v", len(got["events"]), sum.Streams[0].Total)
	}
	// attributes dropped; ts stays a bigint; derived columns follow.
	first := strings.Split(got["events"][0], "|")
	if len(first) != 8+12 || first[7] != "1" || first[16] != "江苏省" {
		t.Errorf("dwd row %q", first)
	}
}

// A DWD table's ODS columns are the input's own: every value, null and
// empty string as read, with the ODS type, in every batch (both
// evaluators pass them through, so this checks them against the input).
func TestDWDPassesODSColumnsThrough(t *testing.T) {
	f := newFixture(t, "text", nil)
	rows := sampleRows(t)
	f.writeText(t, "07", rows, 3, false) // three files: three batches
	for _, mode := range []evalMode{evalVector, evalVM} {
		var got [][]string // by row: ODS name -> value, "<null>" for null
		_, err := Stream(context.Background(), Options{Config: f.cfg, Layer: LayerDWD, Period: naming.MustPeriod("2024121207"), Log: quiet, mode: mode},
			func(hour string, out Output) error {
				sch := out.Rec.Schema()
				for r := 0; r < int(out.Rec.NumRows()); r++ {
					row := make([]string, len(odsNames))
					for k, name := range odsNames {
						is := sch.FieldIndices(name)
						if len(is) == 0 {
							row[k] = "<dropped>"
							continue
						}
						col := out.Rec.Column(is[0])
						if !arrow.TypeEqual(col.DataType(), sch.Field(is[0]).Type) {
							return fmt.Errorf("column %s is %s, the schema says %s", name, col.DataType(), sch.Field(is[0]).Type)
						}
						if name == "ts" && col.DataType().ID() != arrow.INT64 {
							return fmt.Errorf("ts is %s, want the ODS bigint", col.DataType())
						}
						switch {
						case col.IsNull(r):
							row[k] = "<null>"
						case col.DataType().ID() == arrow.INT64:
							row[k] = fmt.Sprint(col.(*array.Int64).Value(r))
						default:
							row[k] = strings.Clone(col.(*array.String).Value(r)) // the batch is recycled after the sink
						}
					}
					got = append(got, row)
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("mode %d: %d rows, want %d", mode, len(got), len(rows))
		}
		for i, in := range rows {
			for k, name := range odsNames {
				want := in[k]
				if want == `\N` {
					want = "<null>"
				}
				if name == "attributes" {
					want = "<dropped>"
				}
				if got[i][k] != want {
					t.Errorf("mode %d row %d %s: %q, want %q", mode, i+1, name, got[i][k], want)
				}
			}
		}
	}
}

// The column-at-a-time evaluator and expr's VM row by row give the same
// output, on the test spec and on the 51007 bench spec over generated
// rows (with its defects: bad escapes, truncated JSON, bad mobiles).
// runMode runs a layer of cfg for period with one evaluator and returns
// each output's lines by "<name>/<part>".
func runMode(cfg *config.Config, layer, period string, mode evalMode) (map[string][]string, error) {
	got := map[string][]string{}
	_, err := Stream(context.Background(), Options{Config: cfg, Layer: layer, Period: naming.MustPeriod(period), Log: quiet, mode: mode},
		func(hour string, out Output) error {
			k := out.Name + "/" + out.Part
			for r := 0; r < int(out.Rec.NumRows()); r++ {
				got[k] = append(got[k], string(AppendLine(nil, out.Rec, r, '|', `\N`)))
			}
			return nil
		})
	return got, err
}

func TestEvalModesAgree(t *testing.T) {
	run := func(cfg *config.Config, period string, mode evalMode) map[string][]string {
		got, err := runMode(cfg, LayerADS, period, mode)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 3, false)
	vec, vm := run(f.cfg, "2024121207", evalVector), run(f.cfg, "2024121207", evalVM)
	if !reflect.DeepEqual(vec, vm) {
		t.Errorf("test spec:\nvector %v\n    vm %v", vec, vm)
	}
	cfg, _ := benchConfig(t, 3000)
	streams, err := buildPlan(cfg.Transform, LayerADS, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := openShared(t, cfg.Transform)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := newEvaluator(streams[0], sh, memory.DefaultAllocator, evalVector); err != nil || ev.vmNodes != 0 || ev.v == nil {
		t.Fatalf("every bench expression should run column at a time (err %v)", err)
	}
	b := run(cfg, "2024121207", evalVM)
	for name, a := range map[string]map[string][]string{"vector": run(cfg, "2024121207", evalVector)} {
		if len(a["51007/"]) < 1000 {
			t.Fatalf("%s: bench spec routed only %d rows", name, len(a["51007/"]))
		}
		for k := range b {
			if len(a[k]) != len(b[k]) {
				t.Fatalf("%s: %s has %d rows, vm %d", name, k, len(a[k]), len(b[k]))
			}
			for i := range b[k] {
				if a[k][i] != b[k][i] {
					t.Fatalf("%s: %s row %d:\n%s\n  vm %s", name, k, i, a[k][i], b[k][i])
				}
			}
		}
	}
}

// With batches of thousands of rows, column-at-a-time evaluation spans
// several windows per batch: every interface (overlapping filters, a
// computed partition column whose parts change from window to window) and
// the DWD table come out as expr's VM gives them row by row. Two extra
// columns: a comparison (a boxed sql_gt call) and map indexing (a boxed
// sql_index call), one of them the input of a later one.
func TestEvalModesAgreeAcrossWindows(t *testing.T) {
	f := newFixture(t, "text", func(y string) string {
		y = strings.Replace(y, "batch_rows: 3", "batch_rows: 2500", 1)
		y = strings.Replace(y, `        wt_av: nvl(`, `        ua_kind: 'length(user_agent) > 60 ? concat("long:", nvl(os, "-")) : "short"'
        kv: str_to_map(concat("k=", ua_kind), ",", "=")["k"]
        wt_av: nvl(`, 1)
		return strings.Replace(y, "        channel_id: channel_id\n", "        channel_id: channel_id\n        kv: kv\n", 1)
	})
	if ev := f.evaluator(t); ev.vmNodes != 0 {
		t.Fatalf("want every expression in the column evaluator (the map index is a boxed sql_index call), got %d on the VM", ev.vmNodes)
	}
	var rows [][]string
	sample := sampleRows(t)
	for i := 0; i < 3000; i++ {
		r := append([]string(nil), sample[(i*7+i/100)%len(sample)]...)
		r[0] = fmt.Sprintf("e%d", i)
		if i%13 == 0 {
			r[6] = fmt.Sprintf("210315_QYCS_%d", i) // 51010, not 51006
		}
		rows = append(rows, r)
	}
	f.writeText(t, "07", rows, 1800, false)
	run := func(layer string, mode evalMode) map[string][]string {
		got, err := runMode(f.cfg, layer, "2024121207", mode)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, layer := range []string{LayerADS, LayerDWD} {
		vm := run(layer, evalVM)
		if n := len(vm["51007/"]) + len(vm["events/"]); n < 700 {
			t.Fatalf("%s: only %d rows came out", layer, n)
		}
		var all []string
		for _, l := range vm {
			all = append(all, l...)
		}
		if j := strings.Join(all, "\n"); layer == LayerADS && (!strings.Contains(j, "|long:Android|") || !strings.Contains(j, "|long:iOS|") || !strings.Contains(j, "|short|")) {
			t.Fatalf("the kv column is not what the spec says: %q", vm["51007/"][:3])
		}
		if layer == LayerADS && len(vm) < 5 {
			t.Fatalf("want every interface and several CM001 parts, got %d outputs", len(vm))
		}
		for _, mode := range []evalMode{evalVector} {
			got := run(layer, mode)
			for k := range vm {
				if !reflect.DeepEqual(got[k], vm[k]) {
					t.Fatalf("%s mode %d: %s differs from the VM's (%d rows, VM %d)", layer, mode, k, len(got[k]), len(vm[k]))
				}
			}
			if len(got) != len(vm) {
				t.Fatalf("%s mode %d: outputs %d, VM %d", layer, mode, len(got), len(vm))
			}
		}
	}
}

// evaluator compiles the fixture's first stream for the ADS layer.
func (f *fixture) evaluator(t *testing.T) *evaluator {
	t.Helper()
	streams, err := buildPlan(f.cfg.Transform, LayerADS, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := openShared(t, f.cfg.Transform)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := newEvaluator(streams[0], sh, memory.DefaultAllocator, evalVector)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// With ready: marker, an hour without its _SUCCESS is not read (exit 4).
func TestReadyMarkerIsRequired(t *testing.T) {
	f := newFixture(t, "text", func(y string) string {
		return strings.Replace(y, `local: {type: file, root:`, `local: {type: file, ready: marker, root:`, 1)
	})
	if f.cfg.Sources["local"].Ready != "marker" {
		t.Fatal("fixture edit did not apply")
	}
	f.writeText(t, "07", sampleRows(t), 100, false)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "partition not ready: ods/events/dt=20241212/hour=07: no _SUCCESS marker") {
		t.Fatalf("want exit 4 for a missing marker, got %d %v", exit.Code(err), err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "ods/events/dt=20241212/hour=07/_SUCCESS"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, sum, err := f.collect(t, LayerADS, "2024121207")
	if err != nil || len(got["51007"]) != 2 || sum.Streams[0].Total.Read != 8 {
		t.Fatalf("with the marker: %v %v", err, got)
	}
}

// Partition values taken straight from an input column survive the
// recycling of the input batch's buffers (many small batches, a part per
// data_source_id).
func TestPartitionValuesOutliveTheirBatch(t *testing.T) {
	f := newFixture(t, "text", func(y string) string {
		return strings.Replace(y, "    CM001:\n", `    CM002:
      from: events
      partition: data_source_id
      columns:
        event_id: event_id
        data_source_id: data_source_id
    CM001:
`, 1)
	})
	var rows [][]string
	base := sampleRows(t)
	for i := 0; i < 60; i++ {
		r := append([]string(nil), base[i%len(base)]...)
		r[0] = fmt.Sprintf("r%02d", i)
		rows = append(rows, r)
	}
	f.writeText(t, "07", rows, 7, true)
	// Buffer reuse depends on the workers' timing: several runs.
	for run := 0; run < 20; run++ {
		got, _, err := f.collect(t, LayerADS, "2024121207")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		n := 0
		for k, lines := range got {
			part, ok := strings.CutPrefix(k, "CM002/")
			if !ok {
				continue
			}
			for _, l := range lines {
				n++
				if ds := strings.Split(l, "|")[1]; ds != part {
					t.Fatalf("run %d: row %s of data_source_id %s filed under part %q", run, l, ds, part)
				}
			}
		}
		if n != 60 {
			t.Fatalf("run %d: CM002 got %d rows, want 60", run, n)
		}
	}
}

// A failing sink stops the run (no goroutine left blocked) and is reported.
func TestSinkErrorStopsTheRun(t *testing.T) {
	f := newFixture(t, "text", nil)
	var rows [][]string
	for i := 0; i < 40; i++ {
		rows = append(rows, sampleRows(t)[i%8])
	}
	f.writeText(t, "07", rows, 5, true)
	calls := 0
	_, err := Stream(context.Background(), Options{Config: f.cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet},
		func(string, Output) error {
			calls++
			if calls == 3 {
				return fmt.Errorf("disk full")
			}
			return nil
		})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("want the sink's error, got %v", err)
	}
}

// A corrupt gzip file fails the run with the file's name.
func TestCorruptInputNamesTheFile(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 100, true)
	p := filepath.Join(f.root, "ods/events/dt=20241212/hour=07/000000_0.gz")
	data, _ := os.ReadFile(p)
	for i := 20; i < len(data)-8; i++ {
		data[i] ^= 0x5a
	}
	os.WriteFile(p, data, 0o644)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "000000_0.gz") {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}

// A standalone run that fails after its lanes wrote Parquet files (here:
// the accounting check at the end) publishes nothing and removes its
// <period>.partial folders, not only on the next run.
func TestRunStageFailureRemovesPartial(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 3, true)
	once := false
	testHookCounts = func(c *Counts) {
		if !once && c.Filtered > 0 {
			c.Filtered--
			once = true
		}
	}
	defer func() { testHookCounts = nil }()
	_, err := Run(context.Background(), Options{Config: f.cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet})
	if err == nil || !strings.Contains(err.Error(), "rows do not reconcile") {
		t.Fatalf("err = %v", err)
	}
	filepath.WalkDir(StageDir(f.work, LayerADS), func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".partial") || strings.HasSuffix(p, ".parquet")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// CRLF input (also with the CR and LF in different members of a
// multi-member gzip, and a last line without its newline) gives the same
// outputs and counts as LF input: the '\r' is not part of the last field.
func TestCRLFInputEqualsLF(t *testing.T) {
	lf := newFixture(t, "text", nil)
	lf.writeText(t, "07", sampleRows(t), 100, false)
	want, wsum, err := lf.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	crlf := newFixture(t, "text", nil)
	var lines []string
	for _, r := range sampleRows(t) {
		lines = append(lines, strings.Join(r, "\x01"))
	}
	text := strings.Join(lines, "\r\n")    // the last line ends without a newline
	cut := strings.Index(text, "\r\n") + 1 // between a CR and its LF
	gzOf := func(s string) []byte {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(s))
		zw.Close()
		return z.Bytes()
	}
	dir := filepath.Join(crlf.root, "ods/events/dt=20241212/hour=07")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "000000_0.gz"), append(gzOf(text[:cut]), gzOf(text[cut:])...), 0o644)
	got, gsum, err := crlf.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CRLF outputs differ:\n got %q\nwant %q", got, want)
	}
	if gsum.Streams[0].Total.Read != wsum.Streams[0].Total.Read || gsum.Streams[0].Total.Rejected != wsum.Streams[0].Total.Rejected {
		t.Errorf("counts %+v, want %+v", gsum.Streams[0].Total, wsum.Streams[0].Total)
	}
}

// A line longer than the bound (a file without line breaks) fails the run
// naming the file and line, instead of growing memory without limit.
func TestOverlongLineFails(t *testing.T) {
	old := maxLine
	maxLine = 2 << 20
	defer func() { maxLine = old }()
	f := newFixture(t, "text", nil)
	dir := filepath.Join(f.root, "ods/events/dt=20241212/hour=07")
	os.MkdirAll(dir, 0o755)
	var lines []string
	for _, r := range sampleRows(t) {
		lines = append(lines, strings.Join(r, "\x01"))
	}
	os.WriteFile(filepath.Join(dir, "000000_0"), []byte(lines[0]+"\n"+strings.Repeat("x", 5<<20)+"\n"), 0o644)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	if err == nil || !strings.Contains(err.Error(), "000000_0: line 2 is longer than 2097152 bytes") {
		t.Fatalf("err = %v", err)
	}
}

// A truncated gzip input says so, with the file, the compressed offset
// where it ends and the line reached; a corrupt one names the offset.
func TestTruncatedAndCorruptGzipInput(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 100, true)
	p := filepath.Join(f.root, "ods/events/dt=20241212/hour=07/000000_0.gz")
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data[:len(data)-12], 0o644)
	_, _, err := f.collect(t, LayerADS, "2024121207")
	if err == nil || !strings.Contains(err.Error(), "truncated gzip input ods/events/dt=20241212/hour=07/000000_0.gz: the compressed stream ends at byte") {
		t.Errorf("truncated: %v", err)
	}
	for i := 20; i < len(data)-8; i++ {
		data[i] ^= 0x5a
	}
	os.WriteFile(p, data, 0o644)
	_, _, err = f.collect(t, LayerADS, "2024121207")
	if err == nil || !strings.Contains(err.Error(), "corrupt gzip input ods/events/dt=20241212/hour=07/000000_0.gz at compressed byte offset") {
		t.Errorf("corrupt: %v", err)
	}
}

// streamSource hides the ReaderAt of local files, as an HDFS stream does.
type streamSource struct{ *source.Local }

func (s streamSource) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rc, err := s.Local.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{rc, rc}, nil
}

// Parquet from a source that cannot seek (HDFS) is spooled to an unlinked
// file under the workdir, not read whole into memory; the outputs equal
// those of a seekable source and nothing is left in the spool folder.
func TestParquetFromAStreamIsSpooled(t *testing.T) {
	rows := sampleRows(t)
	f := newFixture(t, "parquet", nil)
	f.writeParquet(t, "07", rows, 5)
	want, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	var spooled []string
	var mu sync.Mutex // readers spool files at once
	testHookSpooled = func(name string) {
		mu.Lock()
		spooled = append(spooled, name)
		mu.Unlock()
	}
	defer func() { testHookSpooled = nil }()
	got := map[string][]string{}
	_, err = Stream(context.Background(), Options{Config: f.cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet,
		Source: func(string) (source.Source, error) { return streamSource{&source.Local{Root: f.root}}, nil }},
		func(hour string, out Output) error {
			k := out.Name
			if out.Part != "" {
				k += "/" + out.Part
			}
			for r := 0; r < int(out.Rec.NumRows()); r++ {
				got[k] = append(got[k], string(AppendLine(nil, out.Rec, r, '|', "")))
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spooled outputs differ:\n got %v\nwant %v", got, want)
	}
	if len(spooled) != 2 || !strings.HasPrefix(spooled[0], filepath.Join(f.work, "stage", ".spool")) {
		t.Errorf("spooled %v, want the 2 input files under the workdir", spooled)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.work, "stage", ".spool")); len(ents) != 0 {
		t.Errorf("left in the spool folder: %v", ents)
	}
}

// The window stamp wraps after 2^32 windows without a stale derived value
// being taken for a computed one.
func TestWindowStampWraps(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 100, false)
	want, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	ev := f.evaluator(t)
	ev.v.win = ^uint32(0) // the next window's stamp wraps to 0, then 1
	for i := range ev.v.done {
		for j := range ev.v.done[i] {
			// What window 1, 2^32 windows ago, left behind.
			ev.v.done[i][j], ev.v.dv[i][j] = 1, funcs.Str("STALE")
		}
	}
	streams, _ := buildPlan(f.cfg.Transform, LayerADS, nil)
	src, files, err := listInputs(context.Background(), Options{Config: f.cfg, Period: naming.MustPeriod("2024121207")}, streams[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][]string
	for range 2 { // the wrapped window, then one more
		var ch *chunk
		readText(context.Background(), src, files[0].info.Path, "07", 1<<20, func(c *chunk) error { ch = c; return nil })
		rec, _ := newDecoder(memory.DefaultAllocator, streams[0].schema, 1, `\N`).decode(ch)
		out, err := ev.eval(LayerADS, rec)
		if err != nil {
			t.Fatal(err)
		}
		got = map[string][]string{}
		for _, o := range out.outs {
			k := o.Name
			if o.Part != "" {
				k += "/" + o.Part
			}
			for r := 0; r < int(o.Rec.NumRows()); r++ {
				got[k] = append(got[k], string(AppendLine(nil, o.Rec, r, '|', "")))
			}
		}
		releaseOuts(out)
		rec.Release()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("window stamp %d:\n got %v\nwant %v", ev.v.win, got, want)
		}
	}
	if ev.v.win != 2 {
		t.Fatalf("stamp %d after the wrap, want 2", ev.v.win)
	}
}
