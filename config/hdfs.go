package config

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// SourceHDFS is the HDFS part of a source (inlined into Source): how to
// reach the cluster and how hard to try.
type SourceHDFS struct {
	// HadoopConfDir is a Hadoop client configuration folder (core-site.xml,
	// hdfs-site.xml) that fills in the keys left unset here, so an edge
	// node's existing configuration need not be copied into chama.yaml
	// (default $HADOOP_CONF_DIR; "none" reads none). config/hadoopconf.go.
	HadoopConfDir string `yaml:"hadoop_conf_dir"`
	// Nameservice is an HA nameservice id (dfs.nameservices) whose
	// namenodes are read from the Hadoop conf dir; instead of namenodes.
	Nameservice string `yaml:"nameservice"`
	// UseDatanodeHostname dials datanodes by hostname instead of IP
	// (dfs.client.use.datanode.hostname), for clusters behind NAT. A
	// pointer, so that an explicit false wins over the Hadoop conf dir.
	UseDatanodeHostname *bool `yaml:"use_datanode_hostname"`
	// Kerberos authenticates to a secured cluster.
	Kerberos *Kerberos `yaml:"kerberos"`
	// DataTransferProtection is dfs.data.transfer.protection:
	// authentication, integrity or privacy (empty: as the cluster says).
	DataTransferProtection string `yaml:"data_transfer_protection"`
	// Timeout bounds each namenode call and each datanode read (default 60s).
	Timeout Duration `yaml:"timeout"`
	// ConnectTimeout bounds each TCP connect (default 10s).
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Retries is how many times a failing file or listing is retried
	// before the source counts as failed (default 4).
	Retries int `yaml:"retries"`
	// RetryBackoff is the first pause between retries; it doubles (default 2s).
	RetryBackoff Duration `yaml:"retry_backoff"`
	// Clients is how many namenode connections are opened, so listings
	// and opens do not queue on one connection (default: min(concurrency, 4)).
	Clients int `yaml:"clients"`
	// ReadyCommand is the external readiness check of ready: command: a
	// program and its arguments, run with CHAMA_IFACE, CHAMA_PERIOD,
	// CHAMA_PATH and CHAMA_SOURCE set; exit status 0 means ready.
	ReadyCommand []string `yaml:"ready_command"`
	// Target is, for type: sftp, the target (in targets:) whose endpoints,
	// user, auth and known_hosts reach the SFTP relay host; root is then
	// the absolute remote folder the paths are relative to.
	Target string `yaml:"target"`
	// SplitAbove: files larger than this many bytes are pulled as several
	// block-aligned byte ranges in parallel (default 512 MiB; 0 keeps the default,
	// -1 never splits).
	SplitAbove int64 `yaml:"split_above"`
}

// Kerberos names the files and principals a kerberized cluster needs.
// Secrets stay in the keytab or ticket cache file; nothing secret is in
// chama.yaml.
type Kerberos struct {
	// Krb5Conf is the krb5.conf file (default /etc/krb5.conf).
	Krb5Conf string `yaml:"krb5_conf"`
	// Keytab holds the client's keys: chama logs in by itself.
	Keytab string `yaml:"keytab"`
	// CCache is a ticket cache (FILE: type) that kinit filled, for sites
	// whose jobs run under a ticket rather than a keytab. With neither
	// keytab nor ccache, $KRB5CCNAME, else /tmp/krb5cc_<uid>, is used.
	CCache string `yaml:"ccache"`
	// CCacheFrom says where CCache came from when chama.yaml did not set
	// it ($KRB5CCNAME, or the default), for messages.
	CCacheFrom string `yaml:"-"`
	// Principal is the client, user[/host]@REALM (with a ticket cache it
	// may be left out: the cache's principal is used).
	Principal string `yaml:"principal"`
	// ServicePrincipal is the namenode's SPN without the realm, such as
	// nn/_HOST (dfs.namenode.kerberos.principal; _HOST is each namenode's host).
	ServicePrincipal string `yaml:"service_principal"`
}

// Defaults applied to HDFS settings.
const (
	DefaultHDFSRetries    = 4
	DefaultHDFSSplitAbove = 512 << 20
)

func (s *Source) applyHDFSDefaults() {
	h := &s.HDFS
	if h.Timeout == 0 {
		h.Timeout = Duration(60e9)
	}
	if h.ConnectTimeout == 0 {
		h.ConnectTimeout = Duration(10e9)
	}
	if h.Retries == 0 {
		h.Retries = DefaultHDFSRetries
	}
	if h.RetryBackoff == 0 {
		h.RetryBackoff = Duration(2e9)
	}
	if h.Clients == 0 {
		h.Clients = min(max(s.Concurrency, 1), 4)
	}
	if h.SplitAbove == 0 {
		h.SplitAbove = DefaultHDFSSplitAbove
	}
	if k := h.Kerberos; k != nil {
		if k.Krb5Conf == "" {
			k.Krb5Conf = DefaultKrb5Conf
		}
		// What KRB5CCNAME would hold; a file path is all that is read.
		k.CCache = strings.TrimPrefix(k.CCache, "FILE:")
	}
}

// DefaultKrb5Conf is the krb5.conf read when kerberos.krb5_conf is unset.
const DefaultKrb5Conf = "/etc/krb5.conf"

// hadoopConfDir is the Hadoop conf dir the source reads, and what named
// it (hadoop_conf_dir or $HADOOP_CONF_DIR); "" when there is none.
func (s *Source) hadoopConfDir() (dir, from string) {
	switch d := s.HDFS.HadoopConfDir; d {
	case "none":
		return "", ""
	case "":
	default:
		return d, "hadoop_conf_dir"
	}
	if d := os.Getenv("HADOOP_CONF_DIR"); d != "" {
		return d, "$HADOOP_CONF_DIR"
	}
	return "", ""
}

// validateSFTP checks an sftp source's target (called from Validate).
func (s *Source) validateSFTP(key string, targets map[string]*Target, bad func(key, format string, a ...any)) {
	if s.HDFS.Target == "" {
		bad(key+".target", "an sftp source reads through a target: name one of targets:")
	} else if _, ok := targets[s.HDFS.Target]; !ok {
		bad(key+".target", "unknown target %q", s.HDFS.Target)
	}
}

// resolveHDFS makes the Kerberos file paths and the Hadoop conf dir
// relative to the config file.
func (s *Source) resolveHDFS(base string) {
	if k := s.HDFS.Kerberos; k != nil {
		k.Krb5Conf = resolveOpt(base, k.Krb5Conf)
		k.Keytab = resolveOpt(base, k.Keytab)
		k.CCache = resolveOpt(base, k.CCache)
	}
	if d := s.HDFS.HadoopConfDir; d != "none" {
		s.HDFS.HadoopConfDir = resolveOpt(base, d)
	}
}

// validateHDFS reports the problems of a source's HDFS settings.
func (s *Source) validateHDFS(key string, bad func(key, format string, a ...any)) {
	h := s.HDFS
	if s.Ready == "command" && (len(h.ReadyCommand) == 0 || h.ReadyCommand[0] == "") {
		bad(key+".ready_command", "ready: command needs a program, e.g. [/opt/etl/bin/check-ready, --strict]")
	}
	if s.Ready != "command" && len(h.ReadyCommand) > 0 {
		bad(key+".ready_command", "is only used with ready: command")
	}
	if s.Concurrency < 1 || s.Concurrency > 256 {
		bad(key+".concurrency", "must be 1-256")
	}
	if h.Retries < 0 || h.Retries > 100 {
		bad(key+".retries", "must be 0-100") // internal/pull caps its loop at 100 too
	}
	if h.Timeout < 0 || h.ConnectTimeout < 0 || h.RetryBackoff < 0 {
		bad(key, "timeout, connect_timeout and retry_backoff must not be negative")
	}
	if s.Type == "sftp" {
		if s.Root == "" || !path.IsAbs(s.Root) {
			bad(key+".root", "an sftp source needs the absolute remote folder, got %q", s.Root)
		}
	} else if h.Target != "" {
		bad(key+".target", "is only used with type: sftp")
	}
	if s.Type != "hdfs" {
		if h.Kerberos != nil || h.DataTransferProtection != "" || (h.UseDatanodeHostname != nil && *h.UseDatanodeHostname) {
			bad(key, "kerberos, data_transfer_protection and use_datanode_hostname are for type: hdfs")
		}
		if h.HadoopConfDir != "" || h.Nameservice != "" {
			bad(key, "hadoop_conf_dir and nameservice are for type: hdfs")
		}
		return
	}
	if s.Root != "" && !path.IsAbs(s.Root) {
		bad(key+".root", "an hdfs root is an absolute HDFS path such as /user/hive/warehouse, got %q", s.Root)
	}
	s.validateNamenodes(key, bad)
	confDir, _ := s.hadoopConfDir()
	if s.User == "" && h.Kerberos == nil && confDir == "" {
		// With a conf dir, hadoop.security.authentication may say kerberos:
		// HDFSClientConfig checks it then.
		bad(key+".user", "an hdfs source needs a user (or kerberos)")
	}
	if h.Clients < 1 || h.Clients > 64 {
		bad(key+".clients", "must be 1-64")
	}
	switch h.DataTransferProtection {
	case "", "authentication", "integrity", "privacy":
	default:
		bad(key+".data_transfer_protection", "%q is not authentication, integrity or privacy", h.DataTransferProtection)
	}
	if k := h.Kerberos; k != nil {
		k.validate(key+".kerberos", confDir != "", bad)
	}
}

// validateNamenodes checks how the namenodes are found: host:port
// addresses in namenodes, or a nameservice (or fs.defaultFS) resolved
// through the Hadoop conf dir, never both.
func (s *Source) validateNamenodes(key string, bad func(key, format string, a ...any)) {
	ns := s.HDFS.Nameservice
	for k, a := range s.Namenodes {
		if !isHostPort(a) {
			hint := ""
			if !strings.Contains(a, ":") && !strings.Contains(a, "/") {
				hint = fmt.Sprintf(" (a nameservice id goes in nameservice: %s, resolved through hadoop_conf_dir)", a)
			}
			bad(fmt.Sprintf("%s.namenodes[%d]", key, k), "%q is not host:port%s", a, hint)
		}
	}
	if ns != "" && len(s.Namenodes) > 0 {
		bad(key+".nameservice", "set namenodes (host:port addresses) or nameservice, not both")
	}
	switch {
	case ns == "":
	case strings.Contains(ns, "://"):
		bad(key+".nameservice", "give the id alone (ns1), not the URI %q", ns)
	case isHostPort(ns):
		bad(key+".nameservice", "%q is a namenode address: put it in namenodes", ns)
	case strings.ContainsAny(ns, ":/ \t,"):
		bad(key+".nameservice", "%q is not a nameservice id such as ns1", ns)
	}
	dir, _ := s.hadoopConfDir()
	if dir != "" {
		return
	}
	why := "$HADOOP_CONF_DIR is not set"
	if s.HDFS.HadoopConfDir == "none" {
		why = "hadoop_conf_dir is none"
	}
	if ns != "" {
		bad(key+".nameservice", "a nameservice is resolved through the Hadoop client configuration, and there is none (%s): set hadoop_conf_dir, or give namenodes", why)
	} else if len(s.Namenodes) == 0 {
		bad(key+".namenodes", "an hdfs source needs namenode addresses (host:port), or a Hadoop conf dir whose fs.defaultFS names the cluster (hadoop_conf_dir; %s)", why)
	}
}

// validate checks a kerberos block (key is its path). Keytab or ticket
// cache, not both; with a conf dir, the SPN may come from hdfs-site.xml.
func (k *Kerberos) validate(key string, confDir bool, bad func(key, format string, a ...any)) {
	if k.Keytab != "" && k.CCache != "" {
		bad(key, "set keytab or ccache, not both (a keytab logs in by itself; a ticket cache holds the ticket kinit got)")
	}
	if c := k.CCache; c != "" && strings.Contains(c, ":") && !strings.HasPrefix(c, "/") {
		bad(key+".ccache", "%q: only a FILE: ticket cache, a file path, can be read", c)
	}
	// With a ticket cache the principal is the cache's; a keytab needs it.
	if k.Keytab != "" || k.Principal != "" {
		if at := strings.LastIndex(k.Principal, "@"); k.Principal == "" || at <= 0 || at == len(k.Principal)-1 {
			bad(key+".principal", "want user@REALM or user/host@REALM, got %q", k.Principal)
		}
	}
	if k.ServicePrincipal == "" && !confDir {
		bad(key+".service_principal", "missing: the namenode's SPN such as nn/_HOST (or a Hadoop conf dir whose hdfs-site.xml has dfs.namenode.kerberos.principal)")
	} else if strings.Contains(k.ServicePrincipal, "@") {
		bad(key+".service_principal", "give it without the realm (nn/_HOST, not nn/_HOST@REALM)")
	}
}

// isHostPort reports whether a is host:port (a port, and a host before it).
func isHostPort(a string) bool {
	i := strings.LastIndex(a, ":")
	return i > 0 && i < len(a)-1
}
