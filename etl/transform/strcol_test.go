package transform

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gatherStr copies runs of consecutive rows at once; it must give what a
// row-by-row append gives, whatever the runs, gaps and nulls, also when
// the source array is a slice (offsets not starting at 0) and the column
// already holds values.
func TestGatherStrMatchesRowByRow(t *testing.T) {
	mem := memory.DefaultAllocator
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		b := array.NewStringBuilder(mem)
		n := 1 + rng.IntN(300)
		for i := range n + 5 {
			if rng.IntN(10) == 0 {
				b.AppendNull()
			} else {
				b.Append(fmt.Sprintf("v%d-%s", i, "xyz"[:rng.IntN(4)]))
			}
		}
		full := b.NewStringArray()
		b.Release()
		a := array.NewSlice(full, 5, int64(n+5)).(*array.String) // offsets start past 0
		full.Release()
		var sel []int32
		keep := 1 + rng.IntN(10) // from almost every row to few
		for r := range n {
			if rng.IntN(10) < keep {
				sel = append(sel, int32(r))
			}
		}
		got, want := newStrCol(mem, 4, 8), newStrCol(mem, 4, 8)
		got.append("before")
		want.append("before")
		got.gatherStr(a, sel)
		for _, r := range sel {
			if a.IsNull(int(r)) {
				want.appendNull()
			} else {
				want.append(a.Value(int(r)))
			}
		}
		ga, wa := got.finish().(*array.String), want.finish().(*array.String)
		if !array.Equal(ga, wa) {
			t.Fatalf("trial %d (%d rows, %d selected): got %v, want %v", trial, n, len(sel), ga, wa)
		}
		if ga.NullN() != wa.NullN() {
			t.Fatalf("trial %d: %d nulls, want %d", trial, ga.NullN(), wa.NullN())
		}
		ga.Release()
		wa.Release()
		a.Release()
	}
}
