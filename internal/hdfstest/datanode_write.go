package hdfstest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Write-path constants: the op code, the statuses acks use, the block
// construction stage of a new block and the largest packet accepted (a
// datanode's limit).
const (
	opWriteBlock           = 80
	statusErrorChecksum    = 2
	statusErrorUnsupported = 7
	stageSetupCreate       = 6
	heartbeatSeqno         = -1
	maxWritePacket         = 16 << 20
)

// startWrite claims block id for a WRITE_BLOCK op: it must be the new,
// still empty, block of a file being written. It returns the backing
// file and where the block starts in it.
func (c *Cluster) startWrite(id uint64) (*wblock, *os.File, int64, error) {
	c.ns.Lock()
	defer c.ns.Unlock()
	b := c.w.writing[id]
	switch {
	case b == nil:
		return nil, nil, 0, fmt.Errorf("block %d is not a block of a file being written", id)
	case b.writers > 0 || b.received > 0:
		return nil, nil, 0, fmt.Errorf("block %d of %s already exists (no pipeline recovery in hdfstest)", id, b.file.path)
	}
	b.writers++
	return b, b.file.f, int64(b.index) * c.opts.BlockSize, nil
}

// endWrite records what a WRITE_BLOCK op received, before its last ack
// goes out (so the client's complete finds the block finished).
func (c *Cluster) endWrite(b *wblock, received int64) {
	c.ns.Lock()
	b.writers--
	b.received = received
	c.ns.Unlock()
}

// writeBlock serves OpWriteBlockProto: header = 1 (ClientOperationHeaderProto:
// baseHeader = 1, clientName = 2), targets = 2, stage = 4, pipelineSize =
// 5, minBytesRcvd = 6, maxBytesRcvd = 7, latestGenerationStamp = 8,
// requestedChecksum = 9 (ChecksumProto: type = 1, bytesPerChecksum = 2).
// Only a new block (PIPELINE_SETUP_CREATE) with no downstream targets is
// taken. After the BlockOpResponseProto come packets (as readBlock sends
// them), each answered with a PipelineAckProto once its bytes are on disk;
// the chunk CRCs are checked with the type and chunk size the client asked
// for (reads recompute them from the bytes, with the cluster's).
func (d *Datanode) writeBlock(r *bufio.Reader, w *bufio.Writer, req []byte) {
	d.writes.Add(1)
	fail := d.failer(w)
	unsupported := func(format string, a ...any) {
		d.respond(w, pb(nil).uint(1, statusErrorUnsupported).str(5, fmt.Sprintf(format, a...)))
	}
	fs, err := decode(req)
	if err != nil {
		fail("bad request: %v", err)
		return
	}
	hf, _ := get(fs, 1)
	ch, err := decode(hf.b)
	if err != nil {
		fail("bad header: %v", err)
		return
	}
	bh, _ := get(ch, 1)
	eb, err := baseBlock(bh.b)
	if err != nil {
		fail("bad header: %v", err)
		return
	}
	ebf, err := decode(eb)
	if err != nil {
		fail("bad block: %v", err)
		return
	}
	pool, _ := get(ebf, 1)
	idf, _ := get(ebf, 2)
	if string(pool.b) != blockPool {
		fail("block pool %q is not %q", pool.b, blockPool)
		return
	}
	if _, ok := get(fs, 2); ok {
		unsupported("hdfstest: write pipelines of more than one datanode are not supported")
		return
	}
	if stage, _ := get(fs, 4); stage.v != stageSetupCreate {
		unsupported("hdfstest: block construction stage %d is not supported (new blocks only: no append, no recovery)", stage.v)
		return
	}
	var table *crc32.Table
	bpc := int64(0)
	if cf, ok := get(fs, 9); ok {
		if cs, err := decode(cf.b); err == nil {
			t, _ := get(cs, 1)
			b, _ := get(cs, 2)
			bpc = int64(b.v)
			switch t.v {
			case checksumCRC32:
				table = crc32.IEEETable
			case checksumCRC32C:
				table = castagnoli
			}
		}
	}
	if table == nil || bpc <= 0 {
		unsupported("hdfstest: the requested checksum is not CRC32 or CRC32C with a chunk size")
		return
	}
	b, f, start, err := d.c.startWrite(idf.v)
	if err != nil {
		fail("%v", err)
		return
	}
	received := int64(0)
	ended := false
	defer func() {
		if !ended {
			d.c.endWrite(b, received)
		}
	}()
	// firstBadLink = 2, empty: the client reads at least 5 bytes.
	d.respond(w, pb(nil).uint(1, statusSuccess).str(2, ""))
	if w.Flush() != nil {
		return
	}

	fault := d.currentFault()
	limit := fault.CutWriteAfter
	ack := func(seq int64, status uint64) bool {
		if fault.PacketDelay > 0 {
			select {
			case <-time.After(fault.PacketDelay):
			case <-d.done:
				return false
			}
		}
		// PipelineAckProto: seqno = 1 (sint64), reply = 2,
		// downstreamAckTimeNanos = 3.
		d.respond(w, pb(nil).uint(1, protowire.EncodeZigZag(seq)).uint(2, status).uint(3, 0))
		return w.Flush() == nil
	}
	var buf []byte
	for {
		var pre [6]byte
		if _, err := io.ReadFull(r, pre[:]); err != nil {
			return // the client went away: the block keeps what it got
		}
		plen := int64(binary.BigEndian.Uint32(pre[:4]))
		hlen := int(binary.BigEndian.Uint16(pre[4:]))
		if plen < 4 || plen-4 > maxWritePacket {
			return
		}
		if need := hlen + int(plen-4); cap(buf) < need {
			buf = make([]byte, need)
		}
		buf = buf[:hlen+int(plen-4)]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		// PacketHeaderProto: offsetInBlock = 1, seqno = 2,
		// lastPacketInBlock = 3, dataLen = 4.
		hdr, err := decode(buf[:hlen])
		if err != nil {
			return
		}
		of, _ := get(hdr, 1)
		sf, _ := get(hdr, 2)
		lf, _ := get(hdr, 3)
		df, _ := get(hdr, 4)
		off, seq, last, dlen := int64(of.v), int64(sf.v), lf.v != 0, int64(int32(uint32(df.v)))
		body := buf[hlen:]
		if dlen < 0 || dlen > int64(len(body)) {
			return
		}
		if seq == heartbeatSeqno {
			if !ack(seq, statusSuccess) {
				return
			}
			continue
		}
		sums, data := body[:int64(len(body))-dlen], body[int64(len(body))-dlen:]
		switch {
		case int64(len(sums)) != (dlen+bpc-1)/bpc*4:
			ack(seq, statusError)
			return
		case off != received:
			// Packets come in order and without gaps; a resent packet
			// (recovery) is not supported.
			ack(seq, statusError)
			return
		case off+dlen > d.c.opts.BlockSize:
			ack(seq, statusError)
			return
		}
		for c := int64(0); c < dlen; c += bpc {
			if crc32.Checksum(data[c:min(c+bpc, dlen)], table) != binary.BigEndian.Uint32(sums[c/bpc*4:]) {
				ack(seq, statusErrorChecksum)
				return
			}
		}
		if limit > 0 && received+dlen > limit {
			// A node that dies mid-block: keep what fits, hang up.
			if n := limit - received; n > 0 {
				if _, err := f.WriteAt(data[:n], start+off); err == nil {
					received += n
				}
			}
			return
		}
		if _, err := f.WriteAt(data, start+off); err != nil {
			ack(seq, statusError)
			return
		}
		received += dlen
		d.bytesReceived.Add(dlen)
		if last {
			d.c.endWrite(b, received)
			ended = true
			ack(seq, statusSuccess)
			return
		}
		if !ack(seq, statusSuccess) {
			return
		}
	}
}
