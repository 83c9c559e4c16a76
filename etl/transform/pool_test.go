package transform

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestPoolAllocatorReusesZeroedBuffers(t *testing.T) {
	p := newPoolAllocator()
	b := p.Allocate(100)
	if len(b) != 100 || cap(b) != 100 {
		t.Fatalf("len %d cap %d", len(b), cap(b))
	}
	for i := range b {
		b[i] = 0xff
	}
	p.Free(b)
	c := p.Allocate(120) // same 128-byte class
	if &c[0] != &b[0] {
		t.Fatal("a freed buffer of the same class was not reused")
	}
	for i, x := range c {
		if x != 0 {
			t.Fatalf("byte %d of a reused buffer is %#x, want 0", i, x)
		}
	}
	d := p.Reallocate(1000, c)
	if len(d) != 1000 || d[0] != 0 {
		t.Fatal("reallocate")
	}
	if e := p.Allocate(128); &e[0] != &c[0] {
		t.Fatal("reallocate did not free the old buffer")
	}
	big := p.Allocate(1 << 29) // above the pooled classes: left to the GC
	p.Free(big)
	if len(p.classes[29].free) != 0 {
		t.Fatal("huge buffers must not be pooled")
	}
}

func TestStrColBuildsArrowStrings(t *testing.T) {
	p := newPoolAllocator()
	c := newStrCol(p, 1, 1) // tiny hints: every append grows
	want := []any{"a", nil, "", "中国", nil}
	for i := 0; i < 300; i++ {
		switch v := want[i%len(want)].(type) {
		case nil:
			c.appendNull()
		case string:
			c.append(v)
		}
	}
	a := c.finish().(*array.String)
	defer a.Release()
	if a.Len() != 300 || a.NullN() != 120 {
		t.Fatalf("len %d nulls %d", a.Len(), a.NullN())
	}
	for i := 0; i < 300; i++ {
		w := want[i%len(want)]
		if w == nil {
			if !a.IsNull(i) {
				t.Fatalf("row %d should be null", i)
			}
			continue
		}
		if a.IsNull(i) || a.Value(i) != w.(string) {
			t.Fatalf("row %d = %q, want %q", i, a.Value(i), w)
		}
	}
	if err := a.ValidateFull(); err != nil {
		t.Fatal(err)
	}
}
