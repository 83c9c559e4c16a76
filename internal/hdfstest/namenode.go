package hdfstest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Exception classes the client interprets.
const (
	standbyException      = "org.apache.hadoop.ipc.StandbyException"
	fileNotFoundException = "java.io.FileNotFoundException"
	noSuchMethodException = "org.apache.hadoop.ipc.RpcNoSuchMethodException"
	ioException           = "java.io.IOException"
)

// RpcResponseHeaderProto status and error codes (RpcHeader.proto).
const (
	rpcSuccess          = 0
	rpcError            = 1
	rpcFatal            = 2
	errApplication      = 1
	errNoSuchMethod     = 2
	fatalInvalidHeader  = 12
	fatalUnauthorized   = 15
	maxRPCPacket        = 64 << 20
	handshakeCallID     = -3
	connectionContextID = handshakeCallID
)

// Namenode is one namenode of a test cluster.
type Namenode struct {
	c       *Cluster
	index   int
	ln      net.Listener
	standby atomic.Bool
	calls   sync.Map // method -> *atomic.Int64
	t       tracker
	stopped atomic.Bool
	conns   atomic.Int64
	delay   atomic.Int64 // before each answer, in ns
	done    chan struct{}
}

func startNamenode(c *Cluster, i int) (*Namenode, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	n := &Namenode{c: c, index: i, ln: ln, done: make(chan struct{})}
	n.t.wg.Add(1)
	go n.accept()
	return n, nil
}

// Addr is host:port.
func (n *Namenode) Addr() string { return n.ln.Addr().String() }

// SetDelay makes the namenode wait d before answering each call (a hung
// or overloaded namenode); 0 removes the delay.
func (n *Namenode) SetDelay(d time.Duration) { n.delay.Store(int64(d)) }

// SetStandby makes the namenode answer every call with a
// StandbyException (as the standby of an HA pair does), or stop doing so.
func (n *Namenode) SetStandby(v bool) { n.standby.Store(v) }

// Stop closes the listener and every connection: clients see connection
// refused from then on.
func (n *Namenode) Stop() {
	if n.stopped.Swap(true) {
		return
	}
	close(n.done)
	n.ln.Close()
	n.t.closeAll()
	n.t.wg.Wait()
}

// Connections is how many client connections the namenode accepted.
func (n *Namenode) Connections() int64 { return n.conns.Load() }

// Calls is how many times method was called on this namenode (including
// calls refused as standby).
func (n *Namenode) Calls(method string) int64 {
	v, ok := n.calls.Load(method)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (n *Namenode) count(method string) {
	v, _ := n.calls.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (n *Namenode) accept() {
	defer n.t.wg.Done()
	for {
		conn, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.conns.Add(1)
		n.t.add(conn)
		n.t.wg.Add(1)
		go func() {
			defer n.t.wg.Done()
			defer n.t.remove(conn)
			defer conn.Close()
			n.serve(conn)
		}()
	}
}

// serve speaks one client connection: the 7-byte preamble ("hrpc",
// version 9, service class, auth protocol), the connection context, then
// calls until the client goes away.
func (n *Namenode) serve(conn net.Conn) {
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriterSize(conn, 64<<10)
	pre := make([]byte, 7)
	if _, err := io.ReadFull(r, pre); err != nil {
		return
	}
	if string(pre[:4]) != "hrpc" || pre[4] != 9 {
		return // not Hadoop RPC v9: a real server answers with a version error and closes
	}
	if pre[6] != 0 {
		// SASL (Kerberos/token) is not supported: answer FATAL_UNAUTHORIZED.
		n.reply(w, -33, nil, rpcFatal, "org.apache.hadoop.security.AccessControlException", "hdfstest: SASL authentication is not supported", fatalUnauthorized)
		return
	}
	user := ""
	for {
		var size uint32
		if err := binary.Read(r, binary.BigEndian, &size); err != nil {
			return
		}
		if size > maxRPCPacket {
			return
		}
		pkt := make([]byte, size)
		if _, err := io.ReadFull(r, pkt); err != nil {
			return
		}
		parts, err := splitDelimited(pkt)
		if err != nil || len(parts) < 2 {
			return
		}
		// RpcRequestHeaderProto: callId = 3 (sint32), clientId = 4.
		hdr, err := decode(parts[0])
		if err != nil {
			return
		}
		cid, _ := get(hdr, 3)
		callID := int32(int64(cid.v>>1) ^ -int64(cid.v&1))
		clientID, _ := get(hdr, 4)
		if callID == connectionContextID {
			// IpcConnectionContextProto: userInfo = 2 { effectiveUser = 1 }.
			if cc, err := decode(parts[1]); err == nil {
				if ui, ok := get(cc, 2); ok {
					if uf, err := decode(ui.b); err == nil {
						if eu, ok := get(uf, 1); ok {
							user = string(eu.b)
						}
					}
				}
			}
			continue
		}
		// RequestHeaderProto: methodName = 1.
		rh, err := decode(parts[1])
		if err != nil {
			return
		}
		mf, _ := get(rh, 1)
		method := string(mf.b)
		var req []byte
		if len(parts) > 2 {
			req = parts[2]
		}
		n.count(method)
		if d := time.Duration(n.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-n.done:
				return
			}
		}
		if n.standby.Load() {
			n.reply(w, callID, clientID.b, rpcError, standbyException, "Operation category READ is not supported in state standby", errApplication)
		} else {
			resp, exc, msg := n.call(method, req, user)
			switch {
			case exc == noSuchMethodException:
				n.reply(w, callID, clientID.b, rpcError, exc, msg, errNoSuchMethod)
			case exc != "":
				n.reply(w, callID, clientID.b, rpcError, exc, msg, errApplication)
			default:
				n.replyOK(w, callID, clientID.b, resp)
			}
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// RpcResponseHeaderProto fields: callId = 1, status = 2,
// serverIpcVersionNum = 3, exceptionClassName = 4, errorMsg = 5,
// errorDetail = 6, clientId = 7.
func (n *Namenode) replyOK(w *bufio.Writer, callID int32, clientID []byte, resp pb) {
	h := pb(nil).uint(1, uint64(uint32(callID))).uint(2, rpcSuccess).uint(3, 9).bytes(7, clientID)
	writePacket(w, h, resp)
}

func (n *Namenode) reply(w *bufio.Writer, callID int32, clientID []byte, status int, exc, msg string, detail int) {
	h := pb(nil).uint(1, uint64(uint32(callID))).uint(2, uint64(status)).uint(3, 9).
		str(4, exc).str(5, msg).uint(6, uint64(detail)).bytes(7, clientID)
	writePacket(w, h)
	w.Flush()
}

func writePacket(w *bufio.Writer, msgs ...pb) {
	var body []byte
	for _, m := range msgs {
		body = delimited(body, m)
	}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(body)))
	w.Write(l[:])
	w.Write(body)
}

// call runs one ClientProtocol method; it returns the response message,
// or an exception class and message.
func (n *Namenode) call(method string, req []byte, user string) (pb, string, string) {
	fields, err := decode(req)
	if err != nil {
		return nil, ioException, "bad request: " + err.Error()
	}

	str := func(num protowire.Number) string {
		f, _ := get(fields, num)
		return string(f.b)
	}
	switch method {
	case "getFileInfo":
		// GetFileInfoRequestProto: src = 1. Response: fs = 1 (absent: no such file).
		src := str(1)
		e, err := n.c.stat(src)
		if notFound(err) {
			return pb{}, "", ""
		}
		if err != nil {
			return nil, ioException, err.Error()
		}
		e.name = "" // getFileInfo answers with an empty local name
		return pb(nil).msg(1, n.status(src, e, user)), "", ""
	case "getListing":
		// GetListingRequestProto: src = 1, startAfter = 2, needLocation = 3.
		// Response: dirList = 1 { partialListing = 1, remainingEntries = 2 }.
		src := str(1)
		after := str(2)
		e, err := n.c.stat(src)
		if notFound(err) {
			return pb{}, "", ""
		}
		if err != nil {
			return nil, ioException, err.Error()
		}
		var entries []entry
		if e.dir {
			if entries, err = n.c.readDir(src); err != nil {
				return nil, ioException, err.Error()
			}
		} else {
			entries = []entry{e}
		}
		start := 0
		for start < len(entries) && after != "" && entries[start].name <= after {
			start++
		}
		end := min(start+n.c.opts.ListLimit, len(entries))
		var dl pb
		for _, x := range entries[start:end] {
			dl = dl.msg(1, n.status(joinPath(src, x.name), x, user))
		}
		dl = dl.uint(2, uint64(len(entries)-end))
		return pb(nil).msg(1, dl), "", ""
	case "getBlockLocations":
		// GetBlockLocationsRequestProto: src = 1, offset = 2, length = 3.
		// Response: locations = 1 (LocatedBlocksProto).
		src := str(1)
		e, err := n.c.stat(src)
		if notFound(err) {
			return nil, fileNotFoundException, "File does not exist: " + src
		}
		if err != nil {
			return nil, ioException, err.Error()
		}
		if e.dir {
			return nil, fileNotFoundException, "Path is not a file: " + src
		}
		off, _ := get(fields, 2)
		length, _ := get(fields, 3)
		return pb(nil).msg(1, n.locatedBlocks(src, e.size, int64(off.v), int64(length.v))), "", ""
	case "getServerDefaults":
		// FsServerDefaultsProto: blockSize = 1, bytesPerChecksum = 2,
		// writePacketSize = 3, replication = 4, fileBufferSize = 5,
		// encryptDataTransfer = 6, trashInterval = 7, checksumType = 8.
		d := pb(nil).uint(1, uint64(n.c.opts.BlockSize)).uint(2, uint64(n.c.opts.BytesPerChecksum)).
			uint(3, 64<<10).uint(4, uint64(n.c.opts.Replication)).uint(5, 4096).
			boolean(6, false).uint(7, 0).uint(8, func() uint64 { _, t := n.c.crc(); return t }())
		return pb(nil).msg(1, d), "", ""
	case "renewLease":
		return pb{}, "", ""
	case "create":
		return n.create(fields, user)
	case "addBlock":
		return n.addBlock(fields)
	case "abandonBlock":
		return n.abandonBlock(fields)
	case "updateBlockForPipeline":
		return n.updateBlockForPipeline(fields)
	case "complete":
		return n.complete(fields)
	case "mkdirs":
		return n.mkdirsCall(fields)
	case "delete":
		return n.delete(fields)
	case "rename2":
		return n.rename2(fields)
	case "rename":
		return n.renameOld(fields)
	case "setPermission":
		return n.setPermission(fields)
	}
	return nil, noSuchMethodException, fmt.Sprintf("Unknown method %s called on org.apache.hadoop.hdfs.protocol.ClientProtocol protocol (not served by hdfstest)", method)
}

// HdfsFileStatusProto: fileType = 1 (1 dir, 2 file), path = 2, length = 3,
// permission = 4 { perm = 1 }, owner = 5, group = 6, modification_time =
// 7, access_time = 8, block_replication = 10, blocksize = 11, fileId =
// 13, childrenNum = 14.
// The permission is 0644 / 0755 unless set (create, mkdirs,
// setPermission); a file being written keeps the id it was created with.
func (n *Namenode) status(full string, e entry, user string) pb {
	id, ok := n.c.openID(full)
	if !ok {
		id = fileID(full)
	}
	return n.statusWithID(id, full, e, user, n.c.perm(full, e.dir))
}

func (n *Namenode) statusWithID(id uint64, full string, e entry, user string, perm uint64) pb {
	typ := uint64(2)
	if e.dir {
		typ = 1
	}
	ms := uint64(e.mtime.UnixMilli())
	s := pb(nil).uint(1, typ).str(2, e.name).uint(3, uint64(e.size)).
		msg(4, pb(nil).uint(1, perm)).str(5, user).str(6, "supergroup").
		uint(7, ms).uint(8, ms)
	if !e.dir {
		s = s.uint(10, uint64(n.c.opts.Replication)).uint(11, uint64(n.c.opts.BlockSize))
	}
	return s.uint(13, id)
}

// locatedBlocks is LocatedBlocksProto: fileLength = 1, blocks = 2,
// underConstruction = 3, isLastBlockComplete = 5.
func (n *Namenode) locatedBlocks(src string, size, off, length int64) pb {
	bs := n.c.opts.BlockSize
	lb := pb(nil).uint(1, uint64(size))
	for i := int64(0); i*bs < size; i++ {
		start := i * bs
		end := min(start+bs, size)
		if end <= off || (length > 0 && start >= off+length) {
			continue
		}
		lb = lb.msg(2, n.locatedBlock(src, int(i), start, end-start))
	}
	return lb.boolean(3, false).boolean(5, true)
}

// LocatedBlockProto: b = 1 (ExtendedBlockProto: poolId = 1, blockId = 2,
// generationStamp = 3, numBytes = 4), offset = 2, locs = 3, corrupt = 4,
// blockToken = 5 (TokenProto: identifier = 1, password = 2, kind = 3,
// service = 4), storageTypes = 7, storageIDs = 8.
func (n *Namenode) locatedBlock(src string, index int, off, size int64) pb {
	id := n.c.blockID(src, index)
	dns := n.c.Datanodes
	// Rotate the replica order by block so reads spread over datanodes.
	locs := make([]*Datanode, n.c.opts.Replication)
	for k := range locs {
		locs[k] = dns[(index+k)%len(dns)]
	}
	return located(id, genStamp, off, size, locs)
}

func located(id, gs uint64, off, size int64, locs []*Datanode) pb {
	b := pb(nil).str(1, blockPool).uint(2, id).uint(3, gs).uint(4, uint64(size))
	m := pb(nil).msg(1, b).uint(2, uint64(off))
	for _, d := range locs {
		m = m.msg(3, d.info())
	}
	m = m.boolean(4, false)
	m = m.msg(5, pb(nil).bytes(1, nil).bytes(2, nil).str(3, "").str(4, ""))
	for range locs {
		m = m.uint(7, 1) // DISK
	}
	for _, d := range locs {
		m = m.str(8, d.storageID())
	}
	return m
}

const (
	blockPool      = "BP-1-127.0.0.1-hdfstest"
	genStamp       = 1001
	checksumCRC32  = 1
	checksumCRC32C = 2
)

func joinPath(dir, name string) string {
	if dir == "/" || dir == "" {
		return "/" + name
	}
	return string(bytes.TrimRight([]byte(dir), "/")) + "/" + name
}

// notFound: a missing path, or a path through a file, does not exist.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
