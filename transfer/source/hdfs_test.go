package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/hdfstest"
)

func hdfsCluster(t *testing.T, o hdfstest.Options) (*hdfstest.Cluster, string) {
	t.Helper()
	o.Root = t.TempDir()
	c, err := hdfstest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, o.Root
}

func hdfsSource(t *testing.T, addrs []string, root string) *HDFS {
	t.Helper()
	h, err := NewHDFS(HDFSOptions{Name: "test", Namenodes: addrs, User: "chama", Root: root, Timeout: 10 * time.Second, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func randomFile(t *testing.T, p string, n int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHDFSListOpenRangeAndVerify(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 32 << 10, Datanodes: 2})
	part := filepath.Join(dir, "warehouse", "ods", "dt=20241212", "hour=07")
	a := randomFile(t, filepath.Join(part, "000000_0"), 100_000, 1)
	randomFile(t, filepath.Join(part, "sub", "000001_0"), 3, 2)
	randomFile(t, filepath.Join(part, "_SUCCESS"), 0, 3)
	randomFile(t, filepath.Join(part, ".000002_0.inprogress"), 5, 4)
	randomFile(t, filepath.Join(part, "_temporary", "x"), 5, 5)
	h := hdfsSource(t, c.Addrs(), "/warehouse")
	ctx := context.Background()

	fis, err := h.List(ctx, "ods/dt=20241212/hour=07")
	if err != nil {
		t.Fatal(err)
	}
	if len(fis) != 2 || fis[0].Path != "ods/dt=20241212/hour=07/000000_0" || fis[0].Size != 100_000 ||
		fis[1].Path != "ods/dt=20241212/hour=07/sub/000001_0" {
		t.Fatalf("listing: %+v", fis)
	}
	if _, err := h.List(ctx, "ods/dt=20241212/hour=08"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing partition: %v, want ErrNotFound", err)
	}
	if ok, err := h.Exists(ctx, "ods/dt=20241212/hour=07/_SUCCESS"); !ok || err != nil {
		t.Fatalf("marker: %v %v", ok, err)
	}
	if ok, err := h.Exists(ctx, "ods/dt=20241212/hour=08/_SUCCESS"); ok || err != nil {
		t.Fatalf("missing marker: %v %v", ok, err)
	}

	p := "ods/dt=20241212/hour=07/000000_0"
	hash, err := h.NewHash(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := io.Copy(io.MultiWriter(&got, hash), r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !bytes.Equal(got.Bytes(), a) {
		t.Fatal("Open returned other bytes")
	}
	size, sum, err := h.Sum(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if size != 100_000 || !bytes.Equal(sum, hash.Sum(nil)) {
		t.Fatalf("store says %d bytes %x, local copy %x", size, sum, hash.Sum(nil))
	}

	rr, err := h.OpenRange(ctx, p, 40_000, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := io.ReadAll(rr)
	rr.Close()
	if err != nil || !bytes.Equal(rb, a[40_000:70_000]) {
		t.Fatalf("range read: %d bytes, %v", len(rb), err)
	}
}

func TestHDFSChecksumDetectsOtherBytes(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 16 << 10})
	randomFile(t, filepath.Join(dir, "f"), 50_000, 9)
	h := hdfsSource(t, c.Addrs(), "/")
	ctx := context.Background()
	hash, _ := h.NewHash(ctx, "f")
	b, _ := os.ReadFile(filepath.Join(dir, "f"))
	b[49_999] ^= 1 // one bit in the last block
	hash.Write(b)
	_, sum, err := h.Sum(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sum, hash.Sum(nil)) {
		t.Fatal("a flipped bit went unnoticed")
	}
	// And a datanode reporting a wrong block checksum is noticed too.
	c.Datanodes[0].SetFault(hdfstest.Fault{BadChecksum: true})
	_, bad, err := h.Sum(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(bad, sum) {
		t.Fatal("a wrong block checksum from the datanode did not change the file checksum")
	}
}

func TestHDFSNamenodeFailover(t *testing.T) {
	for _, mode := range []string{"refused", "standby"} {
		t.Run(mode, func(t *testing.T) {
			c, dir := hdfsCluster(t, hdfstest.Options{Namenodes: 2})
			randomFile(t, filepath.Join(dir, "p", "f"), 1000, 1)
			if mode == "refused" {
				c.Namenodes[0].Stop()
			} else {
				c.Namenodes[0].SetStandby(true)
			}
			h := hdfsSource(t, c.Addrs(), "/")
			fis, err := h.List(context.Background(), "p")
			if err != nil || len(fis) != 1 {
				t.Fatalf("list through failover: %v %v", fis, err)
			}
			if c.Namenodes[1].Calls("getListing") == 0 {
				t.Fatal("the second namenode was never asked")
			}
			if mode == "standby" && c.Namenodes[0].Calls("getServerDefaults") == 0 {
				t.Fatal("the standby namenode was never tried first")
			}
		})
	}
}

func TestHDFSDatanodeDiesMidBlockSecondReplicaServes(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 256 << 10, Datanodes: 2})
	a := randomFile(t, filepath.Join(dir, "f"), 200_000, 3) // one block
	// Block 0 lists datanode 0 first; it hangs up 70,000 bytes in.
	c.Datanodes[0].SetFault(hdfstest.Fault{CloseAfter: 70_000})
	h := hdfsSource(t, c.Addrs(), "/")
	r, err := h.Open(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, a) {
		t.Fatalf("got %d bytes, not the file", len(got))
	}
	if c.Datanodes[0].Reads() == 0 || c.Datanodes[1].Reads() == 0 {
		t.Fatalf("reads: dn0 %d, dn1 %d: the cut and the second replica were not both used", c.Datanodes[0].Reads(), c.Datanodes[1].Reads())
	}
}

func TestHDFSSlowDatanodeTimesOut(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 1 << 20})
	randomFile(t, filepath.Join(dir, "f"), 300_000, 3)
	c.Datanodes[0].SetFault(hdfstest.Fault{PacketDelay: 2 * time.Second})
	h, err := NewHDFS(HDFSOptions{Name: "slow", Namenodes: c.Addrs(), User: "chama", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := h.Open(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "hdfs slow:/f at byte") {
		t.Fatalf("a stalled datanode gave %v, want a timeout naming the file and offset", err)
	}
}

func TestOpenAndKerberosConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Sources: map[string]*config.Source{
		"local": {Type: "file", Root: dir},
		"nn":    {Type: "hdfs", Namenodes: []string{"127.0.0.1:1"}, User: "u"},
		"krb": {Type: "hdfs", Namenodes: []string{"127.0.0.1:1"}, HDFS: config.SourceHDFS{Kerberos: &config.Kerberos{
			Krb5Conf: filepath.Join(dir, "krb5.conf"), Keytab: filepath.Join(dir, "missing.keytab"),
			Principal: "etl@EXAMPLE.COM", ServicePrincipal: "nn/_HOST"}}},
	}}
	if s, err := Open(cfg, "local"); err != nil || s.String() != "file:"+dir {
		t.Fatalf("file source: %v %v", s, err)
	}
	s, err := Open(cfg, "nn")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: the first call fails, naming the source.
	if _, err := s.List(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "hdfs nn") {
		t.Fatalf("unreachable namenode: %v", err)
	}
	Close(s)
	if err := os.WriteFile(filepath.Join(dir, "krb5.conf"), []byte("[libdefaults]\n default_realm = EXAMPLE.COM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(cfg, "krb")
	if err == nil || !strings.Contains(err.Error(), "missing.keytab") {
		t.Fatalf("missing keytab: %v, want an error naming the file", err)
	}
	if _, err := Open(cfg, "nope"); err == nil {
		t.Fatal("unknown source accepted")
	}
}

func TestHDFSSpreadsCallsOverClients(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{})
	randomFile(t, filepath.Join(dir, "p", "f"), 10, 1)
	h, err := NewHDFS(HDFSOptions{Name: "t", Namenodes: c.Addrs(), User: "chama", Clients: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i := 0; i < 6; i++ {
		if _, err := h.List(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Namenodes[0].Connections(); n != 3 {
		t.Fatalf("%d namenode connections for 3 clients", n)
	}
}

func TestHDFSUseDatanodeHostname(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{})
	a := randomFile(t, filepath.Join(dir, "f"), 5000, 1)
	// The test datanodes call themselves "localhost".
	h, err := NewHDFS(HDFSOptions{Name: "t", Namenodes: c.Addrs(), User: "chama", UseDatanodeHostname: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := h.Open(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("read by datanode hostname: %d bytes, %v", len(got), err)
	}
}

func TestHDFSHungNamenodeTimesOutThenFailsOver(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{Namenodes: 2})
	randomFile(t, filepath.Join(dir, "p", "f"), 10, 1)
	h, err := NewHDFS(HDFSOptions{Name: "t", Namenodes: c.Addrs(), User: "chama", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c.Namenodes[0].SetDelay(time.Minute)
	if _, err := h.List(context.Background(), "p"); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("a hung namenode: %v, want a timeout", err)
	}
	// The timed-out connection was dropped: the next call goes to the
	// other namenode instead of reading a stale answer.
	fis, err := h.List(context.Background(), "p")
	if err != nil || len(fis) != 1 {
		t.Fatalf("after the timeout: %v %v", fis, err)
	}
	if c.Namenodes[1].Calls("getListing") == 0 {
		t.Fatal("the second namenode was not used")
	}
}

// With a keytab and krb5.conf the source is built without a KDC; the first
// call logs in, and an unreachable KDC is an error that says so (and never
// shows a key).
func TestHDFSKerberosPlumbing(t *testing.T) {
	dir := t.TempDir()
	kt := keytab.New()
	pw := fmt.Sprintf("%016x", rand.Uint64()) // made up per run, never written down
	if err := kt.AddEntry("etl", "EXAMPLE.COM", pw, time.Unix(0, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(dir, "etl.keytab")
	os.WriteFile(ktPath, b, 0o600)
	conf := filepath.Join(dir, "krb5.conf")
	os.WriteFile(conf, []byte("[libdefaults]\n default_realm = EXAMPLE.COM\n dns_lookup_kdc = false\n udp_preference_limit = 1\n[realms]\n EXAMPLE.COM = {\n  kdc = 127.0.0.1:1\n }\n"), 0o644)
	h, err := NewHDFS(HDFSOptions{Name: "secure", Namenodes: []string{"127.0.0.1:1"}, Timeout: time.Second,
		Kerberos: &config.Kerberos{Krb5Conf: conf, Keytab: ktPath, Principal: "etl@EXAMPLE.COM", ServicePrincipal: "nn/_HOST"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, err = h.List(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "kerberos login") || strings.Contains(err.Error(), pw) {
		t.Fatalf("login against no KDC: %v", err)
	}
	if _, err := NewHDFS(HDFSOptions{Namenodes: []string{"a:1"}, Kerberos: &config.Kerberos{Krb5Conf: conf, Keytab: ktPath, Principal: "etl", ServicePrincipal: "nn/_HOST"}}); err == nil {
		t.Fatal("a principal without a realm was accepted")
	}
}
