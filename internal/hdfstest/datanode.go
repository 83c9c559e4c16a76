package hdfstest

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DataTransferProtocol constants (datatransfer.proto and the Java
// DataTransferProtocol): version 28, op codes, statuses (the write path's
// are in datanode_write.go).
const (
	dataTransferVersion = 28
	opReadBlock         = 81
	opBlockChecksum     = 85
	statusSuccess       = 0
	statusError         = 1
	statusErrorInvalid  = 3
	packetData          = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fault is what a datanode does wrong; the zero value is a healthy node.
type Fault struct {
	// Down: every connection is closed at once, before any answer.
	Down bool
	// CloseAfter > 0: a block read is cut (connection closed) after this
	// many data bytes.
	CloseAfter int64
	// Times limits CloseAfter to that many reads (0: every read).
	Times int
	// PacketDelay is slept before each data packet sent, and before each
	// ack of a packet received (a slow node).
	PacketDelay time.Duration
	// BadChecksum makes blockChecksum answer a wrong MD5.
	BadChecksum bool
	// CutWriteAfter > 0: a block write is cut (connection closed, no
	// ack) once the block would pass this many bytes; the bytes before
	// stay on disk, as a dying datanode leaves them.
	CutWriteAfter int64
}

// Datanode is one datanode of a test cluster.
type Datanode struct {
	c       *Cluster
	index   int
	ln      net.Listener
	t       tracker
	stopped atomic.Bool
	done    chan struct{}

	mu    sync.Mutex
	fault Fault
	cuts  int

	reads         atomic.Int64 // readBlock ops started
	bytesSent     atomic.Int64
	writes        atomic.Int64 // writeBlock ops started
	bytesReceived atomic.Int64
}

func startDatanode(c *Cluster, i int) (*Datanode, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	d := &Datanode{c: c, index: i, ln: ln, done: make(chan struct{})}
	d.t.wg.Add(1)
	go d.accept()
	return d, nil
}

// Addr is host:port of the data-transfer port.
func (d *Datanode) Addr() string { return d.ln.Addr().String() }

// SetFault replaces the node's fault.
func (d *Datanode) SetFault(f Fault) {
	d.mu.Lock()
	d.fault, d.cuts = f, 0
	d.mu.Unlock()
}

// Reads is how many readBlock operations the node started.
func (d *Datanode) Reads() int64 { return d.reads.Load() }

// BytesSent is how many block data bytes the node sent.
func (d *Datanode) BytesSent() int64 { return d.bytesSent.Load() }

// Writes is how many writeBlock operations the node started.
func (d *Datanode) Writes() int64 { return d.writes.Load() }

// BytesReceived is how many block data bytes the node received and
// acknowledged.
func (d *Datanode) BytesReceived() int64 { return d.bytesReceived.Load() }

// Stop closes the listener and every connection.
func (d *Datanode) Stop() {
	if d.stopped.Swap(true) {
		return
	}
	close(d.done)
	d.ln.Close()
	d.t.closeAll()
	d.t.wg.Wait()
}

func (d *Datanode) port() int {
	return d.ln.Addr().(*net.TCPAddr).Port
}

func (d *Datanode) storageID() string { return "DS-hdfstest-" + strconv.Itoa(d.index) }

// info is DatanodeInfoProto: id = 1 (DatanodeIDProto: ipAddr = 1,
// hostName = 2, datanodeUuid = 3, xferPort = 4, infoPort = 5, ipcPort = 6).
func (d *Datanode) info() pb {
	id := pb(nil).str(1, "127.0.0.1").str(2, "localhost").str(3, fmt.Sprintf("hdfstest-dn-%d", d.index)).
		uint(4, uint64(d.port())).uint(5, 0).uint(6, 0)
	return pb(nil).msg(1, id)
}

func (d *Datanode) currentFault() Fault {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault
}

// cut reports whether this read is to be cut after f.CloseAfter bytes.
func (d *Datanode) cut() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.fault
	if f.CloseAfter <= 0 {
		return 0
	}
	if f.Times > 0 && d.cuts >= f.Times {
		return 0
	}
	d.cuts++
	return f.CloseAfter
}

func (d *Datanode) accept() {
	defer d.t.wg.Done()
	for {
		conn, err := d.ln.Accept()
		if err != nil {
			return
		}
		if d.currentFault().Down {
			conn.Close()
			continue
		}
		d.t.add(conn)
		d.t.wg.Add(1)
		go func() {
			defer d.t.wg.Done()
			defer d.t.remove(conn)
			defer conn.Close()
			d.serve(conn)
		}()
	}
}

// serve handles one operation: a 2-byte version, a 1-byte op code and a
// varint-prefixed request message.
func (d *Datanode) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	w := bufio.NewWriterSize(conn, 256<<10)
	defer w.Flush()
	var head [3]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return
	}
	if binary.BigEndian.Uint16(head[:2]) != dataTransferVersion {
		d.respond(w, pb(nil).uint(1, statusError).str(5, "hdfstest: unsupported data transfer version"))
		return
	}
	req, err := readDelimited(r, r, 1<<20)
	if err != nil {
		return
	}
	switch head[2] {
	case opReadBlock:
		d.readBlock(w, req)
	case opBlockChecksum:
		d.blockChecksum(w, req)
	case opWriteBlock:
		d.writeBlock(r, w, req)
	default:
		d.respond(w, pb(nil).uint(1, statusErrorInvalid).str(5, fmt.Sprintf("hdfstest: op %d is not supported", head[2])))
	}
}

func (d *Datanode) respond(w *bufio.Writer, m pb) {
	w.Write(delimited(nil, m))
}

// span is the part of a backing file one block covers now.
type span struct {
	key        blockKey
	file       string
	start, end int64
}

// locate resolves the block of an ExtendedBlockProto (poolId = 1,
// blockId = 2, generationStamp = 3, numBytes = 4).
func (d *Datanode) locate(eb []byte) (span, error) {
	fs, err := decode(eb)
	if err != nil {
		return span{}, err
	}
	idf, _ := get(fs, 2)
	k, ok := d.c.block(idf.v)
	if !ok {
		return span{}, fmt.Errorf("block %d is unknown", idf.v)
	}
	lp, err := d.c.local(k.path)
	if err != nil {
		return span{}, err
	}
	st, err := os.Stat(lp)
	if err != nil {
		return span{}, fmt.Errorf("replica of block %d (%s): %v", idf.v, k.path, err)
	}
	bs := d.c.opts.BlockSize
	start := int64(k.index) * bs
	end := min(start+bs, st.Size())
	if end < start {
		end = start
	}
	return span{key: k, file: lp, start: start, end: end}, nil
}

// baseBlock digs the ExtendedBlockProto out of a BaseHeaderProto
// (block = 1).
func baseBlock(base []byte) ([]byte, error) {
	fs, err := decode(base)
	if err != nil {
		return nil, err
	}
	b, ok := get(fs, 1)
	if !ok {
		return nil, fmt.Errorf("no block in header")
	}
	return b.b, nil
}

// failer answers a request with an error status and message.
func (d *Datanode) failer(w *bufio.Writer) func(format string, a ...any) {
	return func(format string, a ...any) {
		d.respond(w, pb(nil).uint(1, statusError).str(5, fmt.Sprintf(format, a...)))
	}
}

// blockOf finds the block a BaseHeaderProto names, answering the error
// through fail when it cannot.
func (d *Datanode) blockOf(baseHeader []byte, fail func(string, ...any)) (span, bool) {
	eb, err := baseBlock(baseHeader)
	if err != nil {
		fail("bad header: %v", err)
		return span{}, false
	}
	sp, err := d.locate(eb)
	if err != nil {
		fail("%v", err)
		return span{}, false
	}
	return sp, true
}

// readBlock serves OpReadBlockProto: header = 1 (ClientOperationHeaderProto:
// baseHeader = 1, clientName = 2), offset = 2, len = 3.
func (d *Datanode) readBlock(w *bufio.Writer, req []byte) {
	d.reads.Add(1)
	fail := d.failer(w)
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
	sp, ok := d.blockOf(bh.b, fail)
	if !ok {
		return
	}
	of, _ := get(fs, 2)
	lf, _ := get(fs, 3)
	off, n := int64(of.v), int64(lf.v)
	if off+n > sp.end-sp.start {
		fail("replica of %s block %d has %d bytes, %d wanted", sp.key.path, sp.key.index, sp.end-sp.start, off+n)
		return
	}
	if h := d.c.hook(); h != nil {
		h(sp.key.path, sp.key.index)
	}
	f, err := os.Open(sp.file)
	if err != nil {
		fail("%v", err)
		return
	}
	defer f.Close()
	bpc := int64(d.c.opts.BytesPerChecksum)
	chunkOff := off - off%bpc
	// BlockOpResponseProto: status = 1, readOpChecksumInfo = 4
	// (ReadOpChecksumInfoProto: checksum = 1 (ChecksumProto: type = 1,
	// bytesPerChecksum = 2), chunkOffset = 2).
	table, ctype := d.c.crc()
	ci := pb(nil).msg(1, pb(nil).uint(1, ctype).uint(2, uint64(bpc))).uint(2, uint64(chunkOff))
	d.respond(w, pb(nil).uint(1, statusSuccess).msg(4, ci))

	fault := d.currentFault()
	limit := d.cut()
	end := off + n
	data := make([]byte, packetData)
	sums := make([]byte, 0, packetData/int(bpc)*4)
	var sent int64
	seq := int64(0)
	for pos := chunkOff; pos < end; {
		size := min(int64(packetData), end-pos)
		// Packets carry whole chunks, except at the end of the range.
		if rem := size % bpc; rem != 0 && pos+size < end {
			size -= rem
		}
		buf := data[:size]
		if _, err := f.ReadAt(buf, sp.start+pos); err != nil {
			return // the file shrank under us: the client sees a cut stream
		}
		sums = sums[:0]
		for c := int64(0); c < size; c += bpc {
			sums = binary.BigEndian.AppendUint32(sums, crc32.Checksum(buf[c:min(c+bpc, size)], table))
		}
		if fault.PacketDelay > 0 {
			if w.Flush() != nil {
				return
			}
			select {
			case <-time.After(fault.PacketDelay):
			case <-d.done:
				return
			}
		}
		if limit > 0 && sent+size > limit {
			// Cut mid-packet: send the packet up to the limit and hang up.
			var tmp bytes.Buffer
			pw := bufio.NewWriter(&tmp)
			d.writePacket(pw, pos, seq, false, sums, buf)
			pw.Flush()
			w.Write(tmp.Bytes()[:int64(tmp.Len())-(sent+size-limit)])
			w.Flush()
			return
		}
		d.writePacket(w, pos, seq, false, sums, buf)
		sent += size
		d.bytesSent.Add(size)
		pos += size
		seq++
	}
	// The last, empty packet marks the end of the block.
	d.writePacket(w, end, seq, true, nil, nil)
}

// writePacket writes one packet: a 4-byte payload length (itself
// included), a 2-byte header length, PacketHeaderProto (offsetInBlock =
// 1, seqno = 2, lastPacketInBlock = 3, dataLen = 4), checksums, data.
func (d *Datanode) writePacket(w *bufio.Writer, off, seq int64, last bool, sums, data []byte) {
	h := pb(nil).fixed64(1, uint64(off)).fixed64(2, uint64(seq)).boolean(3, last).fixed32(4, uint32(len(data)))
	var pre [6]byte
	binary.BigEndian.PutUint32(pre[:4], uint32(4+len(sums)+len(data)))
	binary.BigEndian.PutUint16(pre[4:], uint16(len(h)))
	w.Write(pre[:])
	w.Write(h)
	w.Write(sums)
	w.Write(data)
}

// blockChecksum serves OpBlockChecksumProto: header = 1
// (BaseHeaderProto). The answer is BlockOpResponseProto with
// checksumResponse = 3 (OpBlockChecksumResponseProto: bytesPerCrc = 1,
// crcPerBlock = 2, blockChecksum = 3, crcType = 4): the MD5 of the
// block's chunk CRCs, computed from the bytes on disk now.
func (d *Datanode) blockChecksum(w *bufio.Writer, req []byte) {
	fail := d.failer(w)
	fs, err := decode(req)
	if err != nil {
		fail("bad request: %v", err)
		return
	}
	hf, _ := get(fs, 1)
	sp, ok := d.blockOf(hf.b, fail)
	if !ok {
		return
	}
	f, err := os.Open(sp.file)
	if err != nil {
		fail("%v", err)
		return
	}
	defer f.Close()
	bpc := int64(d.c.opts.BytesPerChecksum)
	table, ctype := d.c.crc()
	sum := md5.New()
	buf := make([]byte, 64*bpc)
	var crcs uint64
	var crc [4]byte
	for pos := sp.start; pos < sp.end; {
		n := min(int64(len(buf)), sp.end-pos)
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			fail("reading %s: %v", sp.key.path, err)
			return
		}
		for c := int64(0); c < n; c += bpc {
			binary.BigEndian.PutUint32(crc[:], crc32.Checksum(buf[c:min(c+bpc, n)], table))
			sum.Write(crc[:])
			crcs++
		}
		pos += n
	}
	md := sum.Sum(nil)
	if d.currentFault().BadChecksum {
		md[0] ^= 0xff
	}
	cr := pb(nil).uint(1, uint64(bpc)).uint(2, crcs).bytes(3, md).uint(4, ctype)
	d.respond(w, pb(nil).uint(1, statusSuccess).msg(3, cr))
}
