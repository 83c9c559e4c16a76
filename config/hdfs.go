package config

import (
	"fmt"
	"path"
	"strings"
)

// SourceHDFS is the HDFS part of a source (inlined into Source): how to
// reach the cluster and how hard to try.
type SourceHDFS struct {
	// UseDatanodeHostname dials datanodes by hostname instead of IP
	// (dfs.client.use.datanode.hostname), for clusters behind NAT.
	UseDatanodeHostname bool `yaml:"use_datanode_hostname"`
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
// Secrets stay in the keytab file; nothing secret is in chama.yaml.
type Kerberos struct {
	// Krb5Conf is the krb5.conf file (default /etc/krb5.conf).
	Krb5Conf string `yaml:"krb5_conf"`
	// Keytab holds the client's keys.
	Keytab string `yaml:"keytab"`
	// Principal is the client, user[/host]@REALM.
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
	if k := h.Kerberos; k != nil && k.Krb5Conf == "" {
		k.Krb5Conf = "/etc/krb5.conf"
	}
}

// validateSFTP checks an sftp source's target (called from Validate).
func (s *Source) validateSFTP(key string, targets map[string]*Target, bad func(key, format string, a ...any)) {
	if s.HDFS.Target == "" {
		bad(key+".target", "an sftp source reads through a target: name one of targets:")
	} else if _, ok := targets[s.HDFS.Target]; !ok {
		bad(key+".target", "unknown target %q", s.HDFS.Target)
	}
}

// resolveHDFS makes the Kerberos file paths relative to the config file.
func (s *Source) resolveHDFS(base string) {
	if k := s.HDFS.Kerberos; k != nil {
		k.Krb5Conf = resolveOpt(base, k.Krb5Conf)
		k.Keytab = resolveOpt(base, k.Keytab)
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
		if h.Kerberos != nil || h.DataTransferProtection != "" || h.UseDatanodeHostname {
			bad(key, "kerberos, data_transfer_protection and use_datanode_hostname are for type: hdfs")
		}
		return
	}
	if s.Root != "" && !path.IsAbs(s.Root) {
		bad(key+".root", "an hdfs root is an absolute HDFS path such as /user/hive/warehouse, got %q", s.Root)
	}
	for k, a := range s.Namenodes {
		if i := strings.LastIndex(a, ":"); i <= 0 || i == len(a)-1 {
			bad(fmt.Sprintf("%s.namenodes[%d]", key, k), "%q is not host:port", a)
		}
	}
	if s.User == "" && h.Kerberos == nil {
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
		kk := key + ".kerberos"
		if k.Keytab == "" {
			bad(kk+".keytab", "missing: the client's keys are read from a keytab file")
		}
		if at := strings.LastIndex(k.Principal, "@"); k.Principal == "" || at <= 0 || at == len(k.Principal)-1 {
			bad(kk+".principal", "want user@REALM or user/host@REALM, got %q", k.Principal)
		}
		if k.ServicePrincipal == "" {
			bad(kk+".service_principal", "missing: the namenode's SPN such as nn/_HOST")
		} else if strings.Contains(k.ServicePrincipal, "@") {
			bad(kk+".service_principal", "give it without the realm (nn/_HOST, not nn/_HOST@REALM)")
		}
	}
}
