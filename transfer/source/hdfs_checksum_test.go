package source

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/chama-data/chama/internal/hdfstest"
)

// reference is the block-by-block checksum (hdfstest.FileChecksum).
var reference = hdfstest.FileChecksum

// Any split of the writes gives the same checksum, Sum midway does not
// disturb later writes, and Reset starts over.
func TestHDFSChecksumAnyWriteSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 511, 512, 513, 4096, 4097, 10_000, 70_001} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		for _, table := range []*crc32.Table{castagnoli, crc32.IEEETable} {
			want := reference(data, 4096, 512, table)
			c := NewHDFSChecksumCRC(4096, 512, table)
			for rest := data; len(rest) > 0; {
				n := min(1+r.IntN(3000), len(rest))
				c.Write(rest[:n])
				c.Sum(nil) // must not change the state
				rest = rest[n:]
			}
			if got := c.Sum(nil); !bytes.Equal(got, want) {
				t.Fatalf("size %d: %x, want %x", size, got, want)
			}
			c.Reset()
			c.Write(data)
			if got := c.Sum(nil); !bytes.Equal(got, want) {
				t.Fatalf("size %d after Reset: %x, want %x", size, got, want)
			}
		}
	}
	if bytes.Equal(reference([]byte("x"), 4096, 512, castagnoli), reference([]byte("x"), 4096, 512, crc32.IEEETable)) {
		t.Fatal("CRC32C and CRC32 checksums agree: the test cannot tell them apart")
	}
}
