// Package hdfstest is a small HDFS server for tests: namenodes that speak
// Hadoop RPC (protocol version 9, protobuf engine) and datanodes that
// speak the DataTransferProtocol, both backed by one local folder. It is
// written from the public Hadoop .proto definitions so that chama's HDFS
// path can be exercised over the wire with the real
// github.com/colinmarc/hdfs/v2 client, without a Hadoop install.
//
// What it serves:
//   - namenode: getFileInfo, getListing (paged), getBlockLocations,
//     getServerDefaults and renewLease; for writes (write.go) create,
//     addBlock, abandonBlock, updateBlockForPipeline, complete, mkdirs,
//     delete, rename2, rename and setPermission. Every other method is
//     answered with RpcNoSuchMethodException.
//   - datanode: readBlock (op 81) with CRC32C chunk checksums (CRC32 with
//     Options.CRC32) in 64 KiB packets, blockChecksum (op 85: MD5 of
//     the block's chunk CRCs, as a real datanode computes it), and
//     writeBlock (op 80, datanode_write.go): a new block's packets, each
//     CRC-checked and acknowledged once on disk.
//
// How files map: HDFS path /a/b is <Root>/a/b. A file is cut into blocks
// of Options.BlockSize at the moment its locations are asked for; block
// ids are handed out per (path, block index) and stay stable for the
// life of the cluster. Every datanode can serve every block (they share
// the folder), so "replicas" are the same bytes and a file changed on disk
// changes every replica at once.
//
// How writes map: create makes the backing file at once (empty, visible,
// as HDFS shows a file under construction) and gives the client a lease;
// each addBlock names one datanode (a pipeline of one), which writes the
// block's bytes at their place in the backing file; complete checks the
// lengths the client reports against what the datanode received and
// closes the file. Every block but the last must be full (the client
// only ever sends full blocks), so that reads cut the file as it was
// written. The CRCs the client sends are checked, not stored: reads
// compute them again from the bytes, so a file written with CRC32C reads
// back with the cluster's checksum type. Namespace changes are
// serialized; rename2 is one rename(2), so replacing a file is atomic in
// the folder too. Permissions given by create, mkdirs and setPermission
// are remembered (not applied to the folder) and reported.
//
// Faults tests can inject: a namenode that is down (connection refused),
// standby (answers StandbyException) or hung (answers late), a datanode
// that is down, closes
// the connection after N bytes of a block read or write, sleeps between
// packets or acks, or reports a wrong block checksum, and a hook called
// when a block read starts (to change a file during a pull).
//
// Limits: no append, no truncate, no pipeline recovery and no write
// pipeline of more than one datanode, no hflush/hsync visibility rules,
// leases never expire (renewLease is accepted, nothing recovers a lease),
// no security (SASL/Kerberos handshakes and block tokens are refused or
// ignored; tokens are empty), no erasure coding, no snapshots, no
// short-circuit reads, one block pool, no owners (the owner is the user
// the client claims), and a file's block size must be the cluster's. It
// listens on 127.0.0.1 only.
package hdfstest

import (
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Options configure a test cluster.
type Options struct {
	// Root is the backing folder; HDFS "/" is this folder.
	Root string
	// BlockSize is the HDFS block size (default 1 MiB; small sizes make
	// multi-block files cheap in tests).
	BlockSize int64
	// BytesPerChecksum is the CRC chunk size (default 512).
	BytesPerChecksum int
	// Namenodes and Datanodes are how many of each to start (default 1).
	Namenodes int
	Datanodes int
	// Replication is how many datanodes each block lists (default: all).
	Replication int
	// ListLimit is how many entries a getListing page holds (default 1000).
	ListLimit int
	// CRC32 makes the cluster checksum with CRC32 (IEEE), as files written
	// with dfs.checksum.type CRC32 are, instead of CRC32C.
	CRC32 bool
}

// Cluster is a running set of namenodes and datanodes.
type Cluster struct {
	opts      Options
	Namenodes []*Namenode
	Datanodes []*Datanode

	mu       sync.Mutex
	blockIDs map[blockKey]uint64
	blocks   map[uint64]blockKey
	nextID   uint64
	readHook func(path string, block int)

	// ns serializes namespace changes and guards w, the files being
	// written (write.go). Lock order: ns, then mu.
	ns sync.Mutex
	w  writeState
}

type blockKey struct {
	path  string
	index int
}

// Start starts a cluster on 127.0.0.1 with ephemeral ports.
func Start(opts Options) (*Cluster, error) {
	if opts.Root == "" {
		return nil, errors.New("hdfstest: Root is required")
	}
	if st, err := os.Stat(opts.Root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("hdfstest: root %s is not a folder", opts.Root)
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = 1 << 20
	}
	if opts.BytesPerChecksum <= 0 {
		opts.BytesPerChecksum = 512
	}
	if opts.BlockSize%int64(opts.BytesPerChecksum) != 0 {
		return nil, fmt.Errorf("hdfstest: block size %d is not a multiple of %d", opts.BlockSize, opts.BytesPerChecksum)
	}
	if opts.Namenodes <= 0 {
		opts.Namenodes = 1
	}
	if opts.Datanodes <= 0 {
		opts.Datanodes = 1
	}
	if opts.Replication <= 0 || opts.Replication > opts.Datanodes {
		opts.Replication = opts.Datanodes
	}
	if opts.ListLimit <= 0 {
		opts.ListLimit = 1000
	}
	c := &Cluster{opts: opts, blockIDs: map[blockKey]uint64{}, blocks: map[uint64]blockKey{}, nextID: 1073741825, w: newWriteState()}
	for i := 0; i < opts.Datanodes; i++ {
		d, err := startDatanode(c, i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Datanodes = append(c.Datanodes, d)
	}
	for i := 0; i < opts.Namenodes; i++ {
		n, err := startNamenode(c, i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Namenodes = append(c.Namenodes, n)
	}
	return c, nil
}

// Addrs are the namenode addresses, in order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Namenodes))
	for i, n := range c.Namenodes {
		out[i] = n.Addr()
	}
	return out
}

// BlockSize is the block size files are cut into.
func (c *Cluster) BlockSize() int64 { return c.opts.BlockSize }

// SetReadHook installs f, called (from the datanode goroutine) when a
// block read starts; nil removes it. Tests use it to change a file while
// it is being pulled.
func (c *Cluster) SetReadHook(f func(path string, block int)) {
	c.mu.Lock()
	c.readHook = f
	c.mu.Unlock()
}

// Close stops every node.
func (c *Cluster) Close() error {
	for _, n := range c.Namenodes {
		n.Stop()
	}
	for _, d := range c.Datanodes {
		d.Stop()
	}
	c.closeOpen()
	return nil
}

// local maps an HDFS path to the backing file; a relative or escaping
// path is refused.
func (c *Cluster) local(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("path %q is not absolute", p)
	}
	return filepath.Join(c.opts.Root, filepath.FromSlash(path.Clean(p))), nil
}

// blockID returns the stable id of a file's block.
func (c *Cluster) blockID(p string, index int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := blockKey{p, index}
	if id, ok := c.blockIDs[k]; ok {
		return id
	}
	id := c.nextID
	c.nextID++
	c.blockIDs[k] = id
	c.blocks[id] = k
	return id
}

func (c *Cluster) block(id uint64) (blockKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.blocks[id]
	return k, ok
}

// crc is the CRC table and its ChecksumTypeProto value.
func (c *Cluster) crc() (*crc32.Table, uint64) {
	if c.opts.CRC32 {
		return crc32.IEEETable, checksumCRC32
	}
	return castagnoli, checksumCRC32C
}

func (c *Cluster) hook() func(string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readHook
}

// fileID is a stable inode-like number for a path.
func fileID(p string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64() >> 1
}

// entry is what the namenode knows about one path.
type entry struct {
	name  string
	dir   bool
	size  int64
	mtime time.Time
}

func (c *Cluster) stat(p string) (entry, error) {
	lp, err := c.local(p)
	if err != nil {
		return entry{}, err
	}
	st, err := os.Stat(lp)
	if err != nil {
		return entry{}, err
	}
	return entry{name: path.Base(p), dir: st.IsDir(), size: st.Size(), mtime: st.ModTime()}, nil
}

func (c *Cluster) readDir(p string) ([]entry, error) {
	lp, err := c.local(p)
	if err != nil {
		return nil, err
	}
	des, err := os.ReadDir(lp)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, d := range des {
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while listing
		}
		if err != nil {
			return nil, err
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			continue
		}
		out = append(out, entry{name: d.Name(), dir: info.IsDir(), size: info.Size(), mtime: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// listen opens a loopback listener.
func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// tracker remembers open connections so Stop can cut them.
type tracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func (t *tracker) add(c net.Conn) {
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *tracker) remove(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

func (t *tracker) closeAll() {
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
}
