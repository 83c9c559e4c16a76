package transform

import (
	"context"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/chama-data/chama/naming"
)

// An ADS column that copies an ODS bigint is staged as INT64 with the
// values the text path writes; the other columns stay text.
func TestStageTypesBigintColumns(t *testing.T) {
	f := newFixture(t, "text", nil)
	f.writeText(t, "07", sampleRows(t), 3, false)
	lines, _, err := f.collect(t, LayerADS, "2024121207")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Config: f.cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(StageDir(f.work, LayerADS), "51007", "2024121207", "part-00001.parquet")
	tbl := readParquetTable(t, p)
	defer tbl.Release()
	s := tbl.Schema()
	ts := s.FieldIndices("ts")[0]
	if s.Field(ts).Type.ID() != arrow.INT64 || s.Field(s.FieldIndices("event_id")[0]).Type.ID() != arrow.STRING {
		t.Fatalf("staged schema %v: want ts INT64, event_id text", s)
	}
	var got []string
	for _, c := range tbl.Column(ts).Data().Chunks() {
		a := c.(*array.Int64)
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				got = append(got, "")
			} else {
				got = append(got, strconv.FormatInt(a.Value(i), 10))
			}
		}
	}
	// ts is the last column of the text lines (| separated).
	var want []string
	for _, l := range lines["51007"] {
		i := len(l) - 1
		for i >= 0 && l[i] != '|' {
			i--
		}
		want = append(want, l[i+1:])
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("staged ts %v, text path %v", got, want)
	}
}

// dictColumns takes a column that repeats its values and leaves one that
// does not, and a batch too small to judge.
func TestDictColumnsPicksRepeatingColumns(t *testing.T) {
	mk := func(n int, val func(i int) string) arrow.Array {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append(val(i))
		}
		return b.NewArray()
	}
	batch := func(n int) arrow.RecordBatch {
		prov := mk(n, func(i int) string { return []string{"250", "100", "571"}[i%3] })
		id := mk(n, func(i int) string { return "e" + strconv.Itoa(i) })
		defer prov.Release()
		defer id.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: "prov", Type: arrow.BinaryTypes.String}, {Name: "event_id", Type: arrow.BinaryTypes.String}}, nil)
		return array.NewRecordBatch(schema, []arrow.Array{prov, id}, int64(n))
	}
	rec := batch(1000)
	defer rec.Release()
	if got := dictColumns(rec); !reflect.DeepEqual(got, []string{"prov"}) {
		t.Errorf("dictColumns = %v, want [prov]", got)
	}
	// With stage_dictionary, the staged file has a dictionary page for
	// prov and none for event_id.
	root := t.TempDir()
	st := newStager(root, "2024121207", 1<<40, compress.Codecs.Snappy)
	st.dict = true
	if err := st.write(Output{Layer: LayerADS, Name: "CM001", Rec: rec}); err != nil {
		t.Fatal(err)
	}
	if err := st.commit([]string{"CM001"}); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(filepath.Join(root, "CM001", "2024121207", "part-00001.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for i, want := range []bool{true, false} {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if cc.HasDictionaryPage() != want {
			t.Errorf("column %d: dictionary page %v, want %v", i, cc.HasDictionaryPage(), want)
		}
	}

	small := batch(10)
	defer small.Release()
	if got := dictColumns(small); len(got) != 0 {
		t.Errorf("a 10-row batch: dictColumns = %v, want none", got)
	}
}
