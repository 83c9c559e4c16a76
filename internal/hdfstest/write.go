package hdfstest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"google.golang.org/protobuf/encoding/protowire"
)

// Exception classes of the write path (the client maps the first four to
// os.ErrExist, os.ErrExist, syscall.ENOTEMPTY and os.ErrInvalid).
const (
	fileAlreadyExistsException     = "org.apache.hadoop.fs.FileAlreadyExistsException"
	alreadyBeingCreatedException   = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
	pathIsNotEmptyDirException     = "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException"
	invalidPathException           = "org.apache.hadoop.fs.InvalidPathException"
	parentNotDirectoryException    = "org.apache.hadoop.fs.ParentNotDirectoryException"
	leaseExpiredException          = "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException"
	createFlagCreate, createFlagOW = 0x01, 0x02
	createFlagAppend               = 0x04
)

// openFile is a file under construction: created, not yet completed. Its
// bytes go straight to the backing file (kept open, so a rename or delete
// while it is written does not lose the datanode's handle).
type openFile struct {
	id     uint64
	path   string // HDFS path now (a rename moves it)
	holder string // client name holding the lease
	f      *os.File
	blocks []*wblock
}

// wblock is a block of an open file.
type wblock struct {
	id    uint64
	file  *openFile
	index int
	// received is how many bytes the datanode has acknowledged;
	// committed is the length the client reported (addBlock's previous,
	// complete's last), -1 until it does; writers counts WRITE_BLOCK ops
	// running on the block.
	received  int64
	committed int64
	writers   int
}

// writeState is the namespace side of the write path, guarded by
// Cluster.ns (namespace changes are serialized, as the namenode's lock
// does).
type writeState struct {
	open      map[uint64]*openFile // by file id
	writing   map[uint64]*wblock   // blocks of open files, by block id
	completed map[uint64]uint64    // file id -> last block id (0: none), for complete retries
	perms     map[string]uint32    // permissions set by create, mkdirs, setPermission
}

func newWriteState() writeState {
	return writeState{open: map[uint64]*openFile{}, writing: map[uint64]*wblock{}, completed: map[uint64]uint64{}, perms: map[string]uint32{}}
}

// closeOpen closes the backing files of files still being written (the
// cluster is stopping).
func (c *Cluster) closeOpen() {
	c.ns.Lock()
	defer c.ns.Unlock()
	for id, f := range c.w.open {
		f.f.Close()
		delete(c.w.open, id)
	}
}

// perm is the permission a path reports: as set, or 0644 / 0755.
func (c *Cluster) perm(p string, dir bool) uint64 {
	c.ns.Lock()
	v, ok := c.w.perms[path.Clean(p)]
	c.ns.Unlock()
	switch {
	case ok:
		return uint64(v)
	case dir:
		return 0o755
	}
	return 0o644
}

// openID is the file id of p if it is being written.
func (c *Cluster) openID(p string) (uint64, bool) {
	c.ns.Lock()
	defer c.ns.Unlock()
	if f := c.openAt(path.Clean(p)); f != nil {
		return f.id, true
	}
	return 0, false
}

// openAt finds the file being written at p; c.ns is held.
func (c *Cluster) openAt(p string) *openFile {
	for _, f := range c.w.open {
		if f.path == p {
			return f
		}
	}
	return nil
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// forget drops the leases and permissions of p and everything under it
// (deleted, or overwritten by a rename); c.ns is held.
func (c *Cluster) forget(p string) {
	for id, f := range c.w.open {
		if under(f.path, p) {
			c.dropOpen(f)
			delete(c.w.open, id)
		}
	}
	for q := range c.w.perms {
		if under(q, p) {
			delete(c.w.perms, q)
		}
	}
}

func (c *Cluster) dropOpen(f *openFile) {
	f.f.Close()
	for _, b := range f.blocks {
		delete(c.w.writing, b.id)
	}
}

// moved renames the leases and permissions of src and what is under it to
// dst; c.ns is held.
func (c *Cluster) moved(src, dst string) {
	for _, f := range c.w.open {
		if under(f.path, src) {
			f.path = dst + strings.TrimPrefix(f.path, src)
		}
	}
	for q, v := range c.w.perms {
		if under(q, src) {
			delete(c.w.perms, q)
			c.w.perms[dst+strings.TrimPrefix(q, src)] = v
		}
	}
}

// newBlockID hands out a fresh block id for block index of p, which reads
// of p then use too.
func (c *Cluster) newBlockID(p string, index int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	k := blockKey{p, index}
	c.blockIDs[k] = id
	c.blocks[id] = k
	return id
}

// wpath reads a path argument of a write call: absolute, cleaned.
func wpath(fields []field, num protowire.Number) (string, bool) {
	f, _ := get(fields, num)
	p := string(f.b)
	if !path.IsAbs(p) {
		return p, false
	}
	return path.Clean(p), true
}

// kind says what p is: exists, is a folder; err is set for other errors
// than "not there" (a path through a file is not there either).
func (c *Cluster) kind(p string) (exists, dir bool, err error) {
	e, err := c.stat(p)
	if notFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, e.dir, nil
}

// parentOK checks that the parent of p is an existing folder, answering
// the exception otherwise (what says what the call is about).
func (c *Cluster) parentOK(p, what string) (string, string) {
	parent := path.Dir(p)
	e, err := c.stat(parent)
	switch {
	case errors.Is(err, syscall.ENOTDIR) || (err == nil && !e.dir):
		return parentNotDirectoryException, fmt.Sprintf("%s parent %s is not a directory", what, parent)
	case errors.Is(err, fs.ErrNotExist):
		return fileNotFoundException, fmt.Sprintf("%s parent %s not found", what, parent)
	case err != nil:
		return ioException, err.Error()
	}
	return "", ""
}

// create serves CreateRequestProto: src = 1, masked = 2 (FsPermissionProto:
// perm = 1), clientName = 3, createFlag = 4, createParent = 5,
// replication = 6, blockSize = 7. The answer is CreateResponseProto: fs =
// 1, the new file's status.
func (n *Namenode) create(fields []field, user string) (pb, string, string) {
	c := n.c
	src, ok := wpath(fields, 1)
	if !ok {
		return nil, invalidPathException, fmt.Sprintf("Invalid path name %q: not absolute", src)
	}
	holder, _ := get(fields, 3)
	flag, _ := get(fields, 4)
	createParent, _ := get(fields, 5)
	bs, _ := get(fields, 7)
	switch {
	case flag.v&createFlagAppend != 0:
		return nil, ioException, "hdfstest: append is not supported"
	case flag.v&(createFlagCreate|createFlagOW) == 0:
		return nil, ioException, fmt.Sprintf("create flag %#x has neither CREATE nor OVERWRITE", flag.v)
	case int64(bs.v) != c.opts.BlockSize:
		// Reads cut every file into the cluster's block size.
		return nil, ioException, fmt.Sprintf("hdfstest: block size %d is not the cluster's %d", bs.v, c.opts.BlockSize)
	}
	perm := fsPerm(fields, 2, 0o644)

	c.ns.Lock()
	defer c.ns.Unlock()
	exists, dir, err := c.kind(src)
	if err != nil {
		return nil, ioException, err.Error()
	}
	if f := c.openAt(src); f != nil {
		return nil, alreadyBeingCreatedException, fmt.Sprintf("Failed to CREATE_FILE %s for %s because this file lease is currently owned by %s", src, holder.b, f.holder)
	}
	switch {
	case src == "/" || (exists && dir):
		return nil, fileAlreadyExistsException, src + " already exists as a directory"
	case exists && flag.v&createFlagOW == 0:
		return nil, fileAlreadyExistsException, fmt.Sprintf("%s for client %s already exists", src, holder.b)
	}
	lp, err := c.local(src)
	if err != nil {
		return nil, invalidPathException, err.Error()
	}
	if createParent.v != 0 {
		if exc, msg := c.mkdirs(path.Dir(src), 0o755); exc != "" {
			return nil, exc, msg
		}
	} else if exc, msg := c.parentOK(src, "create"); exc != "" {
		return nil, exc, msg
	}
	if exists {
		c.forget(src)
		if err := os.Remove(lp); err != nil {
			return nil, ioException, err.Error()
		}
	}
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, ioException, err.Error()
	}
	of := &openFile{id: fileID(src), path: src, holder: string(holder.b), f: f}
	for c.w.open[of.id] != nil {
		of.id++ // a file of that id is still open elsewhere (renamed)
	}
	c.w.open[of.id] = of
	delete(c.w.completed, of.id)
	c.w.perms[src] = perm
	st, err := f.Stat()
	if err != nil {
		return nil, ioException, err.Error()
	}
	e := entry{mtime: st.ModTime()}
	return pb(nil).msg(1, n.statusWithID(of.id, src, e, user, uint64(perm))), "", ""
}

// lease finds the open file a block call is about: by file id when the
// client sends one (a rename does not change it), else by path; holder
// must hold its lease. c.ns is held.
func (c *Cluster) lease(src string, id uint64, holder string) (*openFile, string, string) {
	var f *openFile
	if id != 0 {
		f = c.w.open[id]
	} else {
		f = c.openAt(src)
	}
	if f == nil {
		if exists, _, _ := c.kind(src); !exists {
			return nil, fileNotFoundException, "File does not exist: " + src
		}
		return nil, leaseExpiredException, fmt.Sprintf("No lease on %s (inode %d): File is not open for writing. Holder %s does not have any open files.", src, id, holder)
	}
	if f.holder != holder {
		return nil, leaseExpiredException, fmt.Sprintf("Client (=%s) is not the lease owner (=%s) of %s", holder, f.holder, f.path)
	}
	return f, "", ""
}

// extBlock reads an ExtendedBlockProto: blockId = 2, numBytes = 4.
func extBlock(fields []field, num protowire.Number) (id uint64, numBytes int64, ok bool) {
	f, ok := get(fields, num)
	if !ok {
		return 0, 0, false
	}
	eb, err := decode(f.b)
	if err != nil {
		return 0, 0, false
	}
	idf, _ := get(eb, 2)
	nb, _ := get(eb, 4)
	return idf.v, int64(nb.v), true
}

// commit records the length the client reports for the file's last
// block, checking it is the last block and the datanode agrees; c.ns is
// held.
func (c *Cluster) commit(f *openFile, id uint64, numBytes int64) (string, string) {
	if len(f.blocks) == 0 {
		return ioException, fmt.Sprintf("block %d is not a block of %s (it has none)", id, f.path)
	}
	last := f.blocks[len(f.blocks)-1]
	if last.id != id {
		return ioException, fmt.Sprintf("block %d is not the last block of %s (%d is)", id, f.path, last.id)
	}
	if last.writers == 0 && numBytes != last.received {
		return ioException, fmt.Sprintf("block %d of %s: the client reports %d bytes, the datanode has %d", id, f.path, numBytes, last.received)
	}
	last.committed = numBytes
	return "", ""
}

// addBlock serves AddBlockRequestProto: src = 1, clientName = 2, previous
// = 3 (ExtendedBlockProto), excludeNodes = 4 (DatanodeInfoProto), fileId
// = 5. The answer is AddBlockResponseProto: block = 1, a LocatedBlockProto
// with one datanode (a pipeline of one).
func (n *Namenode) addBlock(fields []field) (pb, string, string) {
	c := n.c
	src, _ := wpath(fields, 1)
	holder, _ := get(fields, 2)
	fid, _ := get(fields, 5)
	c.ns.Lock()
	defer c.ns.Unlock()
	f, exc, msg := c.lease(src, fid.v, string(holder.b))
	if exc != "" {
		return nil, exc, msg
	}
	prevID, prevBytes, hasPrev := extBlock(fields, 3)
	nb := len(f.blocks)
	switch {
	case !hasPrev && nb == 1 && f.blocks[0].received == 0 && f.blocks[0].writers == 0,
		hasPrev && nb >= 2 && f.blocks[nb-2].id == prevID && f.blocks[nb-1].received == 0 && f.blocks[nb-1].writers == 0:
		// A retry whose answer was lost: the same, still empty, block.
		b := f.blocks[nb-1]
		d := c.pickDatanode(b.index, nil)
		if d == nil {
			return nil, ioException, fmt.Sprintf("File %s could only be written to 0 of the 1 minReplication nodes: every datanode is down", f.path)
		}
		return pb(nil).msg(1, located(b.id, genStamp, int64(b.index)*c.opts.BlockSize, 0, []*Datanode{d})), "", ""
	case !hasPrev && nb > 0:
		return nil, ioException, fmt.Sprintf("addBlock of %s without the previous block (%d blocks allocated)", f.path, nb)
	case hasPrev:
		if exc, msg := c.commit(f, prevID, prevBytes); exc != "" {
			return nil, exc, msg
		}
		if last := f.blocks[nb-1]; last.writers > 0 || last.received != c.opts.BlockSize {
			// The layout of the backing file needs every block but the
			// last to be full.
			return nil, ioException, fmt.Sprintf("hdfstest: block %d of %s is not full (%d of %d bytes) or still being written", prevID, f.path, last.received, c.opts.BlockSize)
		}
	}
	exclude := map[string]bool{}
	for _, x := range fields {
		if x.num != 4 {
			continue
		}
		if di, err := decode(x.b); err == nil {
			if idf, ok := get(di, 1); ok {
				if id, err := decode(idf.b); err == nil {
					ip, _ := get(id, 1)
					port, _ := get(id, 4)
					exclude[fmt.Sprintf("%s:%d", ip.b, port.v)] = true
				}
			}
		}
	}
	d := c.pickDatanode(nb, exclude)
	if d == nil {
		return nil, ioException, fmt.Sprintf("File %s could only be written to 0 of the 1 minReplication nodes. There are %d datanode(s) running and %d node(s) are excluded in this operation.", f.path, len(c.Datanodes), len(exclude))
	}
	b := &wblock{id: c.newBlockID(f.path, nb), file: f, index: nb, committed: -1}
	f.blocks = append(f.blocks, b)
	c.w.writing[b.id] = b
	return pb(nil).msg(1, located(b.id, genStamp, int64(nb)*c.opts.BlockSize, 0, []*Datanode{d})), "", ""
}

// pickDatanode chooses the datanode of a new block: in turn by block
// index, skipping nodes that are down or excluded by the client.
func (c *Cluster) pickDatanode(index int, exclude map[string]bool) *Datanode {
	for k := range c.Datanodes {
		d := c.Datanodes[(index+k)%len(c.Datanodes)]
		if !d.currentFault().Down && !exclude[d.Addr()] {
			return d
		}
	}
	return nil
}

// abandonBlock serves AbandonBlockRequestProto: b = 1, src = 2, holder =
// 3, fileId = 4: the last block is dropped (and its bytes cut off).
func (n *Namenode) abandonBlock(fields []field) (pb, string, string) {
	c := n.c
	src, _ := wpath(fields, 2)
	holder, _ := get(fields, 3)
	fid, _ := get(fields, 4)
	c.ns.Lock()
	defer c.ns.Unlock()
	f, exc, msg := c.lease(src, fid.v, string(holder.b))
	if exc != "" {
		return nil, exc, msg
	}
	id, _, _ := extBlock(fields, 1)
	if nb := len(f.blocks); nb > 0 && f.blocks[nb-1].id == id {
		b := f.blocks[nb-1]
		f.blocks = f.blocks[:nb-1]
		delete(c.w.writing, id)
		if err := f.f.Truncate(int64(b.index) * c.opts.BlockSize); err != nil {
			return nil, ioException, err.Error()
		}
	}
	return pb{}, "", ""
}

// updateBlockForPipeline serves UpdateBlockForPipelineRequestProto: block
// = 1, clientName = 2. The client calls it after every block; the answer
// (UpdateBlockForPipelineResponseProto: block = 1) carries a new
// generation stamp, as a namenode's does, which nothing stores: there is
// no pipeline recovery.
func (n *Namenode) updateBlockForPipeline(fields []field) (pb, string, string) {
	c := n.c
	id, numBytes, _ := extBlock(fields, 1)
	holder, _ := get(fields, 2)
	c.ns.Lock()
	defer c.ns.Unlock()
	b := c.w.writing[id]
	if b == nil || b.file.blocks[len(b.file.blocks)-1] != b {
		return nil, ioException, fmt.Sprintf("block %d does not exist or is not under construction", id)
	}
	if _, exc, msg := c.lease(b.file.path, b.file.id, string(holder.b)); exc != "" {
		return nil, exc, msg
	}
	var locs []*Datanode
	if d := c.pickDatanode(b.index, nil); d != nil {
		locs = []*Datanode{d}
	}
	return pb(nil).msg(1, located(id, genStamp+1, int64(b.index)*c.opts.BlockSize, numBytes, locs)), "", ""
}

// complete serves CompleteRequestProto: src = 1, clientName = 2, last = 3,
// fileId = 4. The answer is CompleteResponseProto: result = 1, false while
// the last block is still being received (the client then says
// ErrReplicating).
func (n *Namenode) complete(fields []field) (pb, string, string) {
	c := n.c
	src, _ := wpath(fields, 1)
	holder, _ := get(fields, 2)
	fid, _ := get(fields, 4)
	lastID, lastBytes, hasLast := extBlock(fields, 3)
	c.ns.Lock()
	defer c.ns.Unlock()
	if last, ok := c.w.completed[fid.v]; ok && fid.v != 0 && c.w.open[fid.v] == nil && (!hasLast || last == lastID) {
		return pb(nil).boolean(1, true), "", "" // a retry: already complete
	}
	f, exc, msg := c.lease(src, fid.v, string(holder.b))
	if exc != "" {
		return nil, exc, msg
	}
	if hasLast {
		if exc, msg := c.commit(f, lastID, lastBytes); exc != "" {
			return nil, exc, msg
		}
	}
	size := int64(0)
	if nb := len(f.blocks); nb > 0 {
		last := f.blocks[nb-1]
		if last.committed < 0 || last.writers > 0 {
			return pb(nil).boolean(1, false), "", ""
		}
		if last.committed != last.received {
			return nil, ioException, fmt.Sprintf("block %d of %s: committed with %d bytes, the datanode has %d", last.id, f.path, last.committed, last.received)
		}
		size = int64(last.index)*c.opts.BlockSize + last.received
		lastID = last.id
	} else {
		lastID = 0
	}
	if err := f.f.Truncate(size); err != nil {
		return nil, ioException, err.Error()
	}
	if err := f.f.Close(); err != nil {
		return nil, ioException, err.Error()
	}
	for _, b := range f.blocks {
		delete(c.w.writing, b.id)
	}
	delete(c.w.open, f.id)
	c.w.completed[f.id] = lastID
	return pb(nil).boolean(1, true), "", ""
}

// mkdirs makes dir and its missing parents (the last with perm, parents
// with perm plus u+wx, as HDFS does); c.ns is held.
func (c *Cluster) mkdirs(dir string, perm uint32) (string, string) {
	var missing []string
	for p := dir; ; p = path.Dir(p) {
		exists, isDir, err := c.kind(p)
		if err != nil {
			return ioException, err.Error()
		}
		if exists {
			if !isDir {
				if p == dir {
					return fileAlreadyExistsException, "Path is not a directory: " + p
				}
				return parentNotDirectoryException, p + " (is not a directory)"
			}
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		lp, err := c.local(missing[i])
		if err != nil {
			return invalidPathException, err.Error()
		}
		if err := os.Mkdir(lp, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return ioException, err.Error()
		}
		if i == 0 {
			c.w.perms[missing[i]] = perm
		} else {
			c.w.perms[missing[i]] = perm | 0o300
		}
	}
	return "", ""
}

// fsPerm reads an FsPermissionProto (perm = 1) field.
func fsPerm(fields []field, num protowire.Number, def uint32) uint32 {
	if m, ok := get(fields, num); ok {
		if mf, err := decode(m.b); err == nil {
			if pf, ok := get(mf, 1); ok {
				return uint32(pf.v) & 0o7777
			}
		}
	}
	return def
}

// mkdirsCall serves MkdirsRequestProto: src = 1, masked = 2,
// createParent = 3. The answer is MkdirsResponseProto: result = 1.
func (n *Namenode) mkdirsCall(fields []field) (pb, string, string) {
	c := n.c
	src, ok := wpath(fields, 1)
	if !ok {
		return nil, invalidPathException, fmt.Sprintf("Invalid path name %q: not absolute", src)
	}
	createParent, _ := get(fields, 3)
	perm := fsPerm(fields, 2, 0o755)
	c.ns.Lock()
	defer c.ns.Unlock()
	exists, dir, err := c.kind(src)
	switch {
	case err != nil:
		return nil, ioException, err.Error()
	case exists && dir:
		return pb(nil).boolean(1, true), "", ""
	case exists:
		return nil, fileAlreadyExistsException, "Path is not a directory: " + src
	}
	if createParent.v == 0 {
		if exc, msg := c.parentOK(src, "mkdirs"); exc != "" {
			return nil, exc, msg
		}
	}
	if exc, msg := c.mkdirs(src, perm); exc != "" {
		return nil, exc, msg
	}
	return pb(nil).boolean(1, true), "", ""
}

// delete serves DeleteRequestProto: src = 1, recursive = 2. The answer is
// DeleteResponseProto: result = 1, false when there is nothing to delete
// (or src is the root, which HDFS does not delete).
func (n *Namenode) delete(fields []field) (pb, string, string) {
	c := n.c
	src, ok := wpath(fields, 1)
	if !ok {
		return nil, invalidPathException, fmt.Sprintf("Invalid path name %q: not absolute", src)
	}
	recursive, _ := get(fields, 2)
	c.ns.Lock()
	defer c.ns.Unlock()
	exists, dir, err := c.kind(src)
	if err != nil {
		return nil, ioException, err.Error()
	}
	if !exists || src == "/" {
		return pb(nil).boolean(1, false), "", ""
	}
	lp, err := c.local(src)
	if err != nil {
		return nil, invalidPathException, err.Error()
	}
	if dir && recursive.v == 0 {
		if des, err := os.ReadDir(lp); err != nil {
			return nil, ioException, err.Error()
		} else if len(des) > 0 {
			return nil, pathIsNotEmptyDirException, fmt.Sprintf("`%s is non empty': Directory is not empty", src)
		}
	}
	if err := os.RemoveAll(lp); err != nil {
		return nil, ioException, err.Error()
	}
	c.forget(src)
	return pb(nil).boolean(1, true), "", ""
}

// rename2 serves Rename2RequestProto: src = 1, dst = 2, overwriteDest = 3,
// with the checks and messages of HDFS's FSDirRenameOp. The answer is an
// empty Rename2ResponseProto.
func (n *Namenode) rename2(fields []field) (pb, string, string) {
	c := n.c
	src, ok1 := wpath(fields, 1)
	dst, ok2 := wpath(fields, 2)
	if !ok1 || !ok2 {
		return nil, invalidPathException, fmt.Sprintf("Invalid path names %q, %q: not absolute", src, dst)
	}
	overwrite, _ := get(fields, 3)
	c.ns.Lock()
	defer c.ns.Unlock()
	sExists, sDir, err := c.kind(src)
	if err != nil {
		return nil, ioException, err.Error()
	}
	dExists, dDir, err := c.kind(dst)
	if err != nil {
		return nil, ioException, err.Error()
	}
	switch {
	case !sExists:
		return nil, fileNotFoundException, "rename source " + src + " is not found."
	case src == "/":
		return nil, ioException, "rename source cannot be the root"
	case src == dst:
		return nil, fileAlreadyExistsException, "The source " + src + " and destination " + dst + " are the same"
	case under(dst, src):
		return nil, ioException, "rename destination " + dst + " is a directory or file under source " + src
	case dst == "/":
		return nil, ioException, "rename destination cannot be the root"
	}
	if dExists {
		switch {
		case sDir != dDir:
			return nil, ioException, "Source " + src + " and destination " + dst + " must both be directories or both be files"
		case overwrite.v == 0:
			return nil, fileAlreadyExistsException, "rename destination " + dst + " already exists"
		case dDir:
			lp, err := c.local(dst)
			if err != nil {
				return nil, invalidPathException, err.Error()
			}
			if des, err := os.ReadDir(lp); err != nil || len(des) > 0 {
				return nil, ioException, "rename destination directory is not empty: " + dst
			}
		}
	}
	if exc, msg := c.parentOK(dst, "rename destination"); exc != "" {
		return nil, exc, msg
	}
	if exc, msg := c.move(src, dst); exc != "" {
		return nil, exc, msg
	}
	return pb{}, "", ""
}

// renameOld serves the old RenameRequestProto: src = 1, dst = 2; an
// existing folder dst receives src. The answer is RenameResponseProto:
// result = 1, false rather than an exception when the rename cannot be
// done.
func (n *Namenode) renameOld(fields []field) (pb, string, string) {
	c := n.c
	no := pb(nil).boolean(1, false)
	src, ok1 := wpath(fields, 1)
	dst, ok2 := wpath(fields, 2)
	if !ok1 || !ok2 {
		return nil, invalidPathException, fmt.Sprintf("Invalid path names %q, %q: not absolute", src, dst)
	}
	c.ns.Lock()
	defer c.ns.Unlock()
	if exists, dir, _ := c.kind(dst); exists && dir {
		dst = joinPath(dst, path.Base(src))
	}
	sExists, _, _ := c.kind(src)
	dExists, _, _ := c.kind(dst)
	if !sExists || dExists || src == "/" || under(dst, src) {
		return no, "", ""
	}
	if exc, _ := c.parentOK(dst, "rename destination"); exc != "" {
		return no, "", ""
	}
	if exc, msg := c.move(src, dst); exc != "" {
		return nil, exc, msg
	}
	return pb(nil).boolean(1, true), "", ""
}

// move renames src to dst in the backing folder (replacing an existing
// dst: rename(2) is atomic) and moves leases and permissions; c.ns is
// held.
func (c *Cluster) move(src, dst string) (string, string) {
	ls, err := c.local(src)
	if err != nil {
		return invalidPathException, err.Error()
	}
	ld, err := c.local(dst)
	if err != nil {
		return invalidPathException, err.Error()
	}
	// syscall.Rename: os.Rename refuses to replace a folder, rename(2)
	// replaces an empty one.
	if err := syscall.Rename(ls, ld); err != nil {
		return ioException, fmt.Sprintf("rename %s to %s: %v", src, dst, err)
	}
	c.forget(dst) // what dst was (replaced), or stale entries
	c.moved(src, dst)
	return "", ""
}

// setPermission serves SetPermissionRequestProto: src = 1, permission = 2.
// The permission is remembered and reported; the backing file keeps its
// mode.
func (n *Namenode) setPermission(fields []field) (pb, string, string) {
	c := n.c
	src, ok := wpath(fields, 1)
	if !ok {
		return nil, invalidPathException, fmt.Sprintf("Invalid path name %q: not absolute", src)
	}
	c.ns.Lock()
	defer c.ns.Unlock()
	if exists, _, err := c.kind(src); err != nil {
		return nil, ioException, err.Error()
	} else if !exists {
		return nil, fileNotFoundException, "File does not exist: " + src
	}
	c.w.perms[src] = fsPerm(fields, 2, 0o644)
	return pb{}, "", ""
}
