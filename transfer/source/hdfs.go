package source

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colinmarc/hdfs/v2"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/chama-data/chama/config"
)

// HDFSOptions say how to reach an HDFS cluster.
type HDFSOptions struct {
	// Name names the source in messages.
	Name string
	// Namenodes are host:port RPC addresses; with HA, all of them, tried in
	// order and again on a failover (StandbyException).
	Namenodes []string
	// User is the HDFS user (ignored with Kerberos: the principal's).
	User string
	// Root is the HDFS folder paths are relative to (default "/").
	Root string
	// UseDatanodeHostname dials datanodes by name instead of IP.
	UseDatanodeHostname bool
	// Kerberos, when set, authenticates with a keytab or a ticket cache
	// (config.Source.HDFSClientConfig fills in the defaults).
	Kerberos *config.Kerberos
	// DataTransferProtection: "", authentication, integrity or privacy.
	DataTransferProtection string
	// Timeout bounds each namenode exchange and each datanode read.
	Timeout time.Duration
	// ConnectTimeout bounds each TCP connect.
	ConnectTimeout time.Duration
	// Clients is how many namenode connections to spread calls over.
	Clients int
}

// ErrUnavailable is in the chain of an HDFS source's error when the
// cluster could not be reached at all: no namenode could be connected to
// (each one refused the connection, did not accept it within the connect
// timeout, or failed the connection's handshake: colinmarc/hdfs's "no
// available namenodes"). Running again later can succeed, so a stage
// exits 3 (exit.Partial) on it: test it with errors.Is(err,
// source.ErrUnavailable), never with the message. The error's message is
// "hdfs unavailable: " and the detail. (colinmarc/hdfs words a Kerberos
// handshake every namenode refused the same way, so that is typed too.)
var ErrUnavailable = errors.New("hdfs unavailable")

// noNamenode is how colinmarc/hdfs says that no namenode could be
// reached. It formats the last namenode's error with %s, so the network
// error is not in the chain: the words are all there is to go by, and
// unreachable is the one place that reads them.
const noNamenode = "no available namenodes"

// unreachable adds ErrUnavailable to err when err says that no namenode
// could be reached; any other error (nil too) is returned as it is.
func unreachable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), noNamenode) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// HDFS is a Source on an HDFS cluster, read with github.com/colinmarc/hdfs.
// It keeps several clients (namenode connections) and hands them out in
// turn, so concurrent listings and opens do not queue on one connection.
// Each Open gets its own reader: use one per goroutine.
type HDFS struct {
	opts HDFSOptions
	krb  *krbclient.Client

	mu      sync.Mutex // guards bpc
	clients []*clientSlot
	bpc     int // bytes per CRC, from the server defaults
	next    atomic.Uint64
	// hung namenodes (timed out) and when they may be tried first again;
	// its own lock, as timeouts happen while a slot is locked for a connect.
	hungMu sync.Mutex
	hung   map[string]time.Time
	// blockSizes remembers each listed file's block size (HDFS path ->
	// int64), saving NewHash a namenode call per file.
	blockSizes sync.Map
}

// clientSlot is one client of the pool, connected on first use; its own
// lock, so a slow connect does not hold up the connected slots.
type clientSlot struct {
	mu sync.Mutex
	c  *hdfs.Client
}

// hungCoolOff is how long a namenode that timed out is tried last by new
// clients.
const hungCoolOff = time.Minute

// markHung records that a namenode timed out.
func (h *HDFS) markHung(addr string) {
	h.hungMu.Lock()
	h.hung[addr] = time.Now().Add(hungCoolOff)
	h.hungMu.Unlock()
}

// addresses orders the namenodes for a new client: as configured, with
// namenodes that recently timed out moved to the end.
func (h *HDFS) addresses() []string {
	h.hungMu.Lock()
	defer h.hungMu.Unlock()
	var good, bad []string
	now := time.Now()
	for _, a := range h.opts.Namenodes {
		if now.Before(h.hung[a]) {
			bad = append(bad, a)
		} else {
			good = append(good, a)
		}
	}
	return append(good, bad...)
}

// NewHDFS checks the options and, with Kerberos, reads krb5.conf and the
// keytab or ticket cache; it does not connect (the first call does).
func NewHDFS(o HDFSOptions) (*HDFS, error) {
	if len(o.Namenodes) == 0 {
		return nil, errors.New("hdfs: no namenode address")
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if !path.IsAbs(o.Root) {
		return nil, fmt.Errorf("hdfs: root %q is not an absolute HDFS path", o.Root)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Clients <= 0 {
		o.Clients = 1
	}
	h := &HDFS{opts: o, clients: make([]*clientSlot, o.Clients), hung: map[string]time.Time{}}
	for i := range h.clients {
		h.clients[i] = &clientSlot{}
	}
	if k := o.Kerberos; k != nil {
		cl, err := kerberosClient(k)
		if err != nil {
			return nil, fmt.Errorf("hdfs %s: %w", o.Name, err)
		}
		h.krb = cl
	} else if o.User == "" {
		return nil, errors.New("hdfs: no user (set user, or kerberos)")
	}
	return h, nil
}

// kerberosClient loads krb5.conf and the keytab or the ticket cache and
// makes a client for the principal. Nothing secret is logged: errors name
// files, not keys or tickets.
func kerberosClient(k *config.Kerberos) (*krbclient.Client, error) {
	if k.ServicePrincipal == "" {
		return nil, errors.New("kerberos: no service_principal (the namenode SPN, e.g. nn/_HOST)")
	}
	ccache := strings.TrimPrefix(k.CCache, "FILE:")
	if k.Keytab != "" && ccache != "" {
		return nil, errors.New("kerberos: keytab and ccache are both set: use one")
	}
	if k.Keytab == "" && ccache == "" {
		return nil, errors.New("kerberos: neither keytab nor ccache (a ticket cache) is set")
	}
	if k.Keytab != "" || k.Principal != "" {
		if at := strings.LastIndex(k.Principal, "@"); at <= 0 || at == len(k.Principal)-1 {
			return nil, fmt.Errorf("kerberos principal %q: want user@REALM", k.Principal)
		}
	}
	cfg, err := krbconfig.Load(k.Krb5Conf)
	if err != nil {
		return nil, fmt.Errorf("kerberos krb5_conf %s: %w", k.Krb5Conf, err)
	}
	if ccache != "" {
		return ccacheClient(k, ccache, cfg)
	}
	if err := config.CheckSecretFile(k.Keytab); err != nil {
		return nil, fmt.Errorf("kerberos keytab: %w", err)
	}
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		return nil, fmt.Errorf("kerberos keytab %s: %w", k.Keytab, err)
	}
	at := strings.LastIndex(k.Principal, "@")
	user, realm := k.Principal[:at], k.Principal[at+1:]
	return krbclient.NewWithKeytab(user, realm, kt, cfg, krbclient.DisablePAFXFAST(true)), nil
}

// ccacheClient makes a client from a ticket cache that kinit filled: its
// TGT is used until it expires (nothing renews it: a new kinit does).
func ccacheClient(k *config.Kerberos, path string, cfg *krbconfig.Config) (*krbclient.Client, error) {
	what := "kerberos ccache"
	if k.CCacheFrom != "" {
		what += " (" + k.CCacheFrom + ")"
	}
	if err := config.CheckSecretFile(path); err != nil {
		return nil, fmt.Errorf("%s: %w: run kinit, or set kerberos.keytab", what, err)
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not a ticket cache that can be read (%v): run kinit again", what, path, err)
	}
	holder := cc.GetClientPrincipalName().PrincipalNameString() + "@" + cc.GetClientRealm()
	if k.Principal != "" && k.Principal != holder {
		return nil, fmt.Errorf("%s: %s holds the tickets of %s, not of kerberos.principal %s: kinit as %s, or fix kerberos.principal", what, path, holder, k.Principal, k.Principal)
	}
	cl, err := krbclient.NewFromCCache(cc, cfg, krbclient.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("%s: %s (tickets of %s): %v: run kinit again", what, path, holder, err)
	}
	return cl, nil
}

func (h *HDFS) String() string {
	return fmt.Sprintf("hdfs:%s%s", strings.Join(h.opts.Namenodes, ","), h.opts.Root)
}

// abs maps a source-relative path into HDFS.
func (h *HDFS) abs(p string) string { return path.Join(h.opts.Root, p) }

// client returns the next client, connecting it on first use. A failed
// connect is not kept, so the next call tries again; when no namenode
// could be reached the error is ErrUnavailable.
func (h *HDFS) client() (*hdfs.Client, error) {
	slot := h.clients[int(h.next.Add(1)%uint64(len(h.clients)))]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.c != nil {
		return slot.c, nil
	}
	if h.krb != nil {
		if err := h.krb.Login(); err != nil {
			if k := h.opts.Kerberos; k.Keytab == "" {
				// A ticket cache cannot log in again by itself.
				return nil, fmt.Errorf("hdfs %s: kerberos login with the ticket cache %s: %w (an expired ticket needs a new kinit)", h.opts.Name, k.CCache, err)
			}
			return nil, fmt.Errorf("hdfs %s: kerberos login: %w", h.opts.Name, err)
		}
	}
	dial := (&net.Dialer{Timeout: h.opts.ConnectTimeout}).DialContext
	timeout := h.opts.Timeout
	o := hdfs.ClientOptions{
		Addresses:           h.addresses(),
		User:                h.opts.User,
		UseDatanodeHostname: h.opts.UseDatanodeHostname,
		// Namenode connections get a deadline on every read and write, so
		// a hung namenode fails the call instead of hanging the pull.
		NamenodeDialFunc: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &deadlineConn{Conn: c, timeout: timeout, onTimeout: func() { h.markHung(addr) }}, nil
		},
		DatanodeDialFunc:       dial,
		DataTransferProtection: h.opts.DataTransferProtection,
	}
	if h.krb != nil {
		o.KerberosClient = h.krb
		o.KerberosServicePrincipleName = h.opts.Kerberos.ServicePrincipal
	}
	c, err := hdfs.NewClient(o)
	if err != nil {
		return nil, unreachable(fmt.Errorf("hdfs %s: %w", h.opts.Name, err))
	}
	// Fetch the server defaults once, before the client is shared: the
	// client caches them without a lock, and the CRC chunk size is needed
	// to verify copies.
	d, err := c.ServerDefaults()
	if err != nil {
		c.Close()
		return nil, unreachable(fmt.Errorf("hdfs %s: server defaults: %w", h.opts.Name, err))
	}
	if d.BytesPerChecksum > 0 {
		h.mu.Lock()
		h.bpc = d.BytesPerChecksum
		h.mu.Unlock()
	}
	slot.c = c
	return c, nil
}

// Close closes every client.
func (h *HDFS) Close() error {
	for _, slot := range h.clients {
		slot.mu.Lock()
		if slot.c != nil {
			slot.c.Close()
			slot.c = nil
		}
		slot.mu.Unlock()
	}
	return nil
}

// List implements Source: a recursive listing, hidden and _-prefixed
// names left out.
func (h *HDFS) List(ctx context.Context, dir string) ([]FileInfo, error) {
	c, err := h.client()
	if err != nil {
		return nil, err
	}
	root := h.abs(dir)
	st, err := c.Stat(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("partition not found: %s: %w", h.describe(root), ErrNotFound)
		}
		return nil, unreachable(fmt.Errorf("%s: %w", h.describe(root), err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("partition %s is not a folder", h.describe(root))
	}
	return walkRemote(ctx, root, h.opts.Root, func(d string) ([]os.FileInfo, error) {
		fis, err := c.ReadDir(d)
		if err != nil {
			return nil, unreachable(fmt.Errorf("listing %s: %w", h.describe(d), err))
		}
		return fis, nil
	}, func(p string, fi os.FileInfo) {
		if st, ok := fi.Sys().(*hdfs.FileStatus); ok && st.GetBlocksize() > 0 {
			h.blockSizes.Store(p, int64(st.GetBlocksize()))
		}
	})
}

func (h *HDFS) describe(p string) string { return "hdfs " + h.opts.Name + ":" + p }

// Exists implements Source.
func (h *HDFS) Exists(ctx context.Context, p string) (bool, error) {
	c, err := h.client()
	if err != nil {
		return false, err
	}
	_, err = c.Stat(h.abs(p))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, unreachable(fmt.Errorf("%s: %w", h.describe(h.abs(p)), err))
	}
	return true, nil
}

// Open implements Source.
func (h *HDFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return h.OpenRange(ctx, p, 0, -1)
}

// OpenRange implements RangeOpener: n bytes from off (n < 0: to the end).
func (h *HDFS) OpenRange(ctx context.Context, p string, off, n int64) (io.ReadCloser, error) {
	c, err := h.client()
	if err != nil {
		return nil, err
	}
	f, err := c.Open(h.abs(p))
	if err != nil {
		return nil, unreachable(fmt.Errorf("%s: %w", h.describe(h.abs(p)), err))
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, unreachable(fmt.Errorf("%s: seek to %d: %w", h.describe(h.abs(p)), off, err))
		}
	}
	r := &hdfsReader{f: f, ctx: ctx, timeout: h.opts.Timeout, name: h.describe(h.abs(p)), left: n, off: off}
	r.stop = context.AfterFunc(ctx, func() { f.SetDeadline(time.Unix(1, 0)) })
	return r, nil
}

// NewHash implements Verifier: the checksum FileReader.Checksum gives,
// computed from the bytes (block size from the file's status, CRC chunk
// size from the server defaults, CRC32C, the HDFS default; AltHashes
// covers files written with CRC32).
func (h *HDFS) NewHash(ctx context.Context, p string) (hash.Hash, error) {
	return h.newHash(p, castagnoli)
}

// AltHashes implements AltVerifier: the same checksum over CRC32 (IEEE),
// the type of files written by old clients or with dfs.checksum.type CRC32.
func (h *HDFS) AltHashes(ctx context.Context, p string) ([]hash.Hash, error) {
	x, err := h.newHash(p, crc32.IEEETable)
	if err != nil {
		return nil, err
	}
	return []hash.Hash{x}, nil
}

func (h *HDFS) newHash(p string, table *crc32.Table) (hash.Hash, error) {
	c, err := h.client() // also fetches the server defaults (bpc)
	if err != nil {
		return nil, err
	}
	bs := int64(0)
	if v, ok := h.blockSizes.Load(h.abs(p)); ok {
		bs = v.(int64)
	} else {
		fi, err := c.Stat(h.abs(p))
		if err != nil {
			return nil, unreachable(fmt.Errorf("%s: %w", h.describe(h.abs(p)), err))
		}
		if st, ok := fi.Sys().(*hdfs.FileStatus); ok {
			bs = int64(st.GetBlocksize())
		}
	}
	if bs <= 0 {
		return nil, fmt.Errorf("%s: the namenode gave no block size", h.describe(h.abs(p)))
	}
	h.mu.Lock()
	bpc := h.bpc
	h.mu.Unlock()
	if bpc <= 0 {
		bpc = 512
	}
	return NewHDFSChecksumCRC(bs, bpc, table), nil
}

// Sum implements Verifier: the size and FileReader.Checksum of the file
// as it is now.
func (h *HDFS) Sum(ctx context.Context, p string) (int64, []byte, error) {
	c, err := h.client()
	if err != nil {
		return 0, nil, err
	}
	f, err := c.Open(h.abs(p))
	if err != nil {
		return 0, nil, unreachable(fmt.Errorf("%s: %w", h.describe(h.abs(p)), err))
	}
	defer f.Close()
	// One deadline covers every block's checksum call: allow one timeout
	// per 64 blocks of 128 MiB.
	f.SetDeadline(time.Now().Add(h.opts.Timeout * time.Duration(1+f.Stat().Size()>>33)))
	sum, err := f.Checksum()
	if err != nil {
		return 0, nil, unreachable(fmt.Errorf("%s: checksum: %w", h.describe(h.abs(p)), err))
	}
	return f.Stat().Size(), sum, nil
}

// hdfsReader gives a FileReader a fresh deadline before every read (so a
// stalled datanode fails the read after Timeout) and aborts it when the
// context ends.
type hdfsReader struct {
	f       *hdfs.FileReader
	ctx     context.Context
	stop    func() bool
	timeout time.Duration
	name    string
	left    int64 // bytes still wanted; < 0: to the end
	off     int64
}

func (r *hdfsReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.left > 0 && int64(len(b)) > r.left {
		b = b[:r.left]
	}
	r.f.SetDeadline(time.Now().Add(r.timeout))
	n, err := r.f.Read(b)
	r.off += int64(n)
	if r.left > 0 {
		r.left -= int64(n)
	}
	if err != nil && err != io.EOF {
		if cerr := r.ctx.Err(); cerr != nil {
			err = cerr
		}
		return n, unreachable(fmt.Errorf("%s at byte %d: %w", r.name, r.off, err))
	}
	return n, err
}

func (r *hdfsReader) Close() error {
	r.stop()
	return r.f.Close()
}

// deadlineConn sets a deadline before each read and write: the namenode
// client has no timeouts of its own. A connection that timed out is
// closed, because a late answer would be read as the answer to the next
// call; the client then fails over to the next namenode.
type deadlineConn struct {
	net.Conn
	timeout   time.Duration
	onTimeout func()
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(b)
	c.closeOnTimeout(err)
	return n, err
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Write(b)
	c.closeOnTimeout(err)
	return n, err
}

func (c *deadlineConn) closeOnTimeout(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.Conn.Close()
		c.onTimeout()
	}
}
