package source

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
)

// Verifier is a Source that can prove a copy whole: NewHash returns a
// hash of the kind the store keeps for a file, fed with the bytes as they
// are read, and Sum returns the store's own size and value for the file
// as it is now. A copy is whole when both agree.
type Verifier interface {
	NewHash(ctx context.Context, path string) (hash.Hash, error)
	Sum(ctx context.Context, path string) (size int64, sum []byte, err error)
}

// AltVerifier is a Verifier whose store may have used another kind of
// checksum for some files: when a copy's hash does not match, AltHashes
// gives fresh hashes of the other kinds to recompute from the copy before
// calling it a mismatch (HDFS files written with CRC32 instead of CRC32C).
type AltVerifier interface {
	Verifier
	AltHashes(ctx context.Context, path string) ([]hash.Hash, error)
}

// RangeOpener is a Source that can read part of a file, so a very large
// file can be pulled as several ranges at once.
type RangeOpener interface {
	OpenRange(ctx context.Context, path string, off, n int64) (io.ReadCloser, error)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HDFSChecksum computes, from a file's bytes, the checksum
// github.com/colinmarc/hdfs FileReader.Checksum returns for it: per block,
// the MD5 of the big-endian CRC32C of each bytesPerCRC chunk (what a
// datanode answers to blockChecksum), then the MD5 of those block MD5s
// followed by zero padding up to a power of two of at least 32 bytes.
// It is a hash.Hash; Sum does not disturb further writes.
type HDFSChecksum struct {
	blockSize int64
	bpc       int64
	table     *crc32.Table

	inBlock int64 // bytes of the current block so far
	inChunk int64 // bytes of the current chunk so far
	crc     uint32
	block   hash.Hash // MD5 of the current block's CRCs
	blocks  [][]byte  // finished block MD5s
	buf     [4]byte
}

// NewHDFSChecksumCRC returns a checksum for a file cut into blocks of
// blockSize with a CRC every bytesPerCRC bytes (HDFS: 512), computed with
// table: castagnoli for CRC32C, the default,
// or crc32.IEEETable for files written with dfs.checksum.type CRC32.
func NewHDFSChecksumCRC(blockSize int64, bytesPerCRC int, table *crc32.Table) *HDFSChecksum {
	return &HDFSChecksum{blockSize: blockSize, bpc: int64(bytesPerCRC), table: table, block: md5.New()}
}

// Write adds bytes; it never fails.
func (c *HDFSChecksum) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := int64(len(p))
		k = min(k, c.bpc-c.inChunk, c.blockSize-c.inBlock)
		c.crc = crc32.Update(c.crc, c.table, p[:k])
		c.inChunk += k
		c.inBlock += k
		p = p[k:]
		if c.inChunk == c.bpc || c.inBlock == c.blockSize {
			c.endChunk()
		}
		if c.inBlock == c.blockSize {
			c.blocks = append(c.blocks, c.block.Sum(nil))
			c.block.Reset()
			c.inBlock = 0
		}
	}
	return n, nil
}

func (c *HDFSChecksum) endChunk() {
	binary.BigEndian.PutUint32(c.buf[:], c.crc)
	c.block.Write(c.buf[:])
	c.crc, c.inChunk = 0, 0
}

// Sum appends the file checksum of the bytes written so far to b.
func (c *HDFSChecksum) Sum(b []byte) []byte {
	blocks := c.blocks
	if c.inBlock > 0 {
		// The partial last block is closed on a copy, so writes may go on.
		blocks = append(blocks[:len(blocks):len(blocks)], c.lastBlockSum())
	}
	outer := md5.New()
	total, padded := 0, 32
	for _, s := range blocks {
		outer.Write(s)
		total += len(s)
		if padded < total {
			padded *= 2
		}
	}
	outer.Write(make([]byte, padded-total))
	return outer.Sum(b)
}

// lastBlockSum is the MD5 of the partial last block, its open chunk
// included, without changing c.
func (c *HDFSChecksum) lastBlockSum() []byte {
	// crypto/md5 state is cloned through its binary marshaler.
	state, _ := c.block.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	h := md5.New()
	h.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(state)
	if c.inChunk > 0 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], c.crc)
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// Reset forgets everything written.
func (c *HDFSChecksum) Reset() {
	*c = HDFSChecksum{blockSize: c.blockSize, bpc: c.bpc, table: c.table, block: md5.New()}
}

// Size is the checksum length (MD5).
func (c *HDFSChecksum) Size() int { return md5.Size }

// BlockSize is the write granularity hint.
func (c *HDFSChecksum) BlockSize() int { return int(c.bpc) }
