package hdfstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/encoding/protowire"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeFile writes data through the client in writes of step bytes.
func writeFile(t *testing.T, cl *hdfs.Client, name string, data []byte, step int) {
	t.Helper()
	f, err := cl.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < len(data); s += step {
		if _, err := f.Write(data[s:min(s+step, len(data))]); err != nil {
			t.Fatalf("write %s at %d: %v", name, s, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

// checkFile checks a written file on disk, read back through the server,
// and its checksum.
func checkFile(t *testing.T, c *Cluster, cl *hdfs.Client, root, name string, want []byte) {
	t.Helper()
	disk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, want) {
		t.Fatalf("%s on disk: %d bytes, differing from the %d written", name, len(disk), len(want))
	}
	f, err := cl.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s read back: %d bytes, differing from the %d written", name, len(got), len(want))
	}
	sum, err := f.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if w := FileChecksum(want, int(c.BlockSize()), 512, castagnoli); !bytes.Equal(sum, w) {
		t.Fatalf("%s checksum %x, want %x", name, sum, w)
	}
}

func TestWriteSmallFile(t *testing.T) {
	c, root := startCluster(t, Options{Namenodes: 2})
	c.Namenodes[0].SetStandby(true) // the lease lives in the cluster, not in one namenode
	cl := client(t, c.Addrs())
	if err := cl.MkdirAll("/chunks/dt=20241212", 0o755); err != nil {
		t.Fatal(err)
	}
	data := []byte("hour 07 of 2024-12-12\n")
	writeFile(t, cl, "/chunks/dt=20241212/h07", data, 5)
	checkFile(t, c, cl, root, "/chunks/dt=20241212/h07", data)
	st, err := cl.Stat("/chunks/dt=20241212/h07")
	if err != nil || st.Size() != int64(len(data)) || st.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v %v", st, err)
	}
	if c.Datanodes[0].Writes() != 1 || c.Datanodes[0].BytesReceived() != int64(len(data)) {
		t.Fatalf("datanode: %d writes, %d bytes", c.Datanodes[0].Writes(), c.Datanodes[0].BytesReceived())
	}

	// An empty file has no block.
	if err := cl.CreateEmptyFile("/chunks/empty"); err != nil {
		t.Fatal(err)
	}
	checkFile(t, c, cl, root, "/chunks/empty", nil)
	if c.Datanodes[0].Writes() != 1 {
		t.Fatal("an empty file wrote a block")
	}

	// Create does not replace, and needs the parent.
	if _, err := cl.Create("/chunks/dt=20241212/h07"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("create over a file: %v, want exist", err)
	}
	if _, err := cl.Create("/chunks/dt=20241213/h00"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("create in a missing folder: %v, want not exist", err)
	}
	if _, err := cl.Create("/chunks"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("create over a folder: %v, want exist", err)
	}

	// A file being written is there (as in HDFS), and not twice.
	f, err := cl.Create("/chunks/open")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Stat("/chunks/open"); err != nil {
		t.Fatalf("a file being written is not listed: %v", err)
	}
	other := client(t, c.Addrs())
	if _, err := other.Create("/chunks/open"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create of a file being written: %v, want exist", err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, c, cl, root, "/chunks/open", []byte("x"))
}

func TestWriteMultiBlockFile(t *testing.T) {
	c, root := startCluster(t, Options{BlockSize: 64 << 10, Datanodes: 2})
	cl := client(t, c.Addrs())
	if err := cl.Mkdir("/m", 0o755); err != nil {
		t.Fatal(err)
	}
	// Uneven writes, a partial last block.
	a := randomBytes(200_001, 1)
	writeFile(t, cl, "/m/a", a, 7001)
	checkFile(t, c, cl, root, "/m/a", a)
	// One write of exactly two blocks.
	b := randomBytes(2*64<<10, 2)
	writeFile(t, cl, "/m/b", b, len(b))
	checkFile(t, c, cl, root, "/m/b", b)
	// Block-sized writes, the last one full.
	writeFile(t, cl, "/m/c", b, 64<<10)
	checkFile(t, c, cl, root, "/m/c", b)

	f, err := cl.Open("/m/a")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	part := make([]byte, 5000)
	if _, err := f.ReadAt(part, 2*65536-1234); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(part, a[2*65536-1234:2*65536-1234+5000]) {
		t.Fatal("ReadAt across a block boundary returned other bytes")
	}
	// 4 + 2 + 2 blocks, in turn over the two datanodes.
	w0, w1 := c.Datanodes[0].Writes(), c.Datanodes[1].Writes()
	if w0+w1 != 8 || w0 == 0 || w1 == 0 {
		t.Fatalf("block writes: %d and %d, want 8 spread over both", w0, w1)
	}
	if got := c.Datanodes[0].BytesReceived() + c.Datanodes[1].BytesReceived(); got != int64(len(a)+2*len(b)) {
		t.Fatalf("%d bytes received, want %d", got, len(a)+2*len(b))
	}
}

func TestRenameOverExisting(t *testing.T) {
	c, root := startCluster(t, Options{})
	cl := client(t, c.Addrs())
	if err := cl.MkdirAll("/d/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, filepath.Join(root, "d", "old"), 1000, 1)
	fresh := randomBytes(3000, 2)
	writeFile(t, cl, "/d/.new.tmp", fresh, 1000)
	if err := cl.Rename("/d/.new.tmp", "/d/old"); err != nil {
		t.Fatal(err)
	}
	checkFile(t, c, cl, root, "/d/old", fresh)
	if _, err := os.Stat(filepath.Join(root, "d", ".new.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the renamed file is still there: %v", err)
	}

	if err := cl.Rename("/d/missing", "/d/x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rename of a missing file: %v, want not exist", err)
	}
	if err := cl.Rename("/d/old", "/nowhere/x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rename into a missing folder: %v, want not exist", err)
	}
	if err := cl.Rename("/d/old", "/d/sub"); err == nil {
		t.Fatal("a file replaced a folder")
	}
	if err := cl.Rename("/d", "/d/sub/d"); err == nil {
		t.Fatal("a folder moved into itself")
	}
	if err := cl.Rename("/d/old", "/d/old"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("rename onto itself: %v, want exist", err)
	}
	// A folder replaces an empty folder, not a full one.
	if err := cl.MkdirAll("/e", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rename("/d/sub", "/e"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rename("/e", "/d"); err == nil {
		t.Fatal("a folder replaced a folder that is not empty")
	}

	// A file renamed while it is written keeps its lease: it completes
	// under its new name.
	f, err := cl.Create("/d/.part")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(fresh[:10]); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rename("/d/.part", "/d/part"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(fresh[10:20]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, c, cl, root, "/d/part", fresh[:20])
}

func TestMkdirAllRemoveAndChmod(t *testing.T) {
	c, root := startCluster(t, Options{})
	cl := client(t, c.Addrs())
	if err := cl.MkdirAll("/a/b/c", 0o750); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "a", "b", "c")); err != nil || !st.IsDir() {
		t.Fatalf("mkdirall on disk: %v", err)
	}
	if st, err := cl.Stat("/a/b/c"); err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
		t.Fatalf("stat of the new folder: %v %v", st, err)
	}
	if err := cl.MkdirAll("/a/b/c", 0o755); err != nil {
		t.Fatalf("mkdirall of an existing folder: %v", err)
	}
	if err := cl.Mkdir("/x/y", 0o755); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mkdir without its parent: %v, want not exist", err)
	}
	writeRandom(t, filepath.Join(root, "a", "f"), 10, 1)
	if err := cl.MkdirAll("/a/f/g", 0o755); err == nil {
		t.Fatal("mkdirall through a file succeeded")
	}
	if err := cl.Mkdir("/a/f", 0o755); !errors.Is(err, os.ErrExist) {
		t.Fatalf("mkdir over a file: %v, want exist", err)
	}

	if err := cl.Chmod("/a/f", 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.Stat("/a/f"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat after chmod: %v %v", st, err)
	}
	if err := cl.Chmod("/a/missing", 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("chmod of a missing file: %v, want not exist", err)
	}

	if err := cl.Remove("/a/b"); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("remove of a full folder: %v, want ENOTEMPTY", err)
	}
	if err := cl.Remove("/a/f"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "f")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed file still on disk: %v", err)
	}
	if err := cl.Remove("/a/f"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("second remove: %v, want not exist", err)
	}
	writeRandom(t, filepath.Join(root, "a", "f"), 10, 1)
	if st, err := cl.Stat("/a/f"); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("a new file kept the mode of the removed one: %v %v", st, err)
	}
	if err := cl.RemoveAll("/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed folder still on disk: %v", err)
	}
	if err := cl.RemoveAll("/a"); err != nil {
		t.Fatalf("removeall of a missing folder: %v", err)
	}
	// The root is never deleted.
	if err := cl.RemoveAll("/"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("root: %v", err)
	}
}

func TestWriteFaults(t *testing.T) {
	c, root := startCluster(t, Options{BlockSize: 64 << 10, Datanodes: 2})
	cl := client(t, c.Addrs())

	// A down datanode is not given blocks.
	c.Datanodes[0].SetFault(Fault{Down: true})
	a := randomBytes(150_000, 3)
	writeFile(t, cl, "/a", a, 10_000)
	checkFile(t, c, cl, root, "/a", a)
	if c.Datanodes[0].Writes() != 0 {
		t.Fatal("a down datanode was written to")
	}

	// A datanode that dies mid-block fails the write (the client has no
	// pipeline recovery).
	c.Datanodes[0].SetFault(Fault{})
	c.Datanodes[1].SetFault(Fault{CutWriteAfter: 1000})
	c.Datanodes[0].SetFault(Fault{CutWriteAfter: 1000})
	f, err := cl.Create("/cut")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(a)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		t.Fatal("a write cut by the datanode succeeded")
	}

	// A file removed while it is written cannot be completed.
	c.Datanodes[0].SetFault(Fault{})
	c.Datanodes[1].SetFault(Fault{})
	f, err = cl.Create("/gone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(a[:100]); err != nil {
		t.Fatal(err)
	}
	if err := cl.Remove("/gone"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil {
		t.Fatal("a removed file was completed")
	}
	if _, err := os.Stat(filepath.Join(root, "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed file on disk: %v", err)
	}
}

// rawClient speaks Hadoop RPC directly, for calls and clients the
// colinmarc client does not make.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	call int
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.Write([]byte{'h', 'r', 'p', 'c', 9, 0, 0})
	ctx := pb(nil).msg(2, pb(nil).str(1, "chama")).str(3, "org.apache.hadoop.hdfs.protocol.ClientProtocol")
	r := &rawClient{t: t, conn: conn}
	r.send(-3, ctx)
	return r
}

func (r *rawClient) send(callID int32, msgs ...pb) {
	h := pb(nil).uint(1, 2).uint(2, 0).uint(3, protowire.EncodeZigZag(int64(callID))).bytes(4, []byte("0123456789abcdef"))
	var body []byte
	for _, m := range append([]pb{h}, msgs...) {
		body = delimited(body, m)
	}
	if _, err := r.conn.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body)))); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(body); err != nil {
		r.t.Fatal(err)
	}
}

// do calls method and returns the decoded answer, or the exception class.
func (r *rawClient) do(method string, req pb) ([]field, string) {
	r.t.Helper()
	r.call++
	r.send(int32(r.call), pb(nil).str(1, method).str(2, "org.apache.hadoop.hdfs.protocol.ClientProtocol").uint(3, 1), req)
	var l [4]byte
	if _, err := io.ReadFull(r.conn, l[:]); err != nil {
		r.t.Fatal(err)
	}
	pkt := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(r.conn, pkt); err != nil {
		r.t.Fatal(err)
	}
	parts, err := splitDelimited(pkt)
	if err != nil {
		r.t.Fatal(err)
	}
	h, _ := decode(parts[0])
	if exc, ok := get(h, 4); ok {
		return nil, string(exc.b)
	}
	resp, err := decode(parts[1])
	if err != nil {
		r.t.Fatal(err)
	}
	return resp, ""
}

func TestLeasesAbandonBlockAndOldRename(t *testing.T) {
	c, root := startCluster(t, Options{BlockSize: 4096})
	a, b := dialRaw(t, c.Addrs()[0]), dialRaw(t, c.Addrs()[0])
	create := pb(nil).str(1, "/r").msg(2, pb(nil).uint(1, 0o640)).str(3, "raw-a").uint(4, 1).boolean(5, false).uint(6, 1).uint(7, 4096)
	resp, exc := a.do("create", create)
	if exc != "" {
		t.Fatal(exc)
	}
	st, _ := get(resp, 1)
	sf, _ := decode(st.b)
	fid, _ := get(sf, 13)
	if _, exc := b.do("create", create); exc != alreadyBeingCreatedException {
		t.Fatalf("second create of a file being written: %q", exc)
	}
	addBlock := func(cl *rawClient, holder string, prev pb) (uint64, string) {
		req := pb(nil).str(1, "/r").str(2, holder)
		if prev != nil {
			req = req.msg(3, prev)
		}
		resp, exc := cl.do("addBlock", req.uint(5, fid.v))
		if exc != "" {
			return 0, exc
		}
		lb, _ := get(resp, 1)
		lbf, _ := decode(lb.b)
		eb, _ := get(lbf, 1)
		ebf, _ := decode(eb.b)
		id, _ := get(ebf, 2)
		return id.v, ""
	}
	if _, exc := addBlock(b, "raw-b", nil); exc != leaseExpiredException {
		t.Fatalf("addBlock by a client without the lease: %q", exc)
	}
	x, exc := addBlock(a, "raw-a", nil)
	if exc != "" {
		t.Fatal(exc)
	}
	if y, exc := addBlock(a, "raw-a", nil); exc != "" || y != x {
		t.Fatalf("a retried addBlock: block %d (%s), want the same %d", y, exc, x)
	}
	ext := func(id uint64, n int) pb {
		return pb(nil).str(1, blockPool).uint(2, id).uint(3, genStamp).uint(4, uint64(n))
	}
	if _, exc := a.do("abandonBlock", pb(nil).msg(1, ext(x, 0)).str(2, "/r").str(3, "raw-a").uint(4, fid.v)); exc != "" {
		t.Fatal(exc)
	}
	y, exc := addBlock(a, "raw-a", nil)
	if exc != "" || y == x {
		t.Fatalf("addBlock after abandonBlock: %d (%s), the abandoned block was %d", y, exc, x)
	}
	// The client says the block has bytes the datanode never got.
	complete := func(cl *rawClient, holder string, n int) ([]field, string) {
		return cl.do("complete", pb(nil).str(1, "/r").str(2, holder).msg(3, ext(y, n)).uint(4, fid.v))
	}
	if _, exc := complete(a, "raw-a", 10); exc != ioException {
		t.Fatalf("complete with a wrong length: %q", exc)
	}
	if _, exc := complete(b, "raw-b", 0); exc != leaseExpiredException {
		t.Fatalf("complete by a client without the lease: %q", exc)
	}
	for i := 0; i < 2; i++ { // the second is a retry
		resp, exc := complete(a, "raw-a", 0)
		if r, _ := get(resp, 1); exc != "" || r.v != 1 {
			t.Fatalf("complete #%d: %v %q", i, resp, exc)
		}
	}
	if _, exc := b.do("create", create); exc != fileAlreadyExistsException {
		t.Fatalf("create over a complete file: %q", exc)
	}
	cl := client(t, c.Addrs())
	if st, err := cl.Stat("/r"); err != nil || st.Size() != 0 || st.Mode().Perm() != 0o640 {
		t.Fatalf("stat: %v %v", st, err)
	}

	// The old rename moves into an existing folder, and says false
	// rather than failing.
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	rename := func(src, dst string) uint64 {
		resp, exc := a.do("rename", pb(nil).str(1, src).str(2, dst))
		if exc != "" {
			t.Fatal(exc)
		}
		r, _ := get(resp, 1)
		return r.v
	}
	if rename("/r", "/dir") != 1 || rename("/r", "/dir") != 0 || rename("/dir/r", "/missing/r") != 0 {
		t.Fatal("old rename results")
	}
	if _, err := os.Stat(filepath.Join(root, "dir", "r")); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.Stat("/dir/r"); err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("the mode did not follow the rename: %v %v", st, err)
	}
}
