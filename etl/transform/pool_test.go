package transform

import "testing"

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
