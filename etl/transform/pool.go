package transform

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator recycles Arrow buffers: every batch's builders allocate
// the same sizes again, and with Go's allocator that garbage (about 2 KB a
// row with builder growth) drove the GC hard enough to cost a sixth of the
// run. Buffers come in power-of-two classes; each class keeps at most
// poolKeep free buffers, so the pool never holds more than a few batches.
// Buffers are zeroed on reuse, as Go's allocator would give them.
type poolAllocator struct {
	classes [40]poolClass
}

type poolClass struct {
	mu   sync.Mutex
	free [][]byte
}

const (
	poolMinShift = 6 // 64 bytes, which also keeps buffers 64-byte aligned
	poolKeep     = 64
	poolMaxShift = 28 // larger buffers are left to the GC
	// poolKeepBytes lets small classes keep more than poolKeep buffers:
	// a batch of 51 string columns needs 150 buffers, several batches
	// are in flight, and a dry pool means fresh zeroed allocations.
	poolKeepBytes = 32 << 20
)

func newPoolAllocator() *poolAllocator { return &poolAllocator{} }

func poolShift(size int) int {
	if size <= 1<<poolMinShift {
		return poolMinShift
	}
	return bits.Len(uint(size - 1))
}

func (p *poolAllocator) Allocate(size int) []byte {
	sh := poolShift(size)
	if sh > poolMaxShift {
		return make([]byte, size)
	}
	c := &p.classes[sh]
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		c.mu.Unlock()
		b = b[:size:size] // Reallocate never grows past the cap, so the rest stays unseen
		clear(b)
		return b
	}
	c.mu.Unlock()
	// Power-of-two sizes from 64 bytes up are 64-byte aligned in Go's heap.
	return make([]byte, 1<<sh)[:size:size]
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	sh := poolShift(cap(b))
	if sh > poolMaxShift {
		return
	}
	// Allocate handed out class-sized arrays with the capacity cut to the
	// request; Arrow frees a buffer only through the allocator that made
	// it, so the whole array is recovered.
	full := unsafe.Slice(unsafe.SliceData(b), 1<<sh)
	c := &p.classes[sh]
	c.mu.Lock()
	if len(c.free) < max(poolKeep, poolKeepBytes>>sh) {
		c.free = append(c.free, full)
	}
	c.mu.Unlock()
}

var _ memory.Allocator = (*poolAllocator)(nil)
