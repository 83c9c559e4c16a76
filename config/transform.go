package config

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time_zone must load on a machine without zoneinfo files

	"gopkg.in/yaml.v3"

	"github.com/chama-data/chama/etl/funcs"
)

// Transform is the layer spec of `chama transform`: ODS input tables, DWD
// derived columns, and one ADS entry per interface. Expressions are
// github.com/expr-lang/expr with the functions of package etl/funcs.
type Transform struct {
	// BatchRows is the Arrow record batch size (default 8192).
	BatchRows int `yaml:"batch_rows"`
	// Workers evaluate batches in parallel (default: the number of CPUs).
	Workers int `yaml:"workers"`
	// Readers read input files in parallel (default: min(4, workers)).
	Readers int `yaml:"readers"`
	// IPDB is an ip2region .xdb file for ip_prov / ip_city.
	IPDB string `yaml:"ip_db"`
	// The hex AES key for decrypt_mobile comes from an env var or a file
	// of mode 0600, never from this config.
	MobileKeyEnv  string `yaml:"mobile_key_env"`
	MobileKeyFile string `yaml:"mobile_key_file"`
	// UACache bounds each worker's user-agent cache (default 8192).
	UACache int `yaml:"ua_cache"`
	// StageRowsPerFile starts a new staged Parquet file once one holds
	// that many rows, between batches (default 1,000,000).
	StageRowsPerFile int `yaml:"stage_rows_per_file"`
	// StageCompression of staged Parquet: snappy (default), zstd, gzip or
	// none (Snappy costs about a fifth of a standalone run's CPU).
	StageCompression string `yaml:"stage_compression"`
	// StageDictionary dictionary-encodes the staged text columns whose
	// first batch repeats its values (one distinct value in ten or fewer):
	// 14% smaller files on the 51007 bench for 25% more CPU, so off by
	// default.
	StageDictionary bool `yaml:"stage_dictionary"`
	// TimeZone is the zone of from_unixtime, unix_timestamp, date_format
	// and the other date functions, as Hive's session zone (default
	// Asia/Shanghai, the team's).
	TimeZone string `yaml:"time_zone"`

	ODS map[string]*ODSTable `yaml:"ods"`
	// Dims are the dimension tables the layers' lookups join to.
	Dims map[string]*DimTable `yaml:"dims"`
	DWD  map[string]*DWDTable `yaml:"dwd"`
	// ADS is keyed by interface name (51007, CM001, ...).
	ADS map[string]*ADSSpec `yaml:"ads"`
}

// DefaultTimeZone is transform.time_zone when unset.
const DefaultTimeZone = "Asia/Shanghai"

// FileTable is how a table's files are read: their source, format and
// schema (an ODS table, a dimension table).
type FileTable struct {
	Source string `yaml:"source"`
	Format string `yaml:"format"` // text (default; plain or gzip) or parquet
	// Delimiter of text input (default "\x01"); Null is the text that
	// means null (default Hive's \N).
	Delimiter string `yaml:"delimiter"`
	Null      string `yaml:"null"`
	// Columns in file order: name: type (string, bigint, double).
	Columns Exprs `yaml:"columns"`
}

// ODSTable is an input table: where its hourly partitions are and their schema.
type ODSTable struct {
	FileTable `yaml:",inline"`
	// Path is relative to the source root, with {date} and {hour}.
	Path string `yaml:"path"`
	// BadValue is what a bigint/double field that does not parse does to
	// its line: reject (default) or null (Hive: the field becomes NULL,
	// the row is kept, and the field is counted in null_fields).
	BadValue string `yaml:"bad_value"`
	// BadLine is what a line with too few or too many fields does: reject
	// (default) or null (Hive: missing fields are NULL, extra fields are
	// ignored; counted in null_fields).
	BadLine string `yaml:"bad_line"`
}

// Row policies of an ODS table (bad_value, bad_line).
const (
	PolicyReject = "reject"
	PolicyNull   = "null"
)

// DWDTable derives cleaned columns from an ODS table.
type DWDTable struct {
	From string `yaml:"from"`
	// Derive adds columns in order, each `name: expression`; an expression
	// may use the ODS columns and the columns derived before it. A derived
	// column may replace an ODS column of the same name.
	Derive Exprs `yaml:"derive"`
	// Keep lists the ODS columns carried over (default all); Drop removes
	// some. Derived columns are always kept.
	Keep []string `yaml:"keep"`
	Drop []string `yaml:"drop"`
	// Lookups add columns from dimension tables (left lookups only: a
	// DWD table keeps every row); their columns follow the derived ones.
	Lookups []*Lookup `yaml:"lookups"`
	// Select is the table as one Hive SELECT over the ODS table instead of
	// from, derive, keep and drop (config/selectsql.go).
	Select SQL `yaml:"select"`

	selectErr       string // why Select could not be translated
	expanded        bool   // Select has filled the other keys
	lookupsExpanded bool   // the lookups' columns are in Derive
}

// ADSSpec routes DWD rows to one interface and shapes its output.
type ADSSpec struct {
	From string `yaml:"from"` // a DWD table
	// Filter selects the interface's rows (empty: every row). A row may
	// match several interfaces; a row matching none is counted filtered.
	Filter string `yaml:"filter"`
	// Lookups join dimension tables: an inner lookup keeps only the rows
	// with a match (with Filter, see Condition), and each lookup's
	// columns may be used by Filter and Columns (see Names).
	Lookups []*Lookup `yaml:"lookups"`
	// Columns are the output columns in output order, `name: expression`.
	Columns Exprs `yaml:"columns"`
	// Partition names the output column that splits the files (e.g. the
	// province for CM interfaces); empty: not partitioned.
	Partition string `yaml:"partition"`
	// Select is the entry as one Hive SELECT over the DWD table instead
	// of from, filter and columns (config/selectsql.go).
	Select SQL `yaml:"select"`

	selectErr string // why Select could not be translated
	expanded  bool   // Select has filled the other keys
}

// NamedExpr is one `name: value` entry of an ordered mapping.
type NamedExpr struct {
	Name string
	Expr string
	Line int // in the config file, for messages
	// Key is the entry's key path under its table when it is not
	// derive.<name> (a lookup's column).
	Key string
}

// Exprs is an ordered YAML mapping (`name: expression` lines keep their
// order, which is the output order).
type Exprs []NamedExpr

// UnmarshalYAML keeps the mapping's order.
func (e *Exprs) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of name: expression", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s: want a single expression", v.Line, k.Value)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: %s appears twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		*e = append(*e, NamedExpr{Name: k.Value, Expr: v.Value, Line: k.Line})
	}
	return nil
}

// Names lists the entry names in order.
func (e Exprs) Names() []string {
	out := make([]string, len(e))
	for i, x := range e {
		out[i] = x.Name
	}
	return out
}

// ODS column types.
var ODSTypes = map[string]bool{"string": true, "bigint": true, "double": true}

func (t *Transform) applyDefaults() {
	if t.BatchRows == 0 {
		t.BatchRows = 8192
	}
	if t.Workers == 0 {
		t.Workers = runtime.NumCPU()
	}
	if t.Readers == 0 {
		t.Readers = min(4, t.Workers)
	}
	if t.UACache == 0 {
		t.UACache = 8192
	}
	if t.StageRowsPerFile == 0 {
		t.StageRowsPerFile = 1000000
	}
	if t.StageCompression == "" {
		t.StageCompression = "snappy"
	}
	if t.TimeZone == "" {
		t.TimeZone = DefaultTimeZone
	}
	for _, o := range t.ODS {
		if o == nil {
			continue
		}
		o.FileTable.applyDefaults()
		if o.BadValue == "" {
			o.BadValue = PolicyReject
		}
		if o.BadLine == "" {
			o.BadLine = PolicyReject
		}
	}
	t.expandSelects()
	t.expandLookups()
}

// DWDColumns is the column list of a DWD table: the kept ODS columns in
// file order, then the derived ones (a derived column that shares an ODS
// name takes its place).
func (t *Transform) DWDColumns(name string) []string {
	d := t.DWD[name]
	o := t.ODS[d.From]
	keep := map[string]bool{}
	for _, k := range d.Keep {
		keep[k] = true
	}
	drop := map[string]bool{}
	for _, k := range d.Drop {
		drop[k] = true
	}
	derived := map[string]bool{}
	for _, x := range d.Derive {
		derived[x.Name] = true
	}
	var out []string
	for _, c := range o.Columns {
		if (len(keep) > 0 && !keep[c.Name]) || drop[c.Name] {
			continue
		}
		out = append(out, c.Name)
	}
	have := map[string]bool{}
	for _, c := range out {
		have[c] = true
	}
	for _, x := range d.Derive {
		if !have[x.Name] {
			out = append(out, x.Name)
			have[x.Name] = true
		}
	}
	return out
}

// validate reports every problem of the transform section, each with its
// key path; expression errors carry the expression and its line:column.
func (t *Transform) validate(c *Config, bad badFunc) {
	const key = "transform"
	t.validateSettings(key, bad)
	set := t.checkSet()
	for _, name := range sortedKeys(t.ODS) {
		o, k := t.ODS[name], key+".ods."+name
		if o == nil {
			bad(k, "empty table")
			continue
		}
		o.validate(c, k, bad)
	}
	for _, name := range sortedKeys(t.Dims) {
		d, k := t.Dims[name], key+".dims."+name
		if d == nil {
			bad(k, "empty table")
			continue
		}
		if !validColumn(name) {
			bad(k, "a dim name is letters, digits and _ and starts with a letter or _")
		}
		d.validate(c, k, bad)
	}
	for _, name := range sortedKeys(t.DWD) {
		d, k := t.DWD[name], key+".dwd."+name
		if d == nil {
			bad(k, "empty table")
			continue
		}
		t.validateDWD(d, set, k, bad)
	}
	for _, name := range sortedKeys(t.ADS) {
		a, k := t.ADS[name], key+".ads."+name
		if a == nil {
			bad(k, "empty interface")
			continue
		}
		t.validateADS(name, a, set, k, bad)
	}
}

// validateSettings checks the section's own keys (sizes, workers,
// compression, the mobile key's source).
func (t *Transform) validateSettings(key string, bad badFunc) {
	if t.BatchRows < 1 || t.BatchRows > 1<<20 {
		bad(key+".batch_rows", "must be 1-1048576")
	}
	if t.Workers < 1 || t.Workers > 256 {
		bad(key+".workers", "must be 1-256")
	}
	if t.Readers < 1 || t.Readers > 256 {
		bad(key+".readers", "must be 1-256")
	}
	if t.StageRowsPerFile < 1 {
		bad(key+".stage_rows_per_file", "must be at least 1")
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil {
		bad(key+".time_zone", fmt.Sprintf("unknown time zone %q (want an IANA name such as Asia/Shanghai)", t.TimeZone))
	}
	switch t.StageCompression {
	case "snappy", "zstd", "gzip", "none":
	default:
		bad(key+".stage_compression", "%q is not snappy, zstd, gzip or none", t.StageCompression)
	}
	if t.MobileKeyEnv != "" && t.MobileKeyFile != "" {
		bad(key+".mobile_key_env", "set mobile_key_env or mobile_key_file, not both")
	}
}

// checkSet is the function set expressions are compiled against to check
// them. The IP database and the mobile key are opened by the transform
// stage (etl/transform.OpenResources), never here: only their presence in
// the config decides whether ip_* and decrypt_mobile may be used.
func (t *Transform) checkSet() *funcs.Set {
	sh := &funcs.Shared{}
	if t.IPDB != "" {
		sh.IP = &funcs.XDB{}
	}
	if t.MobileKeyEnv != "" || t.MobileKeyFile != "" {
		sh.Mobile = &funcs.MobileCipher{}
	}
	t.declareLookups(sh)
	return sh.NewSet()
}

// validate checks one ODS table (at key).
func (o *ODSTable) validate(c *Config, k string, bad badFunc) {
	o.FileTable.validate(c, k, bad)
	if o.Path == "" || !strings.Contains(o.Path, "{date}") {
		bad(k+".path", "%q needs {date} (e.g. ods/events/dt={date}/hour={hour})", o.Path)
	}
	for key, v := range map[string]string{"bad_value": o.BadValue, "bad_line": o.BadLine} {
		if v != PolicyReject && v != PolicyNull {
			bad(k+"."+key, "%q is not reject or null", v)
		}
	}
}

func (f *FileTable) applyDefaults() {
	if f.Format == "" {
		f.Format = "text"
	}
	if f.Delimiter == "" {
		f.Delimiter = "\x01"
	}
	if f.Null == "" {
		f.Null = `\N`
	}
}

// validate checks the source, format and columns of a table (at k).
func (f *FileTable) validate(c *Config, k string, bad badFunc) {
	if f.Source == "" {
		bad(k+".source", "missing")
	} else if _, ok := c.Sources[f.Source]; !ok {
		bad(k+".source", "unknown source %q", f.Source)
	}
	switch f.Format {
	case "text", "parquet":
	default:
		bad(k+".format", "%q is not text or parquet", f.Format)
	}
	if len(f.Delimiter) != 1 {
		bad(k+".delimiter", "must be a single byte, got %q", f.Delimiter)
	}
	if len(f.Columns) == 0 {
		bad(k+".columns", "no columns: list them in file order as name: type")
	}
	for _, col := range f.Columns {
		if !ODSTypes[col.Expr] {
			bad(k+".columns."+col.Name, "type %q is not string, bigint or double", col.Expr)
		}
		if !validColumn(col.Name) {
			bad(k+".columns."+col.Name, "a column name is letters, digits and _ and starts with a letter or _")
		}
	}
}

// validateDWD checks one DWD table (at k): its ODS table, keep and drop,
// and each derived expression against the columns visible to it.
func (t *Transform) validateDWD(d *DWDTable, set *funcs.Set, k string, bad badFunc) {
	if d.selectErr != "" {
		bad(k+".select", "%s", d.selectErr)
		return
	}
	o, ok := t.ODS[d.From]
	if !ok || o == nil {
		bad(k+".from", "unknown ods table %q", d.From)
		return
	}
	cols := map[string]bool{}
	for _, c := range o.Columns {
		cols[c.Name] = true
	}
	checkODSColumns(k+".keep", d.Keep, cols, d.From, bad)
	checkODSColumns(k+".drop", d.Drop, cols, d.From, bad)
	visible := o.Columns.Names()
	own := visible
	for _, x := range d.Derive {
		if x.Key == "" {
			own = append(own[:len(own):len(own)], x.Name)
		}
	}
	t.validateLookups(d.Lookups, d.Select, true, own, set, k, bad)
	for _, x := range d.Derive {
		key := d.Select.key(k, "derive", x.Name)
		if x.Key != "" {
			key = k + "." + x.Key
		}
		if !validColumn(x.Name) {
			bad(key, "a column name is letters, digits and _ and starts with a letter or _")
		}
		if _, err := set.Compile(x.Expr, visible); err != nil {
			bad(key, "%s\n    in: %s\n    %v", exprAt(x), x.Expr, err)
		}
		visible = append(visible, x.Name)
	}
}

// checkODSColumns checks that every name of a keep or drop list (at key)
// is a column of the ODS table from.
func checkODSColumns(key string, names []string, cols map[string]bool, from string, bad badFunc) {
	for i, n := range names {
		if !cols[n] {
			bad(fmt.Sprintf("%s[%d]", key, i), "%q is not a column of ods table %s", n, from)
		}
	}
}

// validateADS checks the ADS entry of interface name (at k): its DWD
// table, filter, output columns and partition column.
func (t *Transform) validateADS(name string, a *ADSSpec, set *funcs.Set, k string, bad badFunc) {
	if !validIface(name) {
		bad(k, "interface names are letters and digits only (e.g. 51007, CM001)")
	}
	if a.selectErr != "" {
		bad(k+".select", "%s", a.selectErr)
		return
	}
	d, ok := t.DWD[a.From]
	if !ok || d == nil {
		bad(k+".from", "unknown dwd table %q", a.From)
		return
	}
	if o, ok := t.ODS[d.From]; !ok || o == nil {
		return // reported above
	}
	cols := t.DWDColumns(a.From)
	t.validateLookups(a.Lookups, a.Select, false, cols, set, k, bad)
	names := a.Names()
	if a.Filter != "" {
		if _, err := set.Compile(a.Filter, cols, names); err != nil {
			bad(a.Select.key(k, "filter", ""), "in: %s\n    %v", a.Filter, err)
		}
	}
	if len(a.Columns) == 0 {
		bad(k+".columns", "no output columns")
	}
	for _, x := range a.Columns {
		if _, err := set.Compile(x.Expr, cols, names); err != nil {
			bad(a.Select.key(k, "columns", x.Name), "%s\n    in: %s\n    %v", exprAt(x), x.Expr, err)
		}
	}
	if a.Partition != "" && !slices.Contains(a.Columns.Names(), a.Partition) {
		bad(k+".partition", "%q is not one of the output columns", a.Partition)
	}
}

// resolve makes file paths relative to the config file's folder.
func (t *Transform) resolve(base string) {
	t.IPDB = resolveOpt(base, t.IPDB)
	t.MobileKeyFile = resolveOpt(base, t.MobileKeyFile)
}

func exprAt(x NamedExpr) string {
	return fmt.Sprintf("expression at config line %d", x.Line)
}

func validColumn(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// FromTransform is the `from:` of an interface whose rows are produced by
// its transform.ads entry and packed directly, with no staged files.
const FromTransform = "transform"

// Partitioned reports whether the interface's files are split into one
// set per partition value: by partition_field (text input) or by the
// partition column of its transform.ads entry.
func (i *Interface) Partitioned() bool { return i.PartitionField > 0 || i.ADSPartition != "" }

// applyFromTransform copies the ADS entry's partition column onto an
// interface with from: transform, before the naming defaults are chosen.
func (c *Config) applyFromTransform(i *Interface) {
	if i.From != FromTransform || c.Transform == nil {
		return
	}
	if a := c.Transform.ADS[i.Name]; a != nil {
		i.ADSPartition = a.Partition
	}
}

// ODSFor is the ODS table the transform.ads entry of an interface reads
// (nil when the chain ads -> dwd -> ods is broken; validation says why).
func (t *Transform) ODSFor(iface string) *ODSTable {
	a := t.ADS[iface]
	if a == nil {
		return nil
	}
	d := t.DWD[a.From]
	if d == nil {
		return nil
	}
	return t.ODS[d.From]
}

// validateFrom checks an interface with from: the ADS entry it names must
// exist, and the keys that describe text input (source, path, fields,
// partition_field) must not be set: the ODS table and the ADS entry say
// where the rows come from and how they are split.
func (c *Config) validateFrom(i *Interface, key string, bad func(key, format string, a ...any)) {
	if i.From != FromTransform {
		bad(key+".from", "%q is not transform (the only producer an interface can name)", i.From)
		return
	}
	if c.Transform == nil {
		bad(key+".from", "from: transform but the config has no transform section")
		return
	}
	if a := c.Transform.ADS[i.Name]; a == nil {
		bad(key+".from", "from: transform needs a transform.ads.%s entry", i.Name)
	}
	for _, k := range []struct {
		name string
		set  bool
	}{{"source", i.Source != ""}, {"path", i.Path != ""}, {"fields", i.Fields != 0}, {"partition_field", i.PartitionField != 0}} {
		if k.set {
			bad(key+"."+k.name, "not used with from: transform (the ODS table and transform.ads.%s say where the rows come from and how they are split)", i.Name)
		}
	}
	if o := c.Transform.ODSFor(i.Name); i.HourlyPack && o != nil && !strings.Contains(o.Path, "{hour}") {
		bad(key+".hourly_pack", "hourly_pack reads one hour at a time: the path of the ODS table behind transform.ads.%s needs {hour} (%q)", i.Name, o.Path)
	}
	if i.Granularity == "hour" {
		if o := c.Transform.ODSFor(i.Name); o != nil && !strings.Contains(o.Path, "{hour}") {
			bad(key+".granularity", "an hourly interface from transform needs {hour} in its ODS table's path (%q)", o.Path)
		}
	}
}
