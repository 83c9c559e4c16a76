package config

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/colinmarc/hdfs/v2/hadoopconf"
)

// An hdfs source takes what chama.yaml leaves unset from the Hadoop
// client configuration (hadoop_conf_dir, else $HADOOP_CONF_DIR): the
// files every Hadoop client on an edge node already reads, so the
// addresses of an HA nameservice and the cluster's security settings are
// not copied by hand (and do not go stale when the cluster moves a
// namenode). A key set in chama.yaml always wins. The files are read when
// the source is opened, not at load: a config is also loaded where the
// cluster's files are not (chama status on a laptop). docs/pull.md lists
// what is read from which file.

// HDFSClientConfig is how an hdfs source connects: its chama.yaml keys,
// with the ones left unset filled in from the Hadoop conf dir.
type HDFSClientConfig struct {
	// Namenodes are the host:port RPC addresses, in failover order.
	Namenodes []string
	// UseDatanodeHostname dials datanodes by name.
	UseDatanodeHostname bool
	// DataTransferProtection: "", authentication, integrity or privacy.
	DataTransferProtection string
	// Kerberos is nil for simple authentication; otherwise a copy of the
	// source's kerberos block (or a new one when only the conf dir asks for
	// Kerberos) with the service principal and the ticket cache filled in.
	Kerberos *Kerberos
	// ConfDir is the Hadoop conf dir read ("" none) and ConfDirFrom what
	// named it: hadoop_conf_dir or $HADOOP_CONF_DIR.
	ConfDir, ConfDirFrom string
	// Resolved lists each setting taken from outside chama.yaml and where
	// from, for the log (addresses, file names, principal names: nothing
	// secret).
	Resolved []string
}

// HDFSClientConfig reads the source's Hadoop conf dir, if it has one, and
// completes its settings; name is the source's name in sources:. Every
// problem is reported (*Problems), each with the key to set and the file
// that was read.
func (s *Source) HDFSClientConfig(name string) (*HDFSClientConfig, error) {
	key := "sources." + name
	var ps []string
	bad := func(k, format string, a ...any) {
		ps = append(ps, key+k+": "+fmt.Sprintf(format, a...))
	}
	h := s.HDFS
	out := &HDFSClientConfig{Namenodes: s.Namenodes, DataTransferProtection: h.DataTransferProtection}
	if h.UseDatanodeHostname != nil {
		out.UseDatanodeHostname = *h.UseDatanodeHostname
	}
	var hc *hadoopConf
	if dir, from := s.hadoopConfDir(); dir != "" {
		c, err := loadHadoopConf(dir, from)
		if err != nil {
			bad(".hadoop_conf_dir", "%v", err)
			return nil, &Problems{List: ps}
		}
		hc, out.ConfDir, out.ConfDirFrom = c, dir, from
	}
	resolved := func(format string, a ...any) { out.Resolved = append(out.Resolved, fmt.Sprintf(format, a...)) }

	switch {
	case len(s.Namenodes) > 0:
	case hc == nil && h.Nameservice != "":
		bad(".nameservice", "a nameservice is resolved through a Hadoop conf dir: set hadoop_conf_dir (or $HADOOP_CONF_DIR), or give namenodes")
	case hc == nil:
		bad(".namenodes", "missing: give namenode addresses (host:port), or a Hadoop conf dir (hadoop_conf_dir, or $HADOOP_CONF_DIR)")
	case h.Nameservice != "":
		if nns, err := hc.nameservice(h.Nameservice); err != nil {
			bad(".nameservice", "%v", err)
		} else {
			out.Namenodes = nns
			resolved("namenodes %s (nameservice %s, %s)", strings.Join(nns, ","), h.Nameservice, hc.file("dfs.ha.namenodes"))
		}
	default:
		if nns, how, err := hc.defaultFS(); err != nil {
			bad(".namenodes", "not set, and %v", err)
		} else {
			out.Namenodes = nns
			resolved("namenodes %s (%s)", strings.Join(nns, ","), how)
		}
	}

	if hc != nil && out.DataTransferProtection == "" {
		const k = "dfs.data.transfer.protection"
		v, err := hc.get(k)
		switch v = strings.ToLower(v); {
		case err != nil:
			bad(".data_transfer_protection", "not set, and %v", err)
		case v == "":
		case v == "authentication", v == "integrity", v == "privacy":
			out.DataTransferProtection = v
			resolved("data_transfer_protection %s (%s in %s)", v, k, hc.file(k))
		default:
			bad(".data_transfer_protection", "not set, and %s in %s is %q: want one of authentication, integrity or privacy (set data_transfer_protection to choose)", k, hc.file(k), v)
		}
	}
	if hc != nil && h.UseDatanodeHostname == nil {
		const k = "dfs.client.use.datanode.hostname"
		switch v, err := hc.get(k); {
		case err != nil:
			bad(".use_datanode_hostname", "not set, and %v", err)
		case v == "":
		case strings.EqualFold(v, "true"), strings.EqualFold(v, "false"):
			out.UseDatanodeHostname = strings.EqualFold(v, "true")
			resolved("use_datanode_hostname %t (%s in %s)", out.UseDatanodeHostname, k, hc.file(k))
		default:
			bad(".use_datanode_hostname", "not set, and %s in %s is %q, not true or false", k, hc.file(k), v)
		}
	}

	s.kerberosClientConfig(out, hc, bad, resolved)
	if len(ps) > 0 {
		return nil, &Problems{List: ps}
	}
	return out, nil
}

// kerberosClientConfig decides simple or Kerberos authentication and
// completes the kerberos block: the namenode's SPN from hdfs-site.xml, the
// ticket cache from $KRB5CCNAME when there is no keytab.
func (s *Source) kerberosClientConfig(out *HDFSClientConfig, hc *hadoopConf, bad func(k, format string, a ...any), resolved func(format string, a ...any)) {
	const authKey = "hadoop.security.authentication"
	auth := ""
	if hc != nil {
		v, err := hc.get(authKey)
		if err != nil {
			bad(".kerberos", "%v", err)
			return
		}
		auth = strings.ToLower(v)
		if auth != "" && auth != "simple" && auth != "kerberos" {
			bad(".kerberos", "%s in %s is %q, not simple or kerberos", authKey, hc.file(authKey), v)
			return
		}
	}
	if s.HDFS.Kerberos == nil && auth != "kerberos" {
		if s.User == "" {
			why := "no Hadoop conf dir"
			if hc != nil {
				why = fmt.Sprintf("%s in %s is %s", authKey, hc.file(authKey), or(auth, "unset (simple)"))
			}
			bad(".user", "an hdfs source needs a user (or kerberos); %s", why)
		}
		return
	}
	var k Kerberos
	if s.HDFS.Kerberos != nil {
		k = *s.HDFS.Kerberos
	} else {
		k.Krb5Conf = DefaultKrb5Conf
		resolved("kerberos (%s in %s)", authKey, hc.file(authKey))
	}
	if k.ServicePrincipal == "" {
		const spnKey = "dfs.namenode.kerberos.principal"
		v := ""
		if hc != nil {
			var err error
			if v, err = hc.get(spnKey); err != nil {
				bad(".kerberos.service_principal", "not set, and %v", err)
				return
			}
		}
		if v == "" {
			where := "there is no Hadoop conf dir"
			if hc != nil {
				where = hc.file(spnKey) + " has no " + spnKey
			}
			bad(".kerberos.service_principal", "missing, and %s: give the namenode's SPN such as nn/_HOST", where)
			return
		}
		// nn/_HOST@REALM -> nn/_HOST: chama's SPN is without the realm.
		if at := strings.LastIndex(v, "@"); at >= 0 {
			v = v[:at]
		}
		k.ServicePrincipal = v
		resolved("kerberos.service_principal %s (%s in %s)", v, spnKey, hc.file(spnKey))
	}
	if k.Keytab == "" && k.CCache == "" {
		cc, from, err := defaultCCache()
		if err != nil {
			bad(".kerberos.ccache", "%v", err)
			return
		}
		k.CCache, k.CCacheFrom = cc, from
		resolved("kerberos.ccache %s (%s)", cc, from)
	}
	out.Kerberos = &k
}

// defaultCCache is the ticket cache a kinit of this user filled:
// $KRB5CCNAME (FILE: type only), else MIT's default /tmp/krb5cc_<uid>.
func defaultCCache() (path, from string, err error) {
	v := os.Getenv("KRB5CCNAME")
	if v == "" {
		return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), "default, as $KRB5CCNAME is not set", nil
	}
	p := strings.TrimPrefix(v, "FILE:")
	if strings.Contains(p, ":") && !strings.HasPrefix(p, "/") {
		return "", "", fmt.Errorf("not set, and $KRB5CCNAME is %q: only a FILE: ticket cache can be read; set kerberos.ccache (kinit -c FILE:/path) or kerberos.keytab", v)
	}
	return p, "from $KRB5CCNAME", nil
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// hadoopConf is a Hadoop conf dir as read by hadoopconf.Load (core-site,
// hdfs-site and mapred-site merged into one map, later files winning).
type hadoopConf struct {
	dir, from string
	conf      hadoopconf.HadoopConf
}

// loadHadoopConf reads dir; from says what named it, for messages.
func loadHadoopConf(dir, from string) (*hadoopConf, error) {
	name := dir
	if from != "hadoop_conf_dir" {
		name = fmt.Sprintf("%s (from %s)", dir, from)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("hadoop conf dir %s does not exist", name)
	case err != nil:
		return nil, fmt.Errorf("hadoop conf dir %s: %w", name, err)
	case !st.IsDir():
		return nil, fmt.Errorf("hadoop conf dir %s is not a folder", name)
	}
	c, err := hadoopconf.Load(dir)
	if err != nil {
		// The library names the folder, not the file: find the file.
		if f, xerr := badXMLFile(dir); f != "" {
			return nil, fmt.Errorf("hadoop conf dir %s: %s is not a valid Hadoop configuration file: %v", name, f, xerr)
		}
		return nil, fmt.Errorf("hadoop conf dir %s: %w", name, err)
	}
	if c == nil {
		return nil, fmt.Errorf("hadoop conf dir %s holds neither core-site.xml nor hdfs-site.xml", name)
	}
	return &hadoopConf{dir: dir, from: from, conf: c}, nil
}

// badXMLFile is the first of the files hadoopconf.Load reads that does
// not parse as XML, and the parser's error (which holds a line number,
// never the file's content).
func badXMLFile(dir string) (string, error) {
	for _, f := range []string{"core-site.xml", "hdfs-site.xml", "mapred-site.xml"} {
		p := filepath.Join(dir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var v struct{}
		if err := xml.Unmarshal(b, &v); err != nil {
			return p, err
		}
	}
	return "", nil
}

// file is the file of dir a key belongs in by Hadoop's convention: dfs.*
// in hdfs-site.xml, the rest in core-site.xml. (The files are merged when
// read, so a message names where the key is expected.)
func (h *hadoopConf) file(key string) string {
	if strings.HasPrefix(key, "dfs.") {
		return filepath.Join(h.dir, "hdfs-site.xml")
	}
	return filepath.Join(h.dir, "core-site.xml")
}

// get is key's value, trimmed as Hadoop's getTrimmed does ("" when
// unset). A ${...} variable is an error: it is not expanded.
func (h *hadoopConf) get(key string) (string, error) {
	v := strings.TrimSpace(h.conf[key])
	if strings.Contains(v, "${") {
		return "", fmt.Errorf("%s in %s is %q: chama does not expand ${...} variables; set the value in chama.yaml", key, h.file(key), v)
	}
	return v, nil
}

// list is a comma-separated value, each entry trimmed, empty ones dropped.
func (h *hadoopConf) list(key string) ([]string, error) {
	v, err := h.get(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// nameservices are the nameservice ids the conf defines: dfs.nameservices
// and every dfs.ha.namenodes.<id>, sorted.
func (h *hadoopConf) nameservices() []string {
	seen := map[string]bool{}
	ids, _ := h.list("dfs.nameservices")
	for _, id := range ids {
		seen[id] = true
	}
	for k := range h.conf {
		if id, ok := strings.CutPrefix(k, "dfs.ha.namenodes."); ok && id != "" {
			seen[id] = true
		}
	}
	return sortedKeys(seen)
}

// nameservice resolves a nameservice id to its namenodes' RPC addresses,
// in the order dfs.ha.namenodes.<id> lists them (a federated nameservice
// without HA: dfs.namenode.rpc-address.<id>).
func (h *hadoopConf) nameservice(id string) ([]string, error) {
	haKey := "dfs.ha.namenodes." + id
	nns, err := h.list(haKey)
	if err != nil {
		return nil, err
	}
	if len(nns) == 0 {
		single, err := h.get("dfs.namenode.rpc-address." + id)
		if err != nil {
			return nil, err
		}
		if single != "" {
			return h.checkAddrs("dfs.namenode.rpc-address."+id, []string{single})
		}
		known := h.nameservices()
		for _, k := range known {
			if k == id {
				return nil, fmt.Errorf("%s lists %s in dfs.nameservices but has neither %s nor dfs.namenode.rpc-address.%s", h.file(haKey), id, haKey, id)
			}
		}
		defined := "it defines none: dfs.nameservices is not set"
		if len(known) > 0 {
			defined = "dfs.nameservices: " + strings.Join(known, ", ")
		}
		return nil, fmt.Errorf("%s is not a nameservice of the Hadoop conf dir %s (%s)", id, h.dirName(), defined)
	}
	var addrs []string
	for _, nn := range nns {
		k := "dfs.namenode.rpc-address." + id + "." + nn
		a, err := h.get(k)
		if err != nil {
			return nil, err
		}
		if a == "" {
			return nil, fmt.Errorf("%s lists %s in %s but has no %s", h.file(haKey), nn, haKey, k)
		}
		if _, err := h.checkAddrs(k, []string{a}); err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// checkAddrs checks that key's addresses are host:port.
func (h *hadoopConf) checkAddrs(key string, addrs []string) ([]string, error) {
	for _, a := range addrs {
		if !isHostPort(a) {
			return nil, fmt.Errorf("%s in %s is %q, not host:port", key, h.file(key), a)
		}
	}
	return addrs, nil
}

// defaultFS resolves fs.defaultFS (or the deprecated fs.default.name):
// hdfs://<nameservice> to the nameservice's namenodes, hdfs://host:port
// to that address, and hdfs://host, when the conf defines no
// nameservice, to host:8020 (Hadoop's default RPC port). how says which.
func (h *hadoopConf) defaultFS() (addrs []string, how string, err error) {
	key := "fs.defaultFS"
	v, err := h.get(key)
	if err == nil && v == "" {
		key = "fs.default.name"
		v, err = h.get(key)
	}
	if err != nil {
		return nil, "", err
	}
	if v == "" {
		return nil, "", fmt.Errorf("%s has no fs.defaultFS: set namenodes or nameservice", h.file("fs.defaultFS"))
	}
	u, perr := url.Parse(v)
	if perr != nil || u.Scheme != "hdfs" || u.Host == "" {
		return nil, "", fmt.Errorf("%s in %s is %q, not hdfs://<nameservice> or hdfs://host:port: set namenodes or nameservice", key, h.file(key), v)
	}
	if u.Port() != "" {
		return []string{u.Host}, fmt.Sprintf("%s %s in %s", key, v, h.file(key)), nil
	}
	known := h.nameservices()
	for _, id := range known {
		if id == u.Hostname() {
			nns, err := h.nameservice(id)
			if err != nil {
				return nil, "", err
			}
			return nns, fmt.Sprintf("nameservice %s of %s %s, %s", id, key, v, h.file("dfs.ha.namenodes")), nil
		}
	}
	if len(known) > 0 {
		return nil, "", fmt.Errorf("%s in %s is %q, but %s is not a nameservice of the Hadoop conf dir %s (dfs.nameservices: %s) and names no port", key, h.file(key), v, u.Host, h.dirName(), strings.Join(known, ", "))
	}
	a := u.Host + ":8020" // Host keeps an IPv6 literal's brackets
	return []string{a}, fmt.Sprintf("%s %s in %s, default port 8020", key, v, h.file(key)), nil
}

// dirName is the conf dir as messages name it.
func (h *hadoopConf) dirName() string {
	if h.from == "hadoop_conf_dir" {
		return h.dir
	}
	return fmt.Sprintf("%s (from %s)", h.dir, h.from)
}
