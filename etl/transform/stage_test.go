package transform

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// stringBatch is a one-column batch of n values id<from>..., each padded
// to width bytes.
func stringBatch(from, n, width int) arrow.RecordBatch {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for i := from; i < from+n; i++ {
		v := fmt.Sprintf("id%07d", i)
		b.Append(v + strings.Repeat("x", max(0, width-len(v))))
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "event_id", Type: arrow.BinaryTypes.String}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
}

// stageBatches writes batches of the given sizes to one partitioned
// output and returns the published file's row groups and values.
func stageBatches(t *testing.T, sizes []int, width int) (groups []int64, ids []string) {
	t.Helper()
	root := t.TempDir()
	st := newStager(root, "2024121207", 1<<40, compress.Codecs.Snappy)
	from := 0
	for _, n := range sizes {
		rec := stringBatch(from, n, width)
		if err := st.write(Output{Layer: LayerADS, Name: "CM001", Part: "250", Rec: rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		from += n
	}
	if err := st.commit([]string{"CM001"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "CM001", "2024121207", "250", "part-00001.parquet")
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r.NumRowGroups(); i++ {
		groups = append(groups, r.MetaData().RowGroup(i).NumRows())
	}
	r.Close()
	ids = readParquetColumn(t, path, "event_id")
	for i, v := range ids {
		ids[i] = strings.TrimRight(v, "x")
	}
	return groups, ids
}

func wantIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("id%07d", i)
	}
	return out
}

// A partitioned output gets a few rows per batch and part: those batches
// must share row groups, not make one each.
func TestStageBuffersSmallBatchesIntoOneRowGroup(t *testing.T) {
	sizes := make([]int, 300)
	for i := range sizes {
		sizes[i] = 1 + i%7
	}
	groups, ids := stageBatches(t, sizes, 0)
	total := 0
	for _, n := range sizes {
		total += n
	}
	if !reflect.DeepEqual(groups, []int64{int64(total)}) {
		t.Errorf("row groups %v, want one of %d rows", groups, total)
	}
	if !reflect.DeepEqual(ids, wantIDs(total)) {
		t.Error("staged values are not the rows written, in order")
	}
}

// A row group closes once it holds its share of the budget (here the
// 16 MiB cap, one lane): 5 batches of ~6 MiB make groups of 3 and 2.
func TestStageClosesFullRowGroups(t *testing.T) {
	const n, width = 6000, 1000
	groups, ids := stageBatches(t, []int{n, n, n, n, n}, width)
	if !reflect.DeepEqual(groups, []int64{3 * n, 2 * n}) {
		t.Errorf("row groups %v, want [%d %d]", groups, 3*n, 2*n)
	}
	if !reflect.DeepEqual(ids, wantIDs(5*n)) {
		t.Error("staged values are not the rows written, in order")
	}
}

func TestStageGroupLimitSharesTheBudget(t *testing.T) {
	s := &stager{groupBudget: defaultGroupBudget}
	for _, c := range []struct {
		lanes int64
		want  int64
	}{{0, maxGroup}, {1, maxGroup}, {16, maxGroup}, {31, defaultGroupBudget / 31}, {93, defaultGroupBudget / 93}, {1000, defaultGroupBudget / 1000}, {10000, minGroup}} {
		s.nlanes.Store(c.lanes)
		if got := s.groupLimit(); got != c.want {
			t.Errorf("%d lanes: limit %d, want %d", c.lanes, got, c.want)
		}
	}
}

// A lane starts a new file once one holds stage_rows_per_file rows (at a
// batch boundary); buffered row groups are written into the file they
// belong to, and the files together hold every row in order.
func TestStageRollsFilesWithBufferedRowGroups(t *testing.T) {
	root := t.TempDir()
	st := newStager(root, "2024121207", 100, compress.Codecs.Snappy)
	for i := 0; i < 10; i++ {
		rec := stringBatch(30*i, 30, 0)
		if err := st.write(Output{Layer: LayerADS, Name: "51007", Rec: rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := st.commit([]string{"51007"}); err != nil {
		t.Fatal(err)
	}
	var rows []int64
	var ids []string
	for _, f := range st.files {
		rows = append(rows, f.Rows)
		p := filepath.Join(root, f.Path)
		if n := readParquetRows(t, p); n != f.Rows {
			t.Errorf("%s holds %d rows, the list says %d", f.Path, n, f.Rows)
		}
		ids = append(ids, readParquetColumn(t, p, "event_id")...)
	}
	if !reflect.DeepEqual(rows, []int64{120, 120, 60}) {
		t.Errorf("files of %v rows, want [120 120 60]", rows)
	}
	if !reflect.DeepEqual(ids, wantIDs(300)) {
		t.Error("the files do not hold the rows written, in order")
	}
}
