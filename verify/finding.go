package verify

import (
	"fmt"
	"strings"
)

// Reasons are the stable names of what verify finds wrong. Alerting greps
// for them: never rename one, only add.
const (
	ReasonNotPacked        = "not_packed"             // no output folder for the period
	ReasonBadManifest      = "bad_manifest"           // manifest.json unreadable
	ReasonNoManifest       = "no_manifest"            // (warning) older output without manifest: rows not reconciled
	ReasonMissingVerf      = "missing_verf"           // the set's .verf is absent
	ReasonBadVerf          = "bad_verf"               // the .verf cannot be parsed
	ReasonMissingFile      = "missing_file"           // a file named in the .verf is absent
	ReasonNotRegular       = "not_regular"            // a listed name is a folder, symlink or device
	ReasonSizeMismatch     = "size_mismatch"          // bytes differ from the .verf
	ReasonChecksumMismatch = "checksum_mismatch"      // md5/sha256 differ from the .verf
	ReasonBadGzip          = "bad_gzip"               // not a complete, valid gzip stream
	ReasonLineMismatch     = "line_mismatch"          // line count differs from the .verf
	ReasonSeqGap           = "seq_gap"                // a sequence number between 1 and the last is missing
	ReasonSeqDuplicate     = "seq_duplicate"          // two entries carry the same sequence
	ReasonExtraFile        = "extra_file"             // a local file named like the set but not in its .verf
	ReasonWrongPeriod      = "wrong_period"           // an entry or name of another period
	ReasonManifestMismatch = "manifest_mismatch"      // .verf and manifest disagree about a file
	ReasonRowsMismatch     = "rows_mismatch"          // sum of lines != rows read - rejected - filtered
	ReasonPartLeftover     = "part_leftover"          // remote: an unfinished upload (.<name>.part)
	ReasonStrayFile        = "stray_file"             // remote: a file of this period not in the .verf
	ReasonSuperseded       = "superseded_file"        // (warning) remote: a file of an earlier re-send of the period
	ReasonDelimInChar      = "delimiter_in_character" // --full: a GBK/GB18030 character whose bytes hold the delimiter
	ReasonRemoteError      = "remote_error"           // remote: the target could not be listed or read
	ReasonNoRoute          = "no_route"               // (warning) --remote for an interface without routes
)

// Severities of a finding.
const (
	Fail = "FAIL"
	Warn = "WARN"
)

// Finding is one problem. Where is "local" or "target:<name>".
type Finding struct {
	Severity string `json:"severity"`
	Iface    string `json:"iface"`
	Period   string `json:"period"`
	File     string `json:"file"` // "-" when the finding is about the period or set
	Reason   string `json:"reason"`
	Where    string `json:"where"`
	Host     string `json:"host,omitempty"`
	Want     string `json:"want,omitempty"`
	Got      string `json:"got,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Fix is what repairs it: a command to run, or what to do.
	Fix string `json:"fix,omitempty"`
}

// Line is the stable, greppable form:
//
//	CHAMA_VERIFY FAIL iface=51007 period=20241212 file=NAME reason=size_mismatch where=local want=100 got=90
//
// The first five keys are always present and in this order; host, want,
// got and detail follow when known (detail is quoted).
func (f Finding) Line() string {
	var b strings.Builder
	file := f.File
	if file == "" {
		file = "-"
	}
	fmt.Fprintf(&b, "CHAMA_VERIFY %s iface=%s period=%s file=%s reason=%s where=%s", f.Severity, f.Iface, f.Period, file, f.Reason, f.Where)
	if f.Host != "" {
		fmt.Fprintf(&b, " host=%s", f.Host)
	}
	if f.Want != "" {
		fmt.Fprintf(&b, " want=%s", f.Want)
	}
	if f.Got != "" {
		fmt.Fprintf(&b, " got=%s", f.Got)
	}
	if f.Detail != "" {
		fmt.Fprintf(&b, " detail=%q", f.Detail)
	}
	if f.Fix != "" {
		fmt.Fprintf(&b, " fix=%q", f.Fix)
	}
	return b.String()
}

// Result is the outcome for one interface and period.
type Result struct {
	Iface    string    `json:"iface"`
	Period   string    `json:"period"`
	OK       bool      `json:"ok"`
	Sets     int       `json:"sets"`
	Files    int       `json:"files"` // data files listed in the .verf files
	Lines    int64     `json:"lines"` // lines listed in the .verf files
	Bytes    int64     `json:"bytes"`
	Remote   []string  `json:"remote,omitempty"` // targets checked
	Hosts    []string  `json:"hosts,omitempty"`  // the endpoints they were checked on
	Findings []Finding `json:"findings"`
}

func (r *Result) add(f Finding) {
	f.Iface, f.Period = r.Iface, r.Period
	if f.Severity == "" {
		f.Severity = Fail
	}
	if f.Where == "" {
		f.Where = "local"
	}
	if f.File == "" {
		f.File = "-"
	}
	if f.Fix == "" {
		f.Fix = fixFor(f)
	}
	r.Findings = append(r.Findings, f)
}

// fixFor is the repair of a finding: what the on-call runs next.
func fixFor(f Finding) string {
	at := fmt.Sprintf("--date %s --iface %s", f.Period, f.Iface)
	if f.Where == "local" {
		switch f.Reason {
		case ReasonNoManifest:
			return ""
		case ReasonNotPacked:
			if f.Severity == Warn {
				return "" // checked against the targets' own .verf
			}
		}
		// The local set is missing or damaged: pack it again. A period
		// already delivered needs a new re-send number (pack says so).
		return "chama pack " + at + "; then chama verify " + at
	}
	switch f.Reason {
	case ReasonMissingFile, ReasonMissingVerf, ReasonPartLeftover:
		return "chama push " + at + " (re-sends what is missing, resumes .part files)"
	case ReasonSizeMismatch, ReasonChecksumMismatch, ReasonBadGzip, ReasonLineMismatch, ReasonNotRegular:
		return "chama push " + at + " --force (compares by content and replaces the damaged file)"
	case ReasonStrayFile, ReasonSuperseded:
		return "remove the file on the platform (sftp rm) once downstream no longer needs it; chama never deletes remote files"
	case ReasonRemoteError:
		return "restore access to the target (see detail), then: chama verify " + at + " --remote"
	}
	return ""
}

func (r *Result) finish() {
	r.OK = true
	for _, f := range r.Findings {
		if f.Severity == Fail {
			r.OK = false
		}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
}

// OKLine is the stable line of a period that holds; with --remote it
// names the hosts the sets were checked through:
//
//	CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=2500 hosts=10.1.0.11:22
func (r *Result) OKLine() string {
	l := fmt.Sprintf("CHAMA_VERIFY OK iface=%s period=%s files=%d lines=%d", r.Iface, r.Period, r.Files, r.Lines)
	if len(r.Hosts) > 0 {
		l += " hosts=" + strings.Join(r.Hosts, ",")
	}
	return l
}

// Report is every result of a verify run.
type Report struct {
	OK      bool      `json:"ok"`
	Results []*Result `json:"results"`
}
