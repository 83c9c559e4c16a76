package transform

import (
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chama-data/chama/etl/funcs"
)

// strCol builds an Arrow string array straight into allocator memory:
// appending a value is a copy, an offset and (for nulls) a count. arrow's
// StringBuilder does the same through several layers per value, which was
// a sixth of the evaluation profile with 51 output columns.
type strCol struct {
	mem   memory.Allocator
	data  []byte // value bytes
	offs  []byte // int32 offsets, n+1 of them
	valid []byte // validity bitmap, one bit a row
	n     int
	size  int // bytes used in data
	nulls int
}

func newStrCol(mem memory.Allocator, rows, bytes int) *strCol {
	c := &strCol{mem: mem}
	c.data = mem.Allocate(max(bytes, 64))
	c.offs = mem.Allocate(4 * (max(rows, 16) + 1))
	c.valid = mem.Allocate((max(rows, 16) + 7) / 8)
	c.setOff(0, 0)
	return c
}

func (c *strCol) setOff(i, v int) {
	*(*int32)(unsafe.Pointer(&c.offs[4*i])) = int32(v)
}

func (c *strCol) grow(rows int) {
	if need := 4 * (rows + 1); need > len(c.offs) {
		c.offs = c.mem.Reallocate(max(need, 2*len(c.offs)), c.offs)
	}
	if need := (rows + 7) / 8; need > len(c.valid) {
		old := len(c.valid)
		c.valid = c.mem.Reallocate(max(need, 2*len(c.valid)), c.valid)
		clear(c.valid[old:])
	}
}

func (c *strCol) append(s string) {
	n := c.n
	if 4*(n+2) > len(c.offs) || n>>3 >= len(c.valid) || c.size+len(s) > len(c.data) {
		c.makeRoom(len(s))
	}
	c.size += copy(c.data[c.size:], s)
	c.valid[n>>3] |= 1 << (n & 7)
	c.n = n + 1
	*(*int32)(unsafe.Pointer(&c.offs[4*(n+1)])) = int32(c.size)
}

// makeRoom is append's slow path, kept out of line so that append's
// common case (room for one more value) stays small; decode and the
// ADS outputs call append tens of times a row.
func (c *strCol) makeRoom(bytes int) {
	c.grow(c.n + 1)
	if need := c.size + bytes; need > len(c.data) {
		c.data = c.mem.Reallocate(max(need, 2*len(c.data)), c.data)
	}
}

// gatherStr appends rows sel of a, in order, sizing the buffers once.
// A filter keeps most rows, so sel is mostly runs of consecutive rows:
// each run's bytes are one copy, and only offsets and validity go a row
// at a time.
func (c *strCol) gatherStr(a *array.String, sel []int32) {
	offs := a.ValueOffsets()
	data := a.ValueBytes()
	base := offs[0]
	total := 0
	for _, r := range sel {
		total += int(offs[r+1] - offs[r])
	}
	c.grow(c.n + len(sel))
	if need := c.size + total; need > len(c.data) {
		c.data = c.mem.Reallocate(max(need, 2*len(c.data)), c.data)
	}
	hasNulls := a.NullN() > 0
	for k := 0; k < len(sel); {
		r := sel[k]
		end := k + 1
		for end < len(sel) && sel[end] == sel[end-1]+1 {
			end++
		}
		last := sel[end-1]
		shift := int32(c.size) - (offs[r] - base)
		c.size += copy(c.data[c.size:], data[offs[r]-base:offs[last+1]-base])
		for row := r; row <= last; row++ {
			if hasNulls && a.IsNull(int(row)) {
				c.nulls++ // a null slot keeps the bytes it spans, if any
			} else {
				c.valid[c.n>>3] |= 1 << (c.n & 7)
			}
			c.n++
			c.setOff(c.n, int(offs[row+1]-base+shift))
		}
		k = end
	}
}

// appendVals appends vals[idx[k]-lo] for each k (every val when idx is
// nil). Offsets and validity are sized once for the window; the data
// buffer is checked a value, which costs less than a sizing pass over
// the window's 40-byte values.
func (c *strCol) appendVals(vals []funcs.Val, idx []int32, lo int) {
	n := len(vals)
	if idx != nil {
		n = len(idx)
	}
	c.grow(c.n + n)
	offs := unsafe.Slice((*int32)(unsafe.Pointer(&c.offs[0])), len(c.offs)/4)
	for k := 0; k < n; k++ {
		j := k
		if idx != nil {
			j = int(idx[k]) - lo
		}
		v := &vals[j]
		switch v.K {
		case funcs.KStr:
			if c.size+len(v.S) > len(c.data) {
				c.data = c.mem.Reallocate(max(c.size+len(v.S), 2*len(c.data)), c.data)
			}
			c.size += copy(c.data[c.size:], v.S)
		case funcs.KNull:
			c.nulls++
			c.n++
			offs[c.n] = int32(c.size)
			continue
		default:
			if i, ok := v.A.(int); ok {
				if c.size+24 > len(c.data) { // an int's digits
					c.data = c.mem.Reallocate(max(c.size+24, 2*len(c.data)), c.data)
				}
				c.size = len(strconv.AppendInt(c.data[:c.size], int64(i), 10))
			} else {
				c.append(funcs.ToString(v.A)) // neither string, null nor int
				continue
			}
		}
		c.valid[c.n>>3] |= 1 << (c.n & 7)
		c.n++
		offs[c.n] = int32(c.size)
	}
}

func (c *strCol) appendBytes(b []byte) { c.append(unsafe.String(unsafe.SliceData(b), len(b))) }

func (c *strCol) appendNull() {
	c.grow(c.n + 1)
	c.n++
	c.nulls++
	c.setOff(c.n, c.size)
}

// finish hands the buffers to a new array; the column must not be used
// afterwards.
func (c *strCol) finish() arrow.Array {
	bufs := []*memory.Buffer{
		memory.NewBufferWithAllocator(c.valid[:(c.n+7)/8], c.mem),
		memory.NewBufferWithAllocator(c.offs[:4*(c.n+1)], c.mem),
		memory.NewBufferWithAllocator(c.data[:c.size], c.mem),
	}
	if c.nulls == 0 {
		bufs[0].Release()
		bufs[0] = nil
	}
	d := array.NewData(arrow.BinaryTypes.String, c.n, bufs, nil, c.nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release() // the Data holds its own references
		}
	}
	a := array.MakeFromData(d)
	d.Release()
	c.data, c.offs, c.valid = nil, nil, nil
	return a
}

// release frees the buffers of a column that was never finished.
func (c *strCol) release() {
	for _, b := range [][]byte{c.data, c.offs, c.valid} {
		if b != nil {
			c.mem.Free(b)
		}
	}
	c.data, c.offs, c.valid = nil, nil, nil
}
