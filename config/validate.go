package config

import (
	"fmt"
	"strings"

	"github.com/chama-data/chama/naming"
)

// badFunc records one problem under its key path (see Validate).
type badFunc = func(key, format string, a ...any)

// validateLedger checks the ledger section.
func (c *Config) validateLedger(bad badFunc) {
	switch c.Ledger.Driver {
	case "sqlite":
	case "postgres":
		if c.Ledger.DSNEnv == "" {
			bad("ledger.dsn_env", "postgres needs the name of an env var holding the connection string")
		}
	default:
		bad("ledger.driver", "%q is not sqlite or postgres", c.Ledger.Driver)
	}
}

// validateSources checks every source, in name order.
func (c *Config) validateSources(bad badFunc) {
	for _, name := range sortedKeys(c.Sources) {
		s, key := c.Sources[name], "sources."+name
		if s == nil {
			bad(key, "empty source")
			continue
		}
		c.validateSource(name, s, key, bad)
	}
}

func (c *Config) validateSource(name string, s *Source, key string, bad badFunc) {
	switch s.Type {
	case "file":
		if s.Root == "" {
			bad(key+".root", "a file source needs a root folder")
		}
	case "hdfs":
		// namenodes, nameservice or a Hadoop conf dir: validateHDFS.
	case "sftp":
		s.validateSFTP(key, c.Targets, bad)
	case "":
		bad(key+".type", "missing (file, hdfs or sftp)")
	default:
		bad(key+".type", "%q is not file, hdfs or sftp", s.Type)
	}
	if s.Fallback != "" {
		if s.Fallback == name {
			bad(key+".fallback", "a source cannot fall back to itself")
		} else if _, ok := c.Sources[s.Fallback]; !ok {
			bad(key+".fallback", "unknown source %q", s.Fallback)
		}
	}
	switch s.Ready {
	case "marker", "quiet", "none", "command":
	default:
		bad(key+".ready", "%q is not marker, quiet, command or none", s.Ready)
	}
	s.validateHDFS(key, bad)
	if s.Ready == "quiet" && s.QuietPeriod <= 0 {
		bad(key+".quiet_period", "ready: quiet needs a quiet_period such as 2m")
	}
}

// validateTargets checks every target, in name order.
func (c *Config) validateTargets(bad badFunc) {
	for _, name := range sortedKeys(c.Targets) {
		t, key := c.Targets[name], "targets."+name
		if t == nil {
			bad(key, "empty target")
			continue
		}
		t.validate(key, bad)
	}
}

func (t *Target) validate(key string, bad badFunc) {
	if len(t.Primary) == 0 {
		bad(key+".primary", "at least one primary host is needed")
	}
	t.validateEndpoints(key, bad)
	if t.User == "" {
		bad(key+".user", "missing")
	}
	t.Auth.validate(key, bad)
	if t.KnownHosts == "" && !t.InsecureIgnoreHostKey {
		bad(key+".known_hosts", "host keys are verified: give a known_hosts file (insecure_ignore_host_key: true is for labs only)")
	}
	if t.ConnectionsPerHost < 1 || t.ConnectionsPerHost > 64 {
		bad(key+".connections_per_host", "must be 1-64")
	}
	if t.TransfersPerConnection < 1 || t.TransfersPerConnection > 64 {
		bad(key+".transfers_per_connection", "must be 1-64")
	}
	if t.Retries < 0 {
		bad(key+".retries", "must not be negative")
	}
	if strings.ContainsAny(t.PartSuffix, "/") {
		bad(key+".part_suffix", "must not contain '/'")
	}
}

// validateEndpoints checks the primaries, then the standbys.
func (t *Target) validateEndpoints(key string, bad badFunc) {
	for i, e := range append(append([]Endpoint{}, t.Primary...), t.Standby...) {
		k := fmt.Sprintf("%s.primary[%d]", key, i)
		if i >= len(t.Primary) {
			k = fmt.Sprintf("%s.standby[%d]", key, i-len(t.Primary))
		}
		if e.Host == "" {
			bad(k+".host", "missing")
		}
		if e.Port < 1 || e.Port > 65535 {
			bad(k+".port", "%d is not a TCP port", e.Port)
		}
	}
}

// validate checks the auth section of the target at key.
func (a Auth) validate(key string, bad badFunc) {
	if a.KeyFile == "" && !a.Agent && a.PasswordEnv == "" && a.PasswordFile == "" {
		bad(key+".auth", "no credentials: set key_file, agent, password_env or password_file")
	}
	if a.PasswordEnv != "" && a.PasswordFile != "" {
		bad(key+".auth", "set password_env or password_file, not both")
	}
	if a.PassphraseEnv != "" && a.PassphraseFile != "" {
		bad(key+".auth", "set passphrase_env or passphrase_file, not both")
	}
}

// validateInterfaces checks every interface and its routes, in name order.
func (c *Config) validateInterfaces(bad badFunc) {
	for _, name := range sortedKeys(c.Interfaces) {
		i, key := c.Interfaces[name], "interfaces."+name
		if i == nil {
			bad(key, "empty interface")
			continue
		}
		c.validateInput(name, i, key, bad)
		i.validateLayout(key, bad)
		i.validateNames(key, bad)
		i.validateSchedule(key, bad)
		if i.MaxRejects < 0 {
			bad(key+".max_rejects", "must not be negative")
		}
		c.validateRoutes(i, key, bad)
	}
}

// validateInput checks the interface's name and where its rows come from.
func (c *Config) validateInput(name string, i *Interface, key string, bad badFunc) {
	if !validIface(name) {
		bad(key, "interface names are letters and digits only (e.g. 51007, CM001)")
	}
	if i.From != "" {
		c.validateFrom(i, key, bad) // config/transform.go
	} else if i.Source == "" {
		bad(key+".source", "missing")
	} else if _, ok := c.Sources[i.Source]; !ok {
		bad(key+".source", "unknown source %q", i.Source)
	}
	if i.From == "" && i.Path == "" {
		bad(key+".path", "missing (e.g. ods/events/dt={date}/hour={hour})")
	} else if i.From == "" && !strings.Contains(i.Path, "{date}") {
		bad(key+".path", "%q has no {date}", i.Path)
	}
	if i.Granularity == "hour" && i.Path != "" && !strings.Contains(i.Path, "{hour}") {
		bad(key+".path", "an hourly interface's path needs {hour}")
	}
	if i.Format != "text" {
		bad(key+".format", "%q is not supported (text: plain or gzip)", i.Format)
	}
}

// validateLayout checks how the interface's lines are read and written:
// delimiters, charset, field counts, file sizes and compression.
func (i *Interface) validateLayout(key string, bad badFunc) {
	// A line break as a delimiter or in the replacement would split an
	// output line, so files would not hold exactly their counted lines.
	validateDelimiter(key+".delimiter", i.Delimiter, bad)
	validateDelimiter(key+".out_delimiter", i.OutDelimiter, bad)
	if _, err := ParsePolicy(i.EmbeddedDelimiter); err != nil {
		bad(key+".embedded_delimiter", "%v", err)
	} else if p, _ := ParsePolicy(i.EmbeddedDelimiter); p.Mode == "replace" && strings.Contains(p.With, i.OutDelimiter) {
		bad(key+".embedded_delimiter", "the replacement %q contains the output delimiter", p.With)
	} else if p.Mode == "replace" && strings.ContainsAny(p.With, "\r\n") {
		bad(key+".embedded_delimiter", "the replacement %q holds a line break, which would split the line", p.With)
	}
	switch strings.ToLower(i.Charset) {
	case "utf-8", "utf8", "gbk", "gb18030":
	default:
		bad(key+".charset", "%q is not utf-8, gbk or gb18030", i.Charset)
	}
	if i.Fields < -1 {
		bad(key+".fields", "must be the field count, 0 (learn it from the input) or -1 (accept any count)")
	}
	if i.LinesPerFile < 1 {
		bad(key+".lines_per_file", "must be at least 1")
	}
	if i.PartitionField < 0 || (i.Fields > 0 && i.PartitionField > i.Fields) {
		bad(key+".partition_field", "must be a field number between 1 and fields (%d)", i.Fields)
	}
	if i.GzipLevel < 1 || i.GzipLevel > 9 {
		bad(key+".gzip_level", "must be 1-9")
	}
}

// validateDelimiter checks a one-byte delimiter that is not a line break.
func validateDelimiter(key, d string, bad badFunc) {
	if len(d) != 1 {
		bad(key, "must be a single byte, got %q", d)
	} else if strings.ContainsAny(d, "\r\n") {
		bad(key, "must not be a line break, got %q (lines end with \\n)", d)
	}
}

// validateNames checks the file and .verf name templates and the .verf
// columns.
func (i *Interface) validateNames(key string, bad badFunc) {
	i.validateTemplate(key, "file_name", i.FileName, bad)
	i.validateTemplate(key, "verf_name", i.VerfName, bad)
	for k, col := range i.VerfColumns {
		if !VerfColumnNames[col] {
			bad(fmt.Sprintf("%s.verf_columns[%d]", key, k), "unknown column %q (known: name, bytes, lines, period, ctime, md5, sha256, seq)", col)
		}
	}
}

// validateTemplate checks one name template (name is file_name or verf_name).
func (i *Interface) validateTemplate(key, name, text string, bad badFunc) {
	t, err := naming.ParseTemplate(text)
	if err != nil {
		bad(key+"."+name, "%v", err)
		return
	}
	if t.Uses("part") != i.Partitioned() {
		if i.Partitioned() {
			bad(key+"."+name, "the interface is partitioned (partition_field, or the partition of its transform.ads entry) but the template has no {part}")
		} else {
			bad(key+"."+name, "the template uses {part} but the interface has no partition_field")
		}
	}
	if name == "file_name" && !t.Uses("seq") {
		bad(key+".file_name", "the template needs {seq}")
	}
	if name == "verf_name" && t.Uses("seq") {
		bad(key+".verf_name", "a .verf covers a whole set: no {seq}")
	}
	if i.Granularity == "hour" && !t.Uses("hour") && !t.Uses("period") {
		bad(key+"."+name, "an hourly interface's names need {hour} or {period}, or hours would overwrite each other")
	}
}

// validateSchedule checks the granularity, hourly packing and the
// sequence-number widths.
func (i *Interface) validateSchedule(key string, bad badFunc) {
	switch i.Granularity {
	case "day", "hour":
	default:
		bad(key+".granularity", "%q is not day or hour", i.Granularity)
	}
	if i.HourlyPack && i.Granularity != "day" {
		bad(key+".hourly_pack", "only a day interface can be packed hour by hour")
	}
	if i.HourlyPack && i.Path != "" && !strings.Contains(i.Path, "{hour}") {
		bad(key+".path", "hourly_pack reads one hour at a time: the path needs {hour}")
	}
	for k, r := range i.SeqWidth {
		if _, err := naming.ParsePeriod(r.From); err != nil || len(r.From) != 8 {
			bad(fmt.Sprintf("%s.seq_width[%d].from", key, k), "%q is not YYYYMMDD", r.From)
		}
		if r.Width < 1 || r.Width > 9 {
			bad(fmt.Sprintf("%s.seq_width[%d].width", key, k), "must be 1-9")
		}
	}
}

// validateRoutes checks that each route names a target and has a remote
// folder.
func (c *Config) validateRoutes(i *Interface, key string, bad badFunc) {
	for k, r := range i.Routes {
		rk := fmt.Sprintf("%s.routes[%d]", key, k)
		t, ok := c.Targets[r.Target]
		if !ok {
			bad(rk+".target", "unknown target %q", r.Target)
			continue
		}
		if r.Dir == "" && t != nil && t.Dir == "" {
			bad(rk+".dir", "no remote folder: set it here or as the target's dir")
		}
	}
}
