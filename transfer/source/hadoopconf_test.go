package source

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/test/testdata"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/hdfstest"
)

// writeHadoopConf writes a Hadoop client configuration as a cluster's
// edge node has it: fs.defaultFS hdfs://ns1 in core-site.xml, the HA
// nameservice ns1 (nn1, nn2 at addrs) in hdfs-site.xml, plus extra
// properties for hdfs-site.xml.
func writeHadoopConf(t *testing.T, dir string, addrs []string, extra map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, props [][2]string) {
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n")
		for _, p := range props {
			fmt.Fprintf(&b, "  <property>\n    <name>%s</name>\n    <value>%s</value>\n  </property>\n", p[0], p[1])
		}
		b.WriteString("</configuration>\n")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("core-site.xml", [][2]string{{"fs.defaultFS", "hdfs://ns1"}})
	props := [][2]string{
		{"dfs.nameservices", "ns1"},
		{"dfs.ha.namenodes.ns1", "nn1,nn2"},
		{"dfs.namenode.rpc-address.ns1.nn1", addrs[0]},
		{"dfs.namenode.rpc-address.ns1.nn2", addrs[1]},
	}
	for k, v := range extra {
		props = append(props, [2]string{k, v})
	}
	write("hdfs-site.xml", props)
}

// loadConfig writes chama.yaml with the source hdfs1 (its keys in
// source) and loads it as chama does.
func loadConfig(t *testing.T, dir, source string) *config.Config {
	t.Helper()
	y := "sources:\n  hdfs1:\n    type: hdfs\n    root: /warehouse\n    timeout: 10s\n" + source +
		"interfaces:\n  \"51007\": {source: hdfs1, path: \"ods/dt={date}/hour={hour}\"}\n"
	p := filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// captureLog sends slog's default logger to a buffer for the test.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

// listAndRead lists the partition through a fresh source.Open and reads
// its file back.
func listAndRead(t *testing.T, cfg *config.Config, want []byte) {
	t.Helper()
	s, err := Open(cfg, "hdfs1")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(s)
	ctx := context.Background()
	fis, err := s.List(ctx, "ods/dt=20241212/hour=07")
	if err != nil || len(fis) != 1 || fis[0].Path != "ods/dt=20241212/hour=07/000000_0" {
		t.Fatalf("listing: %+v %v", fis, err)
	}
	r, err := s.Open(ctx, fis[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the file's %d", len(got), err, len(want))
	}
}

// The real path: a Hadoop conf dir naming an HA nameservice drives
// source.Open with no namenodes in chama.yaml, and with nn1 down the
// source fails over to nn2.
func TestOpenHadoopConfNameserviceFailover(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	c, root := hdfsCluster(t, hdfstest.Options{Namenodes: 2})
	a := randomFile(t, filepath.Join(root, "warehouse", "ods", "dt=20241212", "hour=07", "000000_0"), 70_000, 1)
	dir := t.TempDir()
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), c.Addrs(), nil)
	cfg := loadConfig(t, dir, "    user: chama\n    hadoop_conf_dir: hadoop\n")
	if len(cfg.Sources["hdfs1"].Namenodes) != 0 {
		t.Fatal("the config has namenodes")
	}
	log := captureLog(t)

	listAndRead(t, cfg, a)
	if c.Namenodes[0].Calls("getListing") == 0 {
		t.Fatal("nn1, listed first in dfs.ha.namenodes.ns1, was not asked")
	}
	line := log.String()
	for _, want := range []string{"hdfs source: Hadoop client configuration", "source=hdfs1", "conf_dir=" + filepath.Join(dir, "hadoop"),
		"conf_dir_from=hadoop_conf_dir", "namenodes " + strings.Join(c.Addrs(), ",") + " (nameservice ns1 of fs.defaultFS hdfs://ns1"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q:\n%s", want, line)
		}
	}

	c.Namenodes[0].Stop()
	before := c.Namenodes[1].Calls("getListing")
	listAndRead(t, cfg, a)
	if c.Namenodes[1].Calls("getListing") == before {
		t.Fatal("with nn1 down, nn2 was not asked")
	}
}

// Without hadoop_conf_dir, $HADOOP_CONF_DIR is read, and the log says so.
func TestOpenHadoopConfFromEnvironment(t *testing.T) {
	c, root := hdfsCluster(t, hdfstest.Options{Namenodes: 2})
	a := randomFile(t, filepath.Join(root, "warehouse", "ods", "dt=20241212", "hour=07", "000000_0"), 1000, 2)
	conf := filepath.Join(t.TempDir(), "conf")
	writeHadoopConf(t, conf, c.Addrs(), nil)
	t.Setenv("HADOOP_CONF_DIR", conf)
	cfg := loadConfig(t, t.TempDir(), "    user: chama\n")
	log := captureLog(t)
	listAndRead(t, cfg, a)
	if !strings.Contains(log.String(), "conf_dir="+conf+" conf_dir_from=$HADOOP_CONF_DIR") {
		t.Errorf("log does not say the conf dir came from the environment:\n%s", log)
	}
}

func TestOpenHadoopConfUnknownNameservice(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	conf := filepath.Join(dir, "hadoop")
	writeHadoopConf(t, conf, []string{"127.0.0.1:1", "127.0.0.1:2"}, nil)
	cfg := loadConfig(t, dir, "    user: chama\n    hadoop_conf_dir: hadoop\n    nameservice: prod\n")
	_, err := Open(cfg, "hdfs1")
	want := "sources.hdfs1.nameservice: prod is not a nameservice of the Hadoop conf dir " + conf + " (dfs.nameservices: ns1)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// namenodes and use_datanode_hostname in chama.yaml win over the conf
// dir's (whose namenodes point nowhere here), and the source reads for
// real; without the key, the conf dir's datanode setting comes through.
func TestOpenHadoopConfExplicitKeysWin(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	c, root := hdfsCluster(t, hdfstest.Options{})
	a := randomFile(t, filepath.Join(root, "warehouse", "ods", "dt=20241212", "hour=07", "000000_0"), 1000, 3)
	dir := t.TempDir()
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), []string{"127.0.0.1:1", "127.0.0.1:2"},
		map[string]string{"dfs.client.use.datanode.hostname": "true"})
	explicit := fmt.Sprintf("    user: chama\n    hadoop_conf_dir: hadoop\n    namenodes: [%q]\n", c.Addrs()[0])
	for yaml, hostname := range map[string]bool{explicit + "    use_datanode_hostname: false\n": false, explicit: true} {
		cfg := loadConfig(t, dir, yaml)
		s, err := Open(cfg, "hdfs1")
		if err != nil {
			t.Fatal(err)
		}
		o := s.(*HDFS).opts
		Close(s)
		if len(o.Namenodes) != 1 || o.Namenodes[0] != c.Addrs()[0] || o.UseDatanodeHostname != hostname {
			t.Fatalf("%s: options %+v", yaml, o)
		}
		listAndRead(t, cfg, a) // the test datanodes call themselves localhost
	}
}

// dfs.data.transfer.protection reaches the HDFS client options, and an
// explicit data_transfer_protection wins over it.
func TestOpenHadoopConfDataTransferProtection(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), []string{"127.0.0.1:1", "127.0.0.1:2"},
		map[string]string{"dfs.data.transfer.protection": "integrity"})
	for yaml, want := range map[string]string{"": "integrity", "    data_transfer_protection: privacy\n": "privacy"} {
		cfg := loadConfig(t, dir, "    user: chama\n    hadoop_conf_dir: hadoop\n"+yaml)
		s, err := Open(cfg, "hdfs1")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.(*HDFS).opts.DataTransferProtection; got != want {
			t.Errorf("with %q: protection %q, want %q", yaml, got, want)
		}
		Close(s)
	}
}

// writeCCache writes gokrb5's test ticket cache (testuser1@TEST.GOKRB5,
// its tickets long expired) and a krb5.conf for its realm.
func writeCCache(t *testing.T, dir string) (ccache, krb5conf string) {
	t.Helper()
	b, err := hex.DecodeString(testdata.CCACHE_TEST)
	if err != nil {
		t.Fatal(err)
	}
	ccache = filepath.Join(dir, "krb5cc_test")
	if err := os.WriteFile(ccache, b, 0o600); err != nil {
		t.Fatal(err)
	}
	krb5conf = filepath.Join(dir, "krb5.conf")
	os.WriteFile(krb5conf, []byte("[libdefaults]\n default_realm = TEST.GOKRB5\n dns_lookup_kdc = false\n[realms]\n TEST.GOKRB5 = {\n  kdc = 127.0.0.1:1\n }\n"), 0o644)
	return ccache, krb5conf
}

// A ticket cache instead of a keytab: named in chama.yaml, or found
// through $KRB5CCNAME when the conf dir asks for Kerberos; a missing cache
// or one of another principal is an error naming the file.
func TestOpenKerberosTicketCache(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	ccache, krb5conf := writeCCache(t, dir)
	base := fmt.Sprintf("    namenodes: [\"127.0.0.1:1\"]\n    kerberos:\n      krb5_conf: %s\n      service_principal: nn/_HOST\n", krb5conf)

	cfg := loadConfig(t, dir, base+"      ccache: "+ccache+"\n")
	s, err := Open(cfg, "hdfs1")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(s)
	h := s.(*HDFS)
	if h.krb == nil || h.krb.Credentials.UserName() != "testuser1" || h.krb.Credentials.Domain() != "TEST.GOKRB5" {
		t.Fatalf("client from the ticket cache: %+v", h.krb)
	}
	// The cache's ticket has expired: the first call says what to do.
	_, err = s.List(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "kerberos login with the ticket cache "+ccache) || !strings.Contains(err.Error(), "kinit") {
		t.Fatalf("expired ticket: %v", err)
	}

	missing := filepath.Join(dir, "krb5cc_missing")
	_, err = Open(loadConfig(t, dir, base+"      ccache: "+missing+"\n"), "hdfs1")
	if err == nil || err.Error() != "hdfs hdfs1: kerberos ccache: "+missing+" does not exist: run kinit, or set kerberos.keytab" {
		t.Fatalf("missing ccache: %v", err)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+missing)
	_, err = Open(loadConfig(t, dir, base), "hdfs1")
	if err == nil || !strings.Contains(err.Error(), "kerberos ccache (from $KRB5CCNAME): "+missing+" does not exist") {
		t.Fatalf("missing ccache from KRB5CCNAME: %v", err)
	}
	_, err = Open(loadConfig(t, dir, base+"      principal: etl@TEST.GOKRB5\n      ccache: "+ccache+"\n"), "hdfs1")
	if err == nil || !strings.Contains(err.Error(), ccache+" holds the tickets of testuser1@TEST.GOKRB5, not of kerberos.principal etl@TEST.GOKRB5") {
		t.Fatalf("another principal's cache: %v", err)
	}

	// Kerberos asked for by core-site.xml only: the SPN from hdfs-site.xml,
	// the ticket cache from $KRB5CCNAME.
	t.Setenv("KRB5CCNAME", "FILE:"+ccache)
	conf := filepath.Join(dir, "hadoop")
	writeHadoopConf(t, conf, []string{"127.0.0.1:1", "127.0.0.1:2"}, map[string]string{"dfs.namenode.kerberos.principal": "nn/_HOST@TEST.GOKRB5"})
	core, _ := os.ReadFile(filepath.Join(conf, "core-site.xml"))
	core = bytes.Replace(core, []byte("</configuration>"), []byte("<property><name>hadoop.security.authentication</name><value>kerberos</value></property>\n</configuration>"), 1)
	os.WriteFile(filepath.Join(conf, "core-site.xml"), core, 0o644)
	cfg = loadConfig(t, dir, "    hadoop_conf_dir: hadoop\n")
	// krb5.conf is /etc/krb5.conf by default: point it at the test's.
	cc, err := cfg.Sources["hdfs1"].HDFSClientConfig("hdfs1")
	if err != nil {
		t.Fatal(err)
	}
	cc.Kerberos.Krb5Conf = krb5conf
	h2, err := NewHDFS(HDFSOptions{Name: "hdfs1", Namenodes: cc.Namenodes, Kerberos: cc.Kerberos})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.krb == nil || h2.krb.Credentials.UserName() != "testuser1" || h2.opts.Kerberos.ServicePrincipal != "nn/_HOST" {
		t.Fatalf("kerberos from the conf dir: %+v", h2.opts.Kerberos)
	}
}

// Keytab and ticket cache together are refused when the config loads,
// and by NewHDFS for options built by hand.
func TestKerberosKeytabAndCCacheRefused(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	y := "sources:\n  hdfs1:\n    type: hdfs\n    namenodes: [\"a:8020\"]\n    kerberos: {keytab: etl.keytab, ccache: /tmp/krb5cc_1, principal: etl@EXAMPLE.COM, service_principal: nn/_HOST}\n" +
		"interfaces:\n  \"51007\": {source: hdfs1, path: \"ods/dt={date}/hour={hour}\"}\n"
	p := filepath.Join(dir, "chama.yaml")
	os.WriteFile(p, []byte(y), 0o644)
	if _, err := config.Load(p); err == nil || !strings.Contains(err.Error(), "sources.hdfs1.kerberos: set keytab or ccache, not both") {
		t.Fatalf("load: %v", err)
	}
	_, err := NewHDFS(HDFSOptions{Name: "x", Namenodes: []string{"a:1"}, Kerberos: &config.Kerberos{Keytab: "k", CCache: "c", Principal: "etl@EXAMPLE.COM", ServicePrincipal: "nn/_HOST"}})
	if err == nil || !strings.Contains(err.Error(), "keytab and ccache are both set") {
		t.Fatalf("NewHDFS: %v", err)
	}
}
