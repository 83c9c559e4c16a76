package hdfstest

import (
	"crypto/md5"
	"encoding/binary"
	"hash/crc32"
)

// FileChecksum computes, the simple way and block by block, the file
// checksum HDFS reports (FileReader.Checksum, MD5-of-MD5-of-CRC): the MD5
// over each block's MD5 of the CRC of every bpc-byte chunk (CRC with
// table: Castagnoli for CRC32C, crc32.IEEETable for CRC32), zero padded
// to a power of two of at least 32 bytes. Tests use it as the reference
// for the client's checksum and for chama's streaming one.
func FileChecksum(data []byte, block, bpc int, table *crc32.Table) []byte {
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
