package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeHadoopConf writes core-site.xml and hdfs-site.xml (either map may
// be nil: that file is not written) into dir, as Hadoop lays them out.
func writeHadoopConf(t *testing.T, dir string, core, hdfs map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, props := range map[string]map[string]string{"core-site.xml": core, "hdfs-site.xml": hdfs} {
		if props == nil {
			continue
		}
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"configuration.xsl\"?>\n<configuration>\n")
		for _, k := range sortedKeys(props) {
			fmt.Fprintf(&b, "  <property>\n    <name>%s</name>\n    <value>%s</value>\n  </property>\n", k, props[k])
		}
		b.WriteString("</configuration>\n")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// haConf is an HA nameservice ns1 (nn1, nn2) as fs.defaultFS, plus a
// second nameservice ns2.
func haConf() (core, hdfs map[string]string) {
	return map[string]string{"fs.defaultFS": "hdfs://ns1"},
		map[string]string{
			"dfs.nameservices":                   "ns1,ns2",
			"dfs.ha.namenodes.ns1":               "nn1, nn2",
			"dfs.namenode.rpc-address.ns1.nn1":   "nn1.example:8020",
			"dfs.namenode.rpc-address.ns1.nn2":   "nn2.example:8020",
			"dfs.ha.namenodes.ns2":               "a",
			"dfs.namenode.rpc-address.ns2.a":     "other.example:8020",
			"dfs.namenode.http-address.ns1.nn1":  "nn1.example:9870",
			"dfs.client.failover.proxy.provider": "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
		}
}

// loadYAML writes chama.yaml into dir and loads it (Load: paths resolved
// against the file, as in production).
func loadYAML(t *testing.T, dir, source string) (*Config, error) {
	t.Helper()
	y := "sources:\n  hdfs1:\n" + source + "interfaces:\n  \"51007\": {source: hdfs1, path: \"ods/dt={date}/hour={hour}\"}\n"
	p := filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func clientConfig(t *testing.T, dir, source string) (*HDFSClientConfig, error) {
	t.Helper()
	c, err := loadYAML(t, dir, source)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c.Sources["hdfs1"].HDFSClientConfig("hdfs1")
}

// No namenodes: fs.defaultFS names the HA nameservice, whose namenodes
// come in the order dfs.ha.namenodes lists them; hadoop_conf_dir is
// relative to the config file.
func TestHadoopConfDefaultFSNameservice(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	core, hdfs := haConf()
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), core, hdfs)
	cc, err := clientConfig(t, dir, "    type: hdfs\n    user: etl\n    hadoop_conf_dir: hadoop\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nn1.example:8020", "nn2.example:8020"}; !reflect.DeepEqual(cc.Namenodes, want) {
		t.Errorf("namenodes %v, want %v", cc.Namenodes, want)
	}
	if cc.ConfDir != filepath.Join(dir, "hadoop") || cc.ConfDirFrom != "hadoop_conf_dir" || cc.Kerberos != nil {
		t.Errorf("conf dir %q from %q, kerberos %+v", cc.ConfDir, cc.ConfDirFrom, cc.Kerberos)
	}
	if len(cc.Resolved) != 1 || !strings.Contains(cc.Resolved[0], "nameservice ns1 of fs.defaultFS hdfs://ns1") {
		t.Errorf("resolved: %q", cc.Resolved)
	}

	// nameservice: picks another nameservice of the same files.
	cc, err = clientConfig(t, dir, "    type: hdfs\n    user: etl\n    hadoop_conf_dir: hadoop\n    nameservice: ns2\n")
	if err != nil || !reflect.DeepEqual(cc.Namenodes, []string{"other.example:8020"}) {
		t.Fatalf("nameservice ns2: %v %v", cc, err)
	}
}

// Without hadoop_conf_dir, $HADOOP_CONF_DIR is used, and then a source
// needs no namenodes to load; without either it does.
func TestHadoopConfFromEnvironment(t *testing.T) {
	dir, conf := t.TempDir(), t.TempDir()
	core, hdfs := haConf()
	writeHadoopConf(t, conf, core, hdfs)
	t.Setenv("HADOOP_CONF_DIR", conf)
	cc, err := clientConfig(t, dir, "    type: hdfs\n    user: etl\n")
	if err != nil {
		t.Fatal(err)
	}
	if cc.ConfDir != conf || cc.ConfDirFrom != "$HADOOP_CONF_DIR" || len(cc.Namenodes) != 2 {
		t.Errorf("from the environment: %+v", cc)
	}
	// hadoop_conf_dir: none turns the environment's conf dir off.
	_, err = loadYAML(t, dir, "    type: hdfs\n    user: etl\n    hadoop_conf_dir: none\n")
	if err == nil || !strings.Contains(err.Error(), "sources.hdfs1.namenodes: an hdfs source needs namenode addresses (host:port), or a Hadoop conf dir") ||
		!strings.Contains(err.Error(), "hadoop_conf_dir is none") {
		t.Errorf("hadoop_conf_dir: none and no namenodes: %v", err)
	}
	t.Setenv("HADOOP_CONF_DIR", "")
	_, err = loadYAML(t, dir, "    type: hdfs\n    user: etl\n")
	if err == nil || !strings.Contains(err.Error(), "$HADOOP_CONF_DIR is not set") {
		t.Errorf("no namenodes and no conf dir: %v", err)
	}
}

func TestHadoopConfUnknownNameservice(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	conf := filepath.Join(dir, "hadoop")
	core, hdfs := haConf()
	writeHadoopConf(t, conf, core, hdfs)
	_, err := clientConfig(t, dir, "    type: hdfs\n    user: etl\n    hadoop_conf_dir: hadoop\n    nameservice: ns9\n")
	want := "sources.hdfs1.nameservice: ns9 is not a nameservice of the Hadoop conf dir " + conf + " (dfs.nameservices: ns1, ns2)"
	if err == nil || err.Error() != want {
		t.Fatalf("unknown nameservice:\n got %v\nwant %s", err, want)
	}
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Errorf("%T, want *Problems", err)
	}
	// The same through fs.defaultFS.
	core["fs.defaultFS"] = "hdfs://ns9"
	writeHadoopConf(t, conf, core, nil)
	_, err = clientConfig(t, dir, "    type: hdfs\n    user: etl\n    hadoop_conf_dir: hadoop\n")
	if err == nil || !strings.Contains(err.Error(), `sources.hdfs1.namenodes: not set, and fs.defaultFS in `+filepath.Join(conf, "core-site.xml")+` is "hdfs://ns9", but ns9 is not a nameservice`) {
		t.Fatalf("fs.defaultFS naming an unknown nameservice: %v", err)
	}
}

// Every chama.yaml key wins over the conf dir; the conf dir is then only
// read, and nothing is reported as resolved.
func TestHadoopConfExplicitKeysWin(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	core, hdfs := haConf()
	core["hadoop.security.authentication"] = "kerberos"
	hdfs["dfs.data.transfer.protection"] = "privacy"
	hdfs["dfs.client.use.datanode.hostname"] = "true"
	hdfs["dfs.namenode.kerberos.principal"] = "nn/_HOST@EXAMPLE.COM"
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), core, hdfs)
	cc, err := clientConfig(t, dir, `    type: hdfs
    hadoop_conf_dir: hadoop
    namenodes: ["a.example:8020", "b.example:8020"]
    data_transfer_protection: integrity
    use_datanode_hostname: false
    kerberos:
      keytab: etl.keytab
      principal: etl@EXAMPLE.COM
      service_principal: hdfs/_HOST
`)
	if err != nil {
		t.Fatal(err)
	}
	k := cc.Kerberos
	if !reflect.DeepEqual(cc.Namenodes, []string{"a.example:8020", "b.example:8020"}) || cc.DataTransferProtection != "integrity" ||
		cc.UseDatanodeHostname || k == nil || k.ServicePrincipal != "hdfs/_HOST" || k.Keytab != filepath.Join(dir, "etl.keytab") || k.CCache != "" {
		t.Errorf("explicit keys lost: %+v kerberos %+v", cc, k)
	}
	if len(cc.Resolved) != 0 {
		t.Errorf("resolved although everything was set: %q", cc.Resolved)
	}
}

// What chama.yaml leaves unset comes from the conf dir: data-transfer
// protection, datanode hostnames, Kerberos (with the SPN from hdfs-site.xml
// and the ticket cache from $KRB5CCNAME).
func TestHadoopConfFillsSecuritySettings(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	dir := t.TempDir()
	core, hdfs := haConf()
	core["hadoop.security.authentication"] = "Kerberos"
	hdfs["dfs.data.transfer.protection"] = " privacy\n"
	hdfs["dfs.client.use.datanode.hostname"] = "TRUE"
	hdfs["dfs.namenode.kerberos.principal"] = "nn/_HOST@EXAMPLE.COM"
	writeHadoopConf(t, filepath.Join(dir, "hadoop"), core, hdfs)
	t.Setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_4242")
	cc, err := clientConfig(t, dir, "    type: hdfs\n    hadoop_conf_dir: hadoop\n")
	if err != nil {
		t.Fatal(err)
	}
	want := &Kerberos{Krb5Conf: DefaultKrb5Conf, CCache: "/tmp/krb5cc_4242", CCacheFrom: "from $KRB5CCNAME", ServicePrincipal: "nn/_HOST"}
	if cc.DataTransferProtection != "privacy" || !cc.UseDatanodeHostname || !reflect.DeepEqual(cc.Kerberos, want) {
		t.Errorf("got %+v kerberos %+v, want kerberos %+v", cc, cc.Kerberos, want)
	}
	if got := strings.Join(cc.Resolved, "; "); !strings.Contains(got, "data_transfer_protection privacy (dfs.data.transfer.protection in "+filepath.Join(dir, "hadoop", "hdfs-site.xml")) ||
		!strings.Contains(got, "kerberos.service_principal nn/_HOST") || !strings.Contains(got, "kerberos.ccache /tmp/krb5cc_4242 (from $KRB5CCNAME)") {
		t.Errorf("resolved: %s", got)
	}

	// A kerberos block without keytab or ccache: the ticket cache too.
	cc, err = clientConfig(t, dir, "    type: hdfs\n    hadoop_conf_dir: hadoop\n    kerberos: {krb5_conf: krb5.conf}\n")
	if err != nil || cc.Kerberos.CCache != "/tmp/krb5cc_4242" || cc.Kerberos.Krb5Conf != filepath.Join(dir, "krb5.conf") {
		t.Fatalf("kerberos block without keytab: %+v %v", cc, err)
	}
	// No KRB5CCNAME: MIT's default file.
	t.Setenv("KRB5CCNAME", "")
	if cc, err = clientConfig(t, dir, "    type: hdfs\n    hadoop_conf_dir: hadoop\n"); err != nil || cc.Kerberos.CCache != fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()) {
		t.Fatalf("default ticket cache: %+v %v", cc, err)
	}
	// A cache that is not a file cannot be read.
	t.Setenv("KRB5CCNAME", "KEYRING:persistent:1000")
	_, err = clientConfig(t, dir, "    type: hdfs\n    hadoop_conf_dir: hadoop\n")
	if err == nil || !strings.Contains(err.Error(), `sources.hdfs1.kerberos.ccache: not set, and $KRB5CCNAME is "KEYRING:persistent:1000": only a FILE: ticket cache can be read`) {
		t.Fatalf("keyring cache: %v", err)
	}
}

// Each problem of a conf dir names the key to set and the file read.
func TestHadoopConfProblems(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	t.Setenv("KRB5CCNAME", "/tmp/krb5cc_test")
	for _, tc := range []struct {
		name       string
		core, hdfs map[string]string
		raw        string // written as hdfs-site.xml instead of hdfs
		source     string // more keys of the source
		want       string // "" no error; "{dir}" is the conf dir
		namenodes  []string
	}{
		{name: "plain defaultFS", core: map[string]string{"fs.defaultFS": "hdfs://nn.example:9000/"}, namenodes: []string{"nn.example:9000"}},
		{name: "deprecated fs.default.name", core: map[string]string{"fs.default.name": "hdfs://nn.example:9000"}, namenodes: []string{"nn.example:9000"}},
		{name: "defaultFS without port", core: map[string]string{"fs.defaultFS": "hdfs://nn.example"}, namenodes: []string{"nn.example:8020"}},
		{name: "federated nameservice without HA", core: map[string]string{"fs.defaultFS": "hdfs://fed"},
			hdfs: map[string]string{"dfs.nameservices": "fed", "dfs.namenode.rpc-address.fed": "fed.example:8020"}, namenodes: []string{"fed.example:8020"}},
		{name: "no conf files", want: "sources.hdfs1.hadoop_conf_dir: hadoop conf dir {dir} holds neither core-site.xml nor hdfs-site.xml"},
		{name: "bad XML", core: map[string]string{"fs.defaultFS": "hdfs://a:1"}, raw: "<configuration><property>",
			want: "sources.hdfs1.hadoop_conf_dir: hadoop conf dir {dir}: {dir}/hdfs-site.xml is not a valid Hadoop configuration file: XML syntax error on line 1"},
		{name: "no defaultFS", hdfs: map[string]string{"dfs.replication": "3"},
			want: "sources.hdfs1.namenodes: not set, and {dir}/core-site.xml has no fs.defaultFS: set namenodes or nameservice"},
		{name: "viewfs", core: map[string]string{"fs.defaultFS": "viewfs://cluster"},
			want: `sources.hdfs1.namenodes: not set, and fs.defaultFS in {dir}/core-site.xml is "viewfs://cluster", not hdfs://<nameservice> or hdfs://host:port`},
		{name: "missing rpc address", core: map[string]string{"fs.defaultFS": "hdfs://ns1"},
			hdfs: map[string]string{"dfs.nameservices": "ns1", "dfs.ha.namenodes.ns1": "nn1,nn2", "dfs.namenode.rpc-address.ns1.nn1": "a:8020"},
			want: "sources.hdfs1.namenodes: not set, and {dir}/hdfs-site.xml lists nn2 in dfs.ha.namenodes.ns1 but has no dfs.namenode.rpc-address.ns1.nn2"},
		{name: "nameservice without namenodes", hdfs: map[string]string{"dfs.nameservices": "ns1"}, source: "    nameservice: ns1\n",
			want: "sources.hdfs1.nameservice: {dir}/hdfs-site.xml lists ns1 in dfs.nameservices but has neither dfs.ha.namenodes.ns1 nor dfs.namenode.rpc-address.ns1"},
		{name: "no nameservices at all", core: map[string]string{"fs.defaultFS": "hdfs://a:1"}, source: "    nameservice: ns1\n",
			want: "sources.hdfs1.nameservice: ns1 is not a nameservice of the Hadoop conf dir {dir} (it defines none: dfs.nameservices is not set)"},
		{name: "address without port", hdfs: map[string]string{"dfs.ha.namenodes.ns1": "nn1", "dfs.namenode.rpc-address.ns1.nn1": "a.example"}, source: "    nameservice: ns1\n",
			want: `sources.hdfs1.nameservice: dfs.namenode.rpc-address.ns1.nn1 in {dir}/hdfs-site.xml is "a.example", not host:port`},
		{name: "variable", hdfs: map[string]string{"dfs.ha.namenodes.ns1": "nn1", "dfs.namenode.rpc-address.ns1.nn1": "${nn.host}:8020"}, source: "    nameservice: ns1\n",
			want: `sources.hdfs1.nameservice: dfs.namenode.rpc-address.ns1.nn1 in {dir}/hdfs-site.xml is "${nn.host}:8020": chama does not expand ${...} variables`},
		{name: "protection list", core: map[string]string{"fs.defaultFS": "hdfs://a:1"}, hdfs: map[string]string{"dfs.data.transfer.protection": "integrity,privacy"},
			want: `sources.hdfs1.data_transfer_protection: not set, and dfs.data.transfer.protection in {dir}/hdfs-site.xml is "integrity,privacy": want one of authentication, integrity or privacy`},
		{name: "hostname not a boolean", core: map[string]string{"fs.defaultFS": "hdfs://a:1"}, hdfs: map[string]string{"dfs.client.use.datanode.hostname": "yes"},
			want: `sources.hdfs1.use_datanode_hostname: not set, and dfs.client.use.datanode.hostname in {dir}/hdfs-site.xml is "yes", not true or false`},
		{name: "unknown authentication", core: map[string]string{"fs.defaultFS": "hdfs://a:1", "hadoop.security.authentication": "token"},
			want: `sources.hdfs1.kerberos: hadoop.security.authentication in {dir}/core-site.xml is "token", not simple or kerberos`},
		{name: "kerberos without SPN", core: map[string]string{"fs.defaultFS": "hdfs://a:1", "hadoop.security.authentication": "kerberos"},
			want: "sources.hdfs1.kerberos.service_principal: missing, and {dir}/hdfs-site.xml has no dfs.namenode.kerberos.principal: give the namenode's SPN such as nn/_HOST"},
		{name: "simple without user", core: map[string]string{"fs.defaultFS": "hdfs://a:1"}, source: "    user: \"\"\n",
			want: "sources.hdfs1.user: an hdfs source needs a user (or kerberos); hadoop.security.authentication in {dir}/core-site.xml is unset (simple)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "hadoop")
			writeHadoopConf(t, conf, tc.core, tc.hdfs)
			if tc.raw != "" {
				os.WriteFile(filepath.Join(conf, "hdfs-site.xml"), []byte(tc.raw), 0o644)
			}
			src := "    type: hdfs\n    hadoop_conf_dir: hadoop\n" + tc.source
			if !strings.Contains(tc.source, "user:") {
				src += "    user: etl\n"
			}
			cc, err := clientConfig(t, dir, src)
			want := strings.ReplaceAll(tc.want, "{dir}", conf)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "" && !reflect.DeepEqual(cc.Namenodes, tc.namenodes):
				t.Fatalf("namenodes %v, want %v", cc.Namenodes, tc.namenodes)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("got  %v\nwant %s", err, want)
			}
		})
	}
}

// A conf dir that is not there is named, with what named it.
func TestHadoopConfDirMissing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	t.Setenv("HADOOP_CONF_DIR", missing)
	_, err := clientConfig(t, dir, "    type: hdfs\n    user: etl\n")
	if want := "sources.hdfs1.hadoop_conf_dir: hadoop conf dir " + missing + " (from $HADOOP_CONF_DIR) does not exist"; err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// The ways a source's namenodes and kerberos block can be wrong at load.
func TestHDFSNameserviceAndTicketCacheValidation(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	y := `
sources:
  both:
    type: hdfs
    user: etl
    hadoop_conf_dir: /etc/hadoop/conf
    namenodes: [ns1]
    nameservice: ns1
  noconf:
    type: hdfs
    user: etl
    nameservice: hdfs://ns1
  twocreds:
    type: hdfs
    namenodes: ["a:8020"]
    kerberos:
      keytab: /etc/etl.keytab
      ccache: /tmp/krb5cc_1000
      principal: etl@EXAMPLE.COM
      service_principal: nn/_HOST
  keyring:
    type: hdfs
    namenodes: ["a:8020"]
    kerberos: {ccache: "KEYRING:persistent:1000", service_principal: nn/_HOST}
  local:
    type: file
    root: /data
    nameservice: ns1
interfaces:
  "51007": {source: both, path: "ods/dt={date}"}
`
	_, err := Parse([]byte(y))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`sources.both.namenodes[0]: "ns1" is not host:port (a nameservice id goes in nameservice: ns1, resolved through hadoop_conf_dir)`,
		`sources.both.nameservice: set namenodes (host:port addresses) or nameservice, not both`,
		`sources.noconf.nameservice: give the id alone (ns1), not the URI "hdfs://ns1"`,
		`sources.noconf.nameservice: a nameservice is resolved through the Hadoop client configuration, and there is none ($HADOOP_CONF_DIR is not set)`,
		`sources.twocreds.kerberos: set keytab or ccache, not both`,
		`sources.keyring.kerberos.ccache: "KEYRING:persistent:1000": only a FILE: ticket cache`,
		`sources.local: hadoop_conf_dir and nameservice are for type: hdfs`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	for _, notWant := range []string{"sources.keyring.kerberos.principal", "sources.keyring.kerberos.keytab"} {
		if strings.Contains(err.Error(), notWant) {
			t.Errorf("a ticket cache needs no keytab or principal, got %q in:\n%v", notWant, err)
		}
	}

	// A ticket cache: FILE: is dropped, a relative path is the config's.
	dir := t.TempDir()
	c, err := loadYAML(t, dir, "    type: hdfs\n    namenodes: [\"a:8020\"]\n    kerberos: {ccache: \"FILE:cc/krb5cc\", service_principal: nn/_HOST}\n")
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Sources["hdfs1"].HDFS.Kerberos; k.CCache != filepath.Join(dir, "cc", "krb5cc") || k.Principal != "" {
		t.Errorf("ccache: %+v", k)
	}
}

// config validate (CheckFiles) reads the conf dir and checks the ticket
// cache as the stage will.
func TestCheckFilesReadsHadoopConf(t *testing.T) {
	dir := t.TempDir()
	c := &Config{Sources: map[string]*Source{"hdfs1": {Type: "hdfs", User: "chama", Root: "/wh",
		HDFS: SourceHDFS{HadoopConfDir: filepath.Join(dir, "nope")}}}}
	err := CheckFiles(c)
	if err == nil || !strings.Contains(err.Error(), "sources.hdfs1") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing conf dir: %v", err)
	}
	cc := filepath.Join(dir, "krb5cc")
	if err := os.WriteFile(cc, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Sources["hdfs1"] = &Source{Type: "hdfs", Namenodes: []string{"127.0.0.1:1"}, Root: "/wh",
		HDFS: SourceHDFS{HadoopConfDir: "none", Kerberos: &Kerberos{CCache: cc, ServicePrincipal: "nn/_HOST"}}}
	if err := CheckFiles(c); err == nil || !strings.Contains(err.Error(), "sources.hdfs1.kerberos.ccache") {
		t.Errorf("world-readable ticket cache: %v", err)
	}
}
