package transfer

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// reference computes the file checksum the simple way, block by block.
func reference(data []byte, block, bpc int, table *crc32.Table) []byte {
	outer := md5.New()
	total, padded := 0, 32
	for s := 0; s < len(data); s += block {
		b := data[s:min(s+block, len(data))]
		inner := md5.New()
		for c := 0; c < len(b); c += bpc {
			inner.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b[c:min(c+bpc, len(b))], table)))
		}
		outer.Write(inner.Sum(nil))
		total += 16
		if padded < total {
			padded *= 2
		}
	}
	outer.Write(make([]byte, padded-total))
	return outer.Sum(nil)
}

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
