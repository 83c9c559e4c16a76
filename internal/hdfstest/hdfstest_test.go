package hdfstest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/colinmarc/hdfs/v2"
)

func startCluster(t *testing.T, o Options) (*Cluster, string) {
	t.Helper()
	if o.Root == "" {
		o.Root = t.TempDir()
	}
	c, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, o.Root
}

func client(t *testing.T, addrs []string) *hdfs.Client {
	t.Helper()
	cl, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: addrs, User: "chama"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func writeRandom(t *testing.T, path string, n int, seed uint64) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestClientListsStatsReadsAndChecksums(t *testing.T) {
	c, root := startCluster(t, Options{BlockSize: 64 << 10, Datanodes: 2, ListLimit: 2})
	a := writeRandom(t, filepath.Join(root, "p", "dt=20241212", "hour=07", "000000_0"), 200_001, 1)
	writeRandom(t, filepath.Join(root, "p", "dt=20241212", "hour=07", "000001_0"), 10, 2)
	writeRandom(t, filepath.Join(root, "p", "dt=20241212", "hour=07", "000002_0"), 0, 3)
	writeRandom(t, filepath.Join(root, "p", "dt=20241212", "hour=07", "_SUCCESS"), 0, 4)
	cl := client(t, c.Addrs())

	fis, err := cl.ReadDir("/p/dt=20241212/hour=07")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range fis {
		names = append(names, fi.Name())
	}
	sort.Strings(names)
	want := []string{"000000_0", "000001_0", "000002_0", "_SUCCESS"}
	if len(names) != len(want) {
		t.Fatalf("listing %v, want %v (pages of 2)", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("listing %v, want %v", names, want)
		}
	}
	st, err := cl.Stat("/p/dt=20241212/hour=07/000000_0")
	if err != nil || st.Size() != int64(len(a)) || st.IsDir() {
		t.Fatalf("stat: %v %v", st, err)
	}
	if _, err := cl.Stat("/p/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat of a missing file: %v, want not exist", err)
	}
	f, err := cl.Open("/p/dt=20241212/hour=07/000000_0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, a) {
		t.Fatalf("read %d bytes, differing from the %d written", len(got), len(a))
	}
	// A read in the middle of a block, across a block boundary.
	part := make([]byte, 5000)
	if _, err := f.ReadAt(part, 65536-1234); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(part, a[65536-1234:65536-1234+5000]) {
		t.Fatal("ReadAt across a block boundary returned other bytes")
	}
	sum, err := f.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if want := FileChecksum(a, 64<<10, 512, castagnoli); !bytes.Equal(sum, want) {
		t.Fatalf("checksum %x, want %x", sum, want)
	}
	f.Close()
	empty, err := cl.ReadFile("/p/dt=20241212/hour=07/000002_0")
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty file: %d bytes, %v", len(empty), err)
	}
	if c.Datanodes[0].Reads() == 0 || c.Datanodes[1].Reads() == 0 {
		t.Errorf("reads not spread over datanodes: %d, %d", c.Datanodes[0].Reads(), c.Datanodes[1].Reads())
	}
}

func TestFaults(t *testing.T) {
	c, root := startCluster(t, Options{BlockSize: 64 << 10, Namenodes: 2, Datanodes: 2})
	a := writeRandom(t, filepath.Join(root, "f"), 100_000, 5)

	// Standby: the client fails over to the second namenode.
	c.Namenodes[0].SetStandby(true)
	cl := client(t, c.Addrs())
	if _, err := cl.Stat("/f"); err != nil {
		t.Fatal(err)
	}
	if c.Namenodes[0].Calls("getFileInfo") != 1 || c.Namenodes[1].Calls("getFileInfo") != 1 {
		t.Fatalf("getFileInfo calls: nn0 %d nn1 %d", c.Namenodes[0].Calls("getFileInfo"), c.Namenodes[1].Calls("getFileInfo"))
	}

	// A down datanode and a read hook: the other replica serves, the hook
	// sees every block read.
	c.Datanodes[0].SetFault(Fault{Down: true})
	var mu sync.Mutex
	seen := map[int]bool{}
	c.SetReadHook(func(p string, block int) {
		mu.Lock()
		seen[block] = p == "/f"
		mu.Unlock()
	})
	got, err := cl.ReadFile("/f")
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("read past a down datanode: %d bytes, %v", len(got), err)
	}
	if len(seen) != 2 || !seen[0] || !seen[1] {
		t.Fatalf("hook saw blocks %v", seen)
	}
	if c.Datanodes[0].BytesSent() != 0 {
		t.Fatal("a down datanode sent data")
	}

	// Every replica cut mid-block: the read fails rather than returning
	// short data.
	c.SetReadHook(nil)
	c.Datanodes[0].SetFault(Fault{CloseAfter: 1000})
	c.Datanodes[1].SetFault(Fault{CloseAfter: 1000})
	cl2 := client(t, c.Addrs())
	if _, err := cl2.ReadFile("/f"); err == nil {
		t.Fatal("a read with every replica cut succeeded")
	}
}

func TestUnsupportedCallsAreRefused(t *testing.T) {
	c, _ := startCluster(t, Options{})
	cl := client(t, c.Addrs())
	if err := cl.Chown("/x", "a", "b"); err == nil || !strings.Contains(err.Error(), "RpcNoSuchMethodException") {
		t.Fatalf("setOwner, which the test server does not serve: %v", err)
	}
	// A client asking for SASL (Kerberos) is refused with a fatal answer.
	conn, err := net.Dial("tcp", c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte{'h', 'r', 'p', 'c', 9, 0, 0xdf})
	resp, _ := io.ReadAll(conn)
	if !bytes.Contains(resp, []byte("SASL authentication is not supported")) {
		t.Fatalf("SASL preamble answered with %q", resp)
	}
}
