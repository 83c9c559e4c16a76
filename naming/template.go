package naming

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Fields are the values a file-name template can carry.
type Fields struct {
	Date   string // YYYYMMDD
	Hour   string // HH, empty for a day
	Iface  string // interface code, e.g. 51007 or CM001
	Part   string // partition value, e.g. province 250
	Resend int    // re-send number, 0 for the first delivery
	Seq    int    // 1-based file sequence
}

// Template is a parsed file-name template such as
// "a_10000_{date}_{iface}_{part}_{resend:02}_{seq}.dat.gz".
//
// Placeholders: {date} {hour} {period} {iface} {part} {resend[:NN]}
// {seq[:NN]}. A width such as :02 zero-pads; {seq} without a width takes
// the width the period's sequence rule gives.
type Template struct {
	raw   string
	parts []tplPart
	re    *regexp.Regexp
}

type tplPart struct {
	lit   string // literal text when name == ""
	name  string
	width int // 0: natural width (or the sequence rule for seq)
}

var knownFields = map[string]bool{
	"date": true, "hour": true, "period": true, "iface": true,
	"part": true, "resend": true, "seq": true,
}

// ParseTemplate checks and compiles a template.
func ParseTemplate(s string) (*Template, error) {
	if s == "" {
		return nil, fmt.Errorf("empty file-name template")
	}
	if strings.ContainsAny(s, "/\\") {
		return nil, fmt.Errorf("template %q: a file name must not contain a path separator", s)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("template %q: a file name must not contain control characters", s)
	}
	t := &Template{raw: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.Contains(rest, "}") {
				return nil, fmt.Errorf("template %q: unmatched '}'", s)
			}
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if i > 0 {
			if strings.Contains(rest[:i], "}") {
				return nil, fmt.Errorf("template %q: unmatched '}'", s)
			}
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("template %q: unclosed '{' at offset %d", s, len(s)-len(rest)+i)
		}
		body := rest[i+1 : i+j]
		name, w, hasW := strings.Cut(body, ":")
		if !knownFields[name] {
			return nil, fmt.Errorf("template %q: unknown placeholder {%s} (known: date, hour, period, iface, part, resend, seq)", s, body)
		}
		p := tplPart{name: name}
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 || n > 9 || (name != "seq" && name != "resend") {
				return nil, fmt.Errorf("template %q: bad width in {%s}: only seq and resend take a width 1-9", s, body)
			}
			p.width = n
		}
		t.parts = append(t.parts, p)
		rest = rest[i+j+1:]
	}
	for k, p := range t.parts {
		if k > 0 && p.name != "" && t.parts[k-1].name != "" {
			return nil, fmt.Errorf("template %q: placeholders {%s} and {%s} need literal text between them to be parsed back", s, t.parts[k-1].name, p.name)
		}
	}
	// A placeholder of no fixed width ends where the text after it
	// starts: that text must begin with a character the placeholder cannot
	// hold, or a name could be split two ways ("{part}0{seq}": 25000101 is
	// part 250, seq 0101, or part 250001, seq 1).
	for k, p := range t.parts[:len(t.parts)-1] {
		next := t.parts[k+1]
		if p.name == "" || next.name != "" || !open(p) {
			continue
		}
		if c := next.lit[0]; fieldChar(p.name, c) {
			return nil, fmt.Errorf("template %q: {%s} is followed by %q, which {%s} may contain: the name could not be parsed back; put a separator such as _ or . after it", s, p.name, string(c), p.name)
		}
	}
	var re strings.Builder
	re.WriteString("^")
	for _, p := range t.parts {
		switch {
		case p.name == "":
			re.WriteString(regexp.QuoteMeta(p.lit))
		case p.name == "date":
			re.WriteString(`(?P<date>\d{8})`)
		case p.name == "hour":
			re.WriteString(`(?P<hour>\d{2})`)
		case p.name == "period":
			re.WriteString(`(?P<period>\d{8}(?:\d{2})?)`)
		case p.name == "iface":
			re.WriteString(`(?P<iface>[A-Za-z0-9]+)`)
		case p.name == "part":
			re.WriteString(`(?P<part>[A-Za-z0-9-]+)`)
		case p.width > 0:
			fmt.Fprintf(&re, `(?P<%s>\d{%d})`, p.name, p.width)
		default:
			fmt.Fprintf(&re, `(?P<%s>\d+)`, p.name)
		}
	}
	re.WriteString("$")
	var err error
	if t.re, err = regexp.Compile(re.String()); err != nil {
		return nil, fmt.Errorf("template %q: %v", s, err)
	}
	return t, nil
}

// open reports whether a placeholder's width varies (its end is found by
// what follows it).
func open(p tplPart) bool {
	switch p.name {
	case "iface", "part":
		return true
	case "seq", "resend":
		return p.width == 0
	}
	return false // date, hour, period: fixed digits
}

// fieldChar reports whether placeholder name's value may contain c.
func fieldChar(name string, c byte) bool {
	digit := c >= '0' && c <= '9'
	alnum := digit || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	switch name {
	case "iface":
		return alnum
	case "part":
		return alnum || c == '-'
	}
	return digit
}

// MustTemplate is ParseTemplate for literals.
func MustTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Template) String() string { return t.raw }

// Uses reports whether the template has the named placeholder.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.name == name {
			return true
		}
	}
	return false
}

// SeqWidth is the explicit width of {seq}, or 0 when the period's rule decides.
func (t *Template) SeqWidth() int {
	for _, p := range t.parts {
		if p.name == "seq" {
			return p.width
		}
	}
	return 0
}

// Format renders a name. seqWidth is the width for a {seq} without its own
// width. A number that does not fit its width is an error, never a
// wrapped or widened name.
func (t *Template) Format(f Fields, seqWidth int) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.name {
		case "":
			b.WriteString(p.lit)
		case "date":
			if len(f.Date) != 8 {
				return "", fmt.Errorf("template %q: date %q is not YYYYMMDD", t.raw, f.Date)
			}
			b.WriteString(f.Date)
		case "hour":
			if len(f.Hour) != 2 {
				return "", fmt.Errorf("template %q: the name needs an hour but the period is a day", t.raw)
			}
			b.WriteString(f.Hour)
		case "period":
			b.WriteString(f.Date + f.Hour)
		case "iface":
			if f.Iface == "" {
				return "", fmt.Errorf("template %q: empty interface", t.raw)
			}
			b.WriteString(f.Iface)
		case "part":
			if f.Part == "" {
				return "", fmt.Errorf("template %q: empty partition value", t.raw)
			}
			b.WriteString(f.Part)
		case "resend":
			if err := pad(&b, "resend", f.Resend, p.width); err != nil {
				return "", fmt.Errorf("template %q: %w", t.raw, err)
			}
		case "seq":
			w := p.width
			if w == 0 {
				w = seqWidth
			}
			if f.Seq < 1 {
				return "", fmt.Errorf("template %q: sequence %d: sequences start at 1", t.raw, f.Seq)
			}
			if err := pad(&b, "seq", f.Seq, w); err != nil {
				return "", fmt.Errorf("template %q: %w", t.raw, err)
			}
		}
	}
	return b.String(), nil
}

func pad(b *strings.Builder, name string, v, width int) error {
	if v < 0 {
		return fmt.Errorf("%s %d is negative", name, v)
	}
	s := strconv.Itoa(v)
	if width > 0 {
		if len(s) > width {
			return fmt.Errorf("%s %d does not fit in %d digits", name, v, width)
		}
		s = strings.Repeat("0", width-len(s)) + s
	}
	b.WriteString(s)
	return nil
}

// Parse reads the fields back from a name made by Format. ok is false when
// the name does not match the template.
func (t *Template) Parse(name string) (f Fields, ok bool) {
	m := t.re.FindStringSubmatch(name)
	if m == nil {
		return Fields{}, false
	}
	for i, g := range t.re.SubexpNames() {
		switch g {
		case "date":
			f.Date = m[i]
		case "hour":
			f.Hour = m[i]
		case "period":
			f.Date, f.Hour = m[i][:8], m[i][8:]
		case "iface":
			f.Iface = m[i]
		case "part":
			f.Part = m[i]
		case "resend":
			f.Resend, _ = strconv.Atoi(m[i])
		case "seq":
			f.Seq, _ = strconv.Atoi(m[i])
		}
	}
	return f, true
}

// Match reports whether name could have been made by the template.
func (t *Template) Match(name string) bool { return t.re.MatchString(name) }
