// Package config loads chama.yaml: where data comes from, how each
// interface is cut and named, and where its files are delivered.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chama-data/chama/naming"
)

// Config is the whole file.
type Config struct {
	Workdir    string                `yaml:"workdir"`
	Sources    map[string]*Source    `yaml:"sources"`
	Targets    map[string]*Target    `yaml:"targets"`
	Interfaces map[string]*Interface `yaml:"interfaces"`
	// Ledger points the run ledger somewhere other than <workdir>/ledger.db.
	Ledger Ledger `yaml:"ledger"`
	// Retention for `chama clean`.
	RetentionDays int `yaml:"retention_days"`
	// Transform is the ODS -> DWD -> ADS layer spec (config/transform.go).
	Transform *Transform `yaml:"transform"`
	// Alerts tunes `chama report` (config/alerts.go).
	Alerts Alerts `yaml:"alerts"`
	// ChunkStore is where hour chunks live when several machines pack one
	// day (config/cluster.go); empty: the workdir.
	ChunkStore *ChunkStore `yaml:"chunk_store"`
	Airflow    *Airflow    `yaml:"airflow"` // `chama airflow-dag`: pool, queues, runs at once (config/airflow.go)

	path string // the file it was read from
}

// Ledger selects the run-ledger database.
type Ledger struct {
	Driver string `yaml:"driver"` // sqlite (default) or postgres
	DSNEnv string `yaml:"dsn_env"`
	// Leases: every stage run takes a lease on its unit first (default:
	// on with postgres, the shared ledger of several machines; off with
	// sqlite, one machine, whose file locks suffice). config/cluster.go.
	Leases *bool `yaml:"leases"`
	// LeaseTTL is how long a lease outlives its holder's last heartbeat
	// (default 2m): a dead machine's unit is taken over after it.
	LeaseTTL Duration `yaml:"lease_ttl"`
}

// Source is where partitions are read from.
type Source struct {
	Type string `yaml:"type"` // file (hdfs comes later)
	Root string `yaml:"root"` // file: the folder the path templates are relative to

	// hdfs
	Namenodes []string `yaml:"namenodes"`
	User      string   `yaml:"user"`
	Fallback  string   `yaml:"fallback"` // name of another source
	// Readiness: "marker" (default: a _SUCCESS file), "quiet" or "none".
	Ready       string   `yaml:"ready"`
	Marker      string   `yaml:"marker"`
	QuietPeriod Duration `yaml:"quiet_period"`
	Concurrency int      `yaml:"concurrency"`
	// HDFS holds the hdfs-only settings (config/hdfs.go).
	HDFS SourceHDFS `yaml:",inline"`
}

// Target is a named group of SFTP endpoints.
type Target struct {
	Primary []Endpoint `yaml:"primary"`
	Standby []Endpoint `yaml:"standby"`
	User    string     `yaml:"user"`
	Auth    Auth       `yaml:"auth"`
	// KnownHosts is an OpenSSH known_hosts file; host keys are always
	// verified against it unless InsecureIgnoreHostKey is set.
	KnownHosts             string   `yaml:"known_hosts"`
	InsecureIgnoreHostKey  bool     `yaml:"insecure_ignore_host_key"`
	Dir                    string   `yaml:"dir"` // default remote folder
	ConnectionsPerHost     int      `yaml:"connections_per_host"`
	TransfersPerConnection int      `yaml:"transfers_per_connection"`
	Timeout                Duration `yaml:"timeout"`
	Retries                int      `yaml:"retries"`
	// DownAfter consecutive transport failures mark a host down for CoolOff.
	DownAfter int      `yaml:"down_after"`
	CoolOff   Duration `yaml:"cool_off"`
	// SharedStorage says every host of the target (primaries and
	// standbys) is a front-end of one storage, so a set's files may go
	// through different hosts. Without it a set is delivered whole to one
	// host, and a failover sends the whole set to the next one.
	SharedStorage bool `yaml:"shared_storage"`
	// RemoteChecksum runs `md5sum` over an SSH exec after each upload.
	RemoteChecksum bool   `yaml:"remote_checksum"`
	PartSuffix     string `yaml:"part_suffix"`
	// Keepalive is how often an SSH connection is probed (push applies
	// the 15s default); a probe unanswered within Timeout closes it.
	Keepalive Duration `yaml:"keepalive"`
	// MaxPacket is the SFTP write size in bytes (push applies the default
	// of 255 KiB, which OpenSSH accepts; use 32768 for strict servers).
	MaxPacket int `yaml:"max_packet"`
}

// Endpoint is one SFTP server.
type Endpoint struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

// Addr is host:port.
func (e Endpoint) Addr() string {
	if strings.Contains(e.Host, ":") && !strings.HasPrefix(e.Host, "[") {
		return fmt.Sprintf("[%s]:%d", e.Host, e.Port)
	}
	return fmt.Sprintf("%s:%d", e.Host, e.Port)
}

// Auth says where credentials come from. Secrets are never in the config
// itself: only the name of an env var or the path of a file.
type Auth struct {
	KeyFile        string `yaml:"key_file"`
	PassphraseEnv  string `yaml:"passphrase_env"`
	PassphraseFile string `yaml:"passphrase_file"`
	Agent          bool   `yaml:"agent"`
	PasswordEnv    string `yaml:"password_env"`
	PasswordFile   string `yaml:"password_file"`
}

// Route sends an interface's files to a target, into a folder.
type Route struct {
	Target string `yaml:"target"`
	Dir    string `yaml:"dir"`
}

// Interface is one delivered interface.
type Interface struct {
	Source string `yaml:"source"`
	// Path is relative to the source root, with {date} and {hour}, e.g.
	// ods/events/dt={date}/hour={hour}. For a day it is expanded per hour
	// when it has {hour}.
	Path   string `yaml:"path"`
	Format string `yaml:"format"` // text (plain or gzip, told by magic bytes)
	// Delimiter of the input, default "\x01".
	Delimiter string `yaml:"delimiter"`
	Fields    int    `yaml:"fields"` // expected field count; 0: learnt from the input, -1: any
	// OutDelimiter of the files, default "|".
	OutDelimiter string `yaml:"out_delimiter"`
	// EmbeddedDelimiter: fail | strip | replace:<s> (default fail).
	EmbeddedDelimiter string `yaml:"embedded_delimiter"`
	Charset           string `yaml:"charset"` // utf-8 (default), gbk, gb18030
	LinesPerFile      int    `yaml:"lines_per_file"`
	// PartitionField is the 1-based input field whose value splits the
	// files (e.g. the province for CM files); 0: not partitioned.
	PartitionField int `yaml:"partition_field"`
	GzipLevel      int `yaml:"gzip_level"`
	// FileName and VerfName are naming templates.
	FileName    string   `yaml:"file_name"`
	VerfName    string   `yaml:"verf_name"`
	VerfColumns []string `yaml:"verf_columns"`
	Granularity string   `yaml:"granularity"` // day (default) or hour
	// HourlyPack packs a day hour by hour and assembles the day.
	HourlyPack bool               `yaml:"hourly_pack"`
	SeqWidth   []naming.WidthRule `yaml:"seq_width"`
	// MaxRejects is how many bad lines a period may have before it fails.
	MaxRejects int  `yaml:"max_rejects"`
	AllowEmpty bool `yaml:"allow_empty"`
	// Routes are where push delivers; several routes deliver the full set
	// to each independently.
	Routes []Route `yaml:"routes"`
	// From "transform": the rows are the interface's transform.ads entry,
	// run for the period and packed directly (config/transform.go).
	From string `yaml:"from"`
	// ADSPartition is the partition column of that entry (set at load).
	ADSPartition string `yaml:"-"`

	Name string `yaml:"-"`
}

// Defaults for interfaces.
const (
	DefaultLinesPerFile = 800000
	DefaultGzipLevel    = 6
	// Default names of a partitioned (provincial) interface; an interface
	// without partition_field drops the {part} slot.
	DefaultFileName     = "a_10000_{date}_{iface}_{part}_{resend:02}_{seq}.dat.gz"
	DefaultVerfName     = "a_10000_{date}_{iface}_{part}_{resend:02}.verf"
	DefaultFileNameFlat = "a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz"
	DefaultVerfNameFlat = "a_10000_{date}_{iface}_{resend:02}.verf"
)

// DefaultVerfColumns is the .verf line layout.
var DefaultVerfColumns = []string{"name", "bytes", "lines", "period", "ctime", "md5"}

// VerfColumnNames are the columns a .verf may carry.
var VerfColumnNames = map[string]bool{"name": true, "bytes": true, "lines": true, "period": true, "ctime": true, "md5": true, "sha256": true, "seq": true}

// Path returns the file the config came from.
func (c *Config) Path() string { return c.path }

// Load reads and validates a config file. Every problem is reported, each
// with its key path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config %s not found: pass --config FILE or set CHAMA_CONFIG", path)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.path = path
	// Relative paths in the config are relative to the config file.
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Workdir = resolve(base, c.Workdir)
	for _, s := range c.Sources {
		if s.Root != "" && s.Type == "file" {
			s.Root = resolve(base, s.Root)
		}
		s.resolveHDFS(base)
	}
	if c.Transform != nil {
		c.Transform.resolve(base)
	}
	for _, t := range c.Targets {
		t.KnownHosts = resolveOpt(base, t.KnownHosts)
		t.Auth.KeyFile = resolveOpt(base, t.Auth.KeyFile)
		t.Auth.PassphraseFile = resolveOpt(base, t.Auth.PassphraseFile)
		t.Auth.PasswordFile = resolveOpt(base, t.Auth.PasswordFile)
	}
	return c, nil
}

func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

func resolveOpt(base, p string) string {
	if p == "" {
		return ""
	}
	return resolve(base, p)
}

// Parse decodes YAML, applies defaults and validates.
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, &Problems{List: friendlyErrors(data, te.Errors)}
		}
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.Workdir == "" {
		c.Workdir = "."
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = 15
	}
	if c.Ledger.Driver == "" {
		c.Ledger.Driver = "sqlite"
	}
	c.applyClusterDefaults() // config/cluster.go
	if c.Transform != nil {
		c.Transform.applyDefaults()
	}
	for _, s := range c.Sources {
		if s != nil {
			s.applyDefaults() // config/defaults.go
		}
	}
	for _, t := range c.Targets {
		if t != nil {
			t.applyDefaults() // config/defaults.go
		}
	}
	for name, i := range c.Interfaces {
		if i == nil {
			continue
		}
		i.Name = name
		c.applyFromTransform(i)
		i.applyDefaults() // config/defaults.go
	}
}

// Problems is every validation error of a config, each prefixed by its key path.
type Problems struct{ List []string }

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return p.List[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(p.List), strings.Join(p.List, "\n  "))
}

// Validate checks the whole config and reports every problem found, one
// section after the other.
func (c *Config) Validate() error {
	var ps []string
	bad := func(key, format string, a ...any) {
		ps = append(ps, key+": "+fmt.Sprintf(format, a...))
	}
	if len(c.Interfaces) == 0 {
		bad("interfaces", "no interface configured")
	}
	validateRetention(c, bad)
	validateSecrets(c, bad)
	validatePaths(c, bad)
	c.validateLedger(bad)     // config/validate.go
	c.validateCluster(bad)    // config/cluster.go
	c.validateSources(bad)    // config/validate.go
	c.validateTargets(bad)    // config/validate.go
	c.validateInterfaces(bad) // config/validate.go, with their routes
	if c.Transform != nil {
		c.Transform.validate(c, bad) // config/transform.go
	}
	c.Airflow.validate(c, bad) // config/airflow.go
	if len(ps) > 0 {
		return &Problems{List: ps}
	}
	return nil
}

func validIface(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// InterfaceNames lists the configured interfaces, sorted.
func (c *Config) InterfaceNames() []string { return sortedKeys(c.Interfaces) }

// Select resolves an --iface list ("51007,CM001"; empty: all). An unknown
// name is an error that names it.
func (c *Config) Select(list string) ([]*Interface, error) {
	if strings.TrimSpace(list) == "" {
		var out []*Interface
		for _, n := range c.InterfaceNames() {
			out = append(out, c.Interfaces[n])
		}
		return out, nil
	}
	var out []*Interface
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		i, ok := c.Interfaces[n]
		if !ok {
			return nil, fmt.Errorf("unknown interface %q (configured: %s)", n, strings.Join(c.InterfaceNames(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, i)
		}
	}
	return out, nil
}

// Template returns the parsed data-file name template (validated at load).
func (i *Interface) Template() *naming.Template { return naming.MustTemplate(i.FileName) }

// VerfTemplate returns the parsed .verf name template.
func (i *Interface) VerfTemplate() *naming.Template { return naming.MustTemplate(i.VerfName) }

// Policy is a parsed embedded-delimiter policy.
type Policy struct {
	Mode string // fail, strip or replace
	With string // for replace
}

// ParsePolicy reads fail | strip | replace:<s>.
func ParsePolicy(s string) (Policy, error) {
	switch {
	case s == "fail", s == "strip":
		return Policy{Mode: s}, nil
	case strings.HasPrefix(s, "replace:"):
		return Policy{Mode: "replace", With: strings.TrimPrefix(s, "replace:")}, nil
	}
	return Policy{}, fmt.Errorf("%q is not fail, strip or replace:<text>", s)
}
