package funcs

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// substr is Hive's substr(s, pos[, len]): 1-based, a negative pos counts
// from the end, pos 0 behaves as 1, a pos beyond the string or a len <= 0
// gives "". It counts characters, not bytes.
func substr(args ...any) (any, error) {
	if err := arity("substr", args, 2, 3); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	pos, ok := toInt(args[1])
	if !ok {
		return nil, nil
	}
	n := int(^uint(0) >> 1)
	if len(args) == 3 {
		if n, ok = toInt(args[2]); !ok {
			return nil, nil
		}
	}
	ascii := isASCII(s)
	total := len(s)
	if !ascii {
		total = utf8.RuneCountInString(s)
	}
	if n <= 0 || abs(pos) > total {
		return "", nil
	}
	var start int
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = total + pos
	}
	end := total
	if total-start >= n {
		end = start + n
	}
	if ascii {
		return s[start:end], nil
	}
	return runeSlice(s, start, end), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// runeSlice returns characters [start, end) of s.
func runeSlice(s string, start, end int) string {
	i, from, to := 0, len(s), len(s)
	for off := range s {
		if i == start {
			from = off
		}
		if i == end {
			to = off
			break
		}
		i++
	}
	if from > to {
		return ""
	}
	return s[from:to]
}

func nvl(args ...any) (any, error) {
	if err := arity("nvl", args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] != nil {
		return args[0], nil
	}
	return args[1], nil
}

func coalesce(args ...any) (any, error) {
	for _, a := range args {
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

// nullif(a, b) is null when a equals b, else a.
func nullif(args ...any) (any, error) {
	if err := arity("nullif", args, 2, 2); err != nil {
		return nil, err
	}
	a, aok := str(args[0])
	b, bok := str(args[1])
	if !aok || (bok && a == b) {
		return nil, nil
	}
	return args[0], nil
}

// emptyNull is the DWD rule "empty -> null".
func emptyNull(args ...any) (any, error) {
	if err := arity("empty_null", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok || s == "" {
		return nil, nil
	}
	return args[0], nil
}

// concat is Hive's: null if any argument is null.
func concat(args ...any) (any, error) {
	n := 0
	for _, a := range args {
		s, ok := str(a)
		if !ok {
			return nil, nil
		}
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, a := range args {
		s, _ := str(a)
		b.WriteString(s)
	}
	return b.String(), nil
}

// concatWS is Hive's GenericUDFConcatWS: NULL arguments are skipped, an
// array argument (split's result) gives its elements joined by the
// separator, a NULL separator gives NULL.
func concatWS(args ...any) (any, error) {
	if err := arity("concat_ws", args, 1, -1); err != nil {
		return nil, err
	}
	sep, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	var b strings.Builder
	first := true
	for _, a := range args[1:] {
		if a == nil {
			continue
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		if list, ok := a.([]any); ok {
			for j, x := range list {
				if j > 0 {
					b.WriteString(sep)
				}
				b.WriteString(arrayElemString(x))
			}
			continue
		}
		s, _ := str(a)
		b.WriteString(s)
	}
	return b.String(), nil
}

// arrayElemString is an array element as concat_ws appends it: a NULL
// element is "null" (StringBuilder.append of a null Object).
func arrayElemString(x any) string {
	if s, ok := str(x); ok {
		return s
	}
	return "null"
}

func str1(name string, args []any, f func(string) string) (any, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	return f(s), nil
}

func lower(args ...any) (any, error) { return str1("lower", args, strings.ToLower) }
func upper(args ...any) (any, error) { return str1("upper", args, strings.ToUpper) }

// Hive's trim removes spaces (ASCII 32) only, not tabs or newlines.
func trim(args ...any) (any, error) {
	return str1("trim", args, func(s string) string { return strings.Trim(s, " ") })
}
func ltrim(args ...any) (any, error) {
	return str1("ltrim", args, func(s string) string { return strings.TrimLeft(s, " ") })
}
func rtrim(args ...any) (any, error) {
	return str1("rtrim", args, func(s string) string { return strings.TrimRight(s, " ") })
}

func length(args ...any) (any, error) {
	if err := arity("length", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	return utf8.RuneCountInString(s), nil
}

// instr is Hive's instr(s, sub): the 1-based character position of sub, 0
// when absent.
func instr(args ...any) (any, error) {
	if err := arity("instr", args, 2, 2); err != nil {
		return nil, err
	}
	s, ok1 := str(args[0])
	sub, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	i := strings.Index(s, sub)
	if i < 0 {
		return 0, nil
	}
	return utf8.RuneCountInString(s[:i]) + 1, nil
}

// stripChars removes every occurrence of each character of set, e.g. the
// DWD cleaning strip_chars(x, "\n\r\t|").
func stripChars(args ...any) (any, error) {
	if err := arity("strip_chars", args, 2, 2); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	set, ok := str(args[1])
	if !ok {
		return nil, nil
	}
	if !strings.ContainsAny(s, set) {
		return args[0], nil
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(set, r) {
			return -1
		}
		return r
	}, s), nil
}

type reCacheEntry struct {
	re  *regexp.Regexp
	err error
	// canEmpty: the pattern may match the empty string somewhere (then
	// regexp_replace looks for the empty matches Java takes and Go skips).
	canEmpty bool
	at       *regexp.Regexp // \A(?s:.)(?:pattern), compiled when needed
	// The last replacement parsed against this pattern.
	repl    string
	tmpl    []replPart
	tmplErr error
	tmplSet bool
}

// regexp compiles pattern once per worker.
func (s *Set) regexp(name, pattern string) (*regexp.Regexp, error) {
	e := s.regexpEntry(name, pattern)
	return e.re, e.err
}

func (s *Set) regexpEntry(name, pattern string) *reCacheEntry {
	if e, ok := s.re[pattern]; ok {
		return e
	}
	e := &reCacheEntry{}
	if err := CheckPattern(pattern); err != nil {
		e.err = fmt.Errorf("%s: bad pattern %q: %v", name, pattern, err)
	} else {
		re2, _ := javaDot(pattern)
		e.re, _ = regexp.Compile(re2)
		if t, err := syntax.Parse(re2, syntax.Perl); err == nil {
			e.canEmpty = canMatchEmpty(t)
		}
	}
	if len(s.re) > 4096 { // patterns built from data: keep it bounded
		clear(s.re)
	}
	s.re[strings.Clone(pattern)] = e
	return e
}

// CheckPattern reports whether a pattern compiles, refusing the Java regex
// features RE2 lacks or reads differently (Hive's patterns are Java's), so
// that such a pattern fails at validation rather than silently differs.
func CheckPattern(pattern string) error {
	if f := javaOnlyFeature(pattern); f != "" {
		return errors.New(f)
	}
	re2, err := javaDot(pattern)
	if err != nil {
		return err
	}
	_, err = regexp.Compile(re2)
	return err
}

// javaLineDot is Java's . without DOTALL: any character but a line
// terminator (java.util.regex.Pattern); RE2's . excludes \n only.
const javaLineDot = `[^\n\r\x{85}\x{2028}\x{2029}]`

// javaDot rewrites each . of a Java pattern (outside classes and escapes)
// as javaLineDot, so "a.b" does not match "a\rb" as Hive's does not. A
// pattern that starts with (?s) keeps its . (DOTALL in both); a DOTALL
// flag further in is refused, its scope being more than this rewrite
// follows.
func javaDot(p string) (string, error) {
	if strings.HasPrefix(p, "(?s)") {
		return p, nil
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 < len(p) && p[i+1] == 'Q' { // \Q...\E is literal
				j := strings.Index(p[i+2:], `\E`)
				if j < 0 {
					b.WriteString(p[i:])
					return b.String(), nil
				}
				b.WriteString(p[i : i+2+j+2])
				i += 2 + j + 1
				continue
			}
			b.WriteByte(c)
			if i+1 < len(p) {
				i++
				b.WriteByte(p[i])
			}
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(p) && p[i+1] == ']' { // a leading ] is a literal
				i++
				b.WriteByte(']')
			}
			continue
		case c == '(' && strings.HasPrefix(p[i:], "(?"):
			if dotAllFlag(p[i+2:]) {
				return "", errors.New("the flag (?s) after the start of the pattern is not supported (put (?s) first, or write [\\s\\S] for any character)")
			}
		case c == '.':
			b.WriteString(javaLineDot)
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// dotAllFlag reports whether the flags after "(?" turn on s.
func dotAllFlag(rest string) bool {
	for j := 0; j < len(rest) && rest[j] != ':' && rest[j] != ')'; j++ {
		switch rest[j] {
		case '-':
			return false
		case 's':
			return true
		case '<', 'P', '=', '!', '>':
			return false // a group, not flags
		}
	}
	return false
}

// javaOnlyFeature names the first Java-only construct of a pattern, or "".
func javaOnlyFeature(p string) string {
	const unsupported = " is Java regex syntax RE2 does not support"
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return ""
			}
			n := p[i+1]
			switch {
			case n == 'Q': // \Q...\E quotes everything up to \E
				j := strings.Index(p[i+2:], `\E`)
				if j < 0 {
					return ""
				}
				i += 2 + j + 1
				continue
			case !inClass && n >= '1' && n <= '9':
				return `backreference \` + string(n) + unsupported
			case !inClass && n == 'k' && i+2 < len(p) && p[i+2] == '<':
				return `named backreference \k<name>` + unsupported
			case n == 'v':
				return `\v (Java: any vertical whitespace; RE2: the VT character)` + " is Java regex syntax RE2 reads differently"
			}
			i++
		case inClass:
			switch {
			case c == '[':
				return "a nested character class or union [a[b]] (or a POSIX class [[:alpha:]], which Java reads as a union)" + unsupported + `; escape a literal [ as \[`
			case c == '&' && i+1 < len(p) && p[i+1] == '&':
				return "character class intersection [a&&[b]]" + unsupported
			case c == ']':
				inClass = false
			}
		case c == '[':
			inClass = true
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' { // a leading ']' is a literal
				i = j
			}
		case c == '(' && strings.HasPrefix(p[i:], "(?"):
			rest := p[i+2:]
			switch {
			case strings.HasPrefix(rest, "="):
				return "look-ahead (?=...)" + unsupported
			case strings.HasPrefix(rest, "!"):
				return "negative look-ahead (?!...)" + unsupported
			case strings.HasPrefix(rest, "<="):
				return "look-behind (?<=...)" + unsupported
			case strings.HasPrefix(rest, "<!"):
				return "negative look-behind (?<!...)" + unsupported
			case strings.HasPrefix(rest, ">"):
				return "atomic group (?>...)" + unsupported
			}
			for j := 0; j < len(rest) && rest[j] != ':' && rest[j] != ')'; j++ {
				if rest[j] == 'U' {
					return "the flag (?U) (Java: Unicode character classes; RE2: ungreedy)" + " is Java regex syntax RE2 reads differently"
				}
				if rest[j] == '<' || rest[j] == 'P' {
					break // a named group
				}
			}
		case (c == '*' || c == '+' || c == '?' || c == '}') && i+1 < len(p) && p[i+1] == '+':
			if c == '}' && !closesRepeat(p[:i+1]) {
				continue // a literal }
			}
			return "possessive quantifier " + string(c) + "+" + unsupported
		}
	}
	return ""
}

// closesRepeat reports whether p ends with a counted repetition {n},
// {n,} or {n,m}.
func closesRepeat(p string) bool {
	j := strings.LastIndexByte(p, '{')
	if j < 0 {
		return false
	}
	in := p[j+1 : len(p)-1]
	lo, hi, comma := strings.Cut(in, ",")
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	return lo != "" && digits(lo) && (!comma || digits(hi))
}

// canMatchEmpty reports whether re may match an empty string (assertions
// taken as possibly true).
func canMatchEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return canMatchEmpty(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || canMatchEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !canMatchEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if canMatchEmpty(s) {
				return true
			}
		}
	}
	return false
}

// regexpLike is Hive's RLIKE: true when the pattern matches anywhere.
func (s *Set) regexpLike(args ...any) (any, error) {
	if err := arity("regexp_like", args, 2, 2); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil // RLIKE of NULL is NULL
	}
	re, err := s.regexp("regexp_like", p)
	if err != nil {
		return nil, err
	}
	return re.MatchString(v), nil
}

// regexpExtract is Hive's UDFRegExpExtract: group idx (default 1) of the
// first match; "" when nothing matches (whatever idx), NULL when the group
// took no part in the match. A match with an idx that names no group (or
// a NULL idx) fails in Hive (Matcher.group throws), so it is an error.
func (s *Set) regexpExtract(args ...any) (any, error) {
	if err := arity("regexp_extract", args, 2, 3); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	idx, idxOK := 1, true
	if len(args) == 3 {
		idx, idxOK = toInt(args[2])
	}
	re, err := s.regexp("regexp_extract", p)
	if err != nil {
		return nil, err
	}
	m := re.FindStringSubmatchIndex(v)
	switch {
	case m == nil:
		return "", nil
	case !idxOK:
		return nil, fmt.Errorf("regexp_extract: the group index is NULL (Hive fails the query with a NullPointerException)")
	case idx < 0 || idx > re.NumSubexp():
		return nil, fmt.Errorf("regexp_extract: no group %d in pattern %q, which has %d (Hive fails the query: IndexOutOfBoundsException: No group %d)", idx, p, re.NumSubexp(), idx)
	case m[2*idx] < 0:
		return nil, nil // the group did not take part: Matcher.group gives null
	}
	return v[m[2*idx]:m[2*idx+1]], nil
}

// regexpReplace is Hive's UDFRegExpReplace: every match (Java's
// Matcher.find loop, which also takes an empty match right after another
// match) replaced by Matcher.appendReplacement's expansion of the
// replacement: $n, ${name}, and \ quoting the next character.
func (s *Set) regexpReplace(args ...any) (any, error) {
	if err := arity("regexp_replace", args, 3, 3); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	r, ok3 := str(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, nil
	}
	e := s.regexpEntry("regexp_replace", p)
	if e.err != nil {
		return nil, e.err
	}
	return e.replaceAll(v, r)
}

// replPart is a piece of a parsed replacement: literal text, or group.
type replPart struct {
	lit   string
	group int // -1: lit
}

// template parses r against the pattern (remembering the last one).
func (e *reCacheEntry) template(r string) ([]replPart, error) {
	if e.tmplSet && e.repl == r {
		return e.tmpl, e.tmplErr
	}
	e.repl, e.tmplSet = strings.Clone(r), true
	e.tmpl, e.tmplErr = parseJavaReplacement(r, e.re)
	return e.tmpl, e.tmplErr
}

// parseJavaReplacement parses a replacement as Matcher.appendReplacement
// reads it: \x is x; $ and the longest run of digits that still names a
// group (at least one digit, which must name a group); ${name}.
func parseJavaReplacement(r string, re *regexp.Regexp) ([]replPart, error) {
	var out []replPart
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			out = append(out, replPart{lit: string(lit), group: -1})
			lit = lit[:0]
		}
	}
	bad := func(msg string) error {
		return fmt.Errorf("regexp_replace: bad replacement %q: %s (Hive fails the query: Matcher.appendReplacement throws; write a literal $ or \\ as \\$ or \\\\)", r, msg)
	}
	n := re.NumSubexp()
	for i := 0; i < len(r); {
		switch c := r[i]; c {
		case '\\':
			if i+1 >= len(r) {
				return nil, bad("character to be escaped is missing")
			}
			_, w := utf8.DecodeRuneInString(r[i+1:])
			lit = append(lit, r[i+1:i+1+w]...)
			i += 1 + w
		case '$':
			i++
			if i >= len(r) {
				return nil, bad("Illegal group reference: group index is missing")
			}
			var g int
			if r[i] == '{' {
				j := i + 1
				for j < len(r) && (r[j] >= 'a' && r[j] <= 'z' || r[j] >= 'A' && r[j] <= 'Z' || r[j] >= '0' && r[j] <= '9') {
					j++
				}
				name := r[i+1 : j]
				switch {
				case name == "":
					return nil, bad("named capturing group has 0 length name")
				case j >= len(r) || r[j] != '}':
					return nil, bad("named capturing group is missing trailing '}'")
				case name[0] >= '0' && name[0] <= '9':
					return nil, bad("capturing group name {" + name + "} starts with digit character")
				}
				if g = re.SubexpIndex(name); g < 0 {
					return nil, bad("No group with name {" + name + "}")
				}
				i = j + 1
			} else {
				if r[i] < '0' || r[i] > '9' {
					return nil, bad("Illegal group reference")
				}
				g = int(r[i] - '0')
				i++
				for i < len(r) && r[i] >= '0' && r[i] <= '9' {
					next := g*10 + int(r[i]-'0')
					if next > n {
						break
					}
					g = next
					i++
				}
				if g > n {
					return nil, bad(fmt.Sprintf("No group %d", g))
				}
			}
			flush()
			out = append(out, replPart{group: g})
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	return out, nil
}

// replaceAll replaces every match of e's pattern in v by r.
func (e *reCacheEntry) replaceAll(v, r string) (any, error) {
	ms := e.re.FindAllStringSubmatchIndex(v, -1)
	if len(ms) == 0 {
		return v, nil // Java reads the replacement only at a match
	}
	tmpl, err := e.template(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(v)+len(r)*len(ms))
	last := 0
	put := func(m []int, base int) {
		b = append(b, v[last:base+m[0]]...)
		for _, part := range tmpl {
			if part.group < 0 {
				b = append(b, part.lit...)
			} else if m[2*part.group] >= 0 {
				b = append(b, v[base+m[2*part.group]:base+m[2*part.group+1]]...)
			}
		}
		last = base + m[1]
	}
	for k, m := range ms {
		put(m, 0)
		// Go skips an empty match right after a non-empty one; Java takes it.
		if end := m[1]; e.canEmpty && m[0] < end && (k+1 == len(ms) || ms[k+1][0] != end) {
			if am, base := e.emptyAt(v, end); am != nil {
				put(am, base)
			}
		}
	}
	b = append(b, v[last:]...)
	return string(b), nil
}

// emptyAt gives the pattern's match at pos (> 0) when it is empty, with
// the offsets of its groups relative to base: the previous character is
// matched first so that \b and (?m)^ see it.
func (e *reCacheEntry) emptyAt(v string, pos int) ([]int, int) {
	if e.at == nil {
		at, err := regexp.Compile(`\A(?s:.)(?:` + e.re.String() + `)`)
		if err != nil {
			return nil, 0
		}
		e.at = at
	}
	_, w := utf8.DecodeLastRuneInString(v[:pos])
	base := pos - w
	m := e.at.FindStringSubmatchIndex(v[base:])
	if m == nil || m[1] != w {
		return nil, 0
	}
	m[0] = w
	return m, base
}

// strPred makes a null-safe string predicate (null gives false), for
// rules such as str_contains(mc_ev, "210315_QYCS"). expr's own contains,
// matches and startsWith operators do not accept nullable columns.
func strPred(name string, f func(s, sub string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		s, ok1 := str(args[0])
		sub, ok2 := str(args[1])
		if !ok1 || !ok2 {
			return nil, nil // as Hive's instr(s, sub) > 0: NULL
		}
		return f(s, sub), nil
	}
}

// isin(x, a, b, ...) is x IN (a, b, ...), compared as strings, with
// SQL's NULLs: NULL for a NULL x, and for a value not found among
// elements one of which is NULL.
func isin(args ...any) (any, error) {
	if err := arity("isin", args, 1, -1); err != nil {
		return nil, err
	}
	x, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	sawNull := false
	for _, a := range args[1:] {
		list, isList := a.([]any)
		if !isList {
			list = []any{a}
		}
		for _, b := range list {
			y, ok := str(b)
			if ok && x == y {
				return true, nil
			}
			sawNull = sawNull || !ok
		}
	}
	if sawNull {
		return nil, nil
	}
	return false, nil
}

// caseMap(x, k1, v1, k2, v2, ..., [else]) is CASE x WHEN k1 THEN v1 ... ELSE
// else END; a null x matches no WHEN (as in SQL).
func caseMap(args ...any) (any, error) {
	if err := arity("case_map", args, 1, -1); err != nil {
		return nil, err
	}
	x, ok := str(args[0])
	rest := args[1:]
	for ; len(rest) >= 2; rest = rest[2:] {
		if k, kok := str(rest[0]); ok && kok && k == x {
			return rest[1], nil
		}
	}
	if len(rest) == 1 {
		return rest[0], nil
	}
	return nil, nil
}

// caseWhen(c1, v1, c2, v2, ..., [else]) is CASE WHEN c1 THEN v1 ... END.
func caseWhen(args ...any) (any, error) {
	rest := args
	for ; len(rest) >= 2; rest = rest[2:] {
		if b, _ := rest[0].(bool); b {
			return rest[1], nil
		}
	}
	if len(rest) == 1 {
		return rest[0], nil
	}
	return nil, nil
}

// split is Hive's split(s, regex), keeping trailing empty strings. Index it
// with expr's get(split(x, ","), 0), which gives null past the end.
func (s *Set) split(args ...any) (any, error) {
	if err := arity("split", args, 2, 2); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	var parts []string
	if regexp.QuoteMeta(p) == p {
		parts = strings.Split(v, p)
	} else {
		re, err := s.regexp("split", p)
		if err != nil {
			return nil, err
		}
		parts = re.Split(v, -1)
	}
	out := make([]any, len(parts))
	for i, x := range parts {
		out[i] = x
	}
	return out, nil
}

// splitPart(s, sep, n) is the n-th (1-based) piece of s split on the literal
// sep, null past the end: the common split(s, sep)[n-1] without a list.
func (s *Set) splitPart(args ...any) (any, error) {
	if err := arity("split_part", args, 3, 3); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	sep, ok2 := str(args[1])
	n, ok3 := toInt(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, nil
	}
	if r, ok := splitPartString(v, sep, n); ok {
		return r, nil
	}
	return nil, nil
}

func splitPartString(v, sep string, n int) (string, bool) {
	if n < 1 || sep == "" {
		return "", false
	}
	for i := 1; ; i++ {
		j := strings.Index(v, sep)
		if i == n {
			if j < 0 {
				return v, true
			}
			return v[:j], true
		}
		if j < 0 {
			return "", false
		}
		v = v[j+len(sep):]
	}
}

func isNull(args ...any) (any, error) {
	if err := arity("is_null", args, 1, 1); err != nil {
		return nil, err
	}
	return args[0] == nil, nil
}

// isBlank is true for null, "" and spaces only.
func isBlank(args ...any) (any, error) {
	if err := arity("is_blank", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	return !ok || strings.TrimSpace(s) == "", nil
}

// strMapMemo remembers the last str_to_map result: a row usually reads
// several keys from the same text.
type strMapMemo struct {
	text, d1, d2 string
	m            map[string]any
}

// strToMap is Hive's str_to_map(text[, pairDelim=",", kvDelim=":"]); read
// it with m["key"], m.key or map_get(m, "key"). A pair without kvDelim maps
// to null; a later duplicate key wins.
func (s *Set) strToMap(args ...any) (any, error) {
	if err := arity("str_to_map", args, 1, 3); err != nil {
		return nil, err
	}
	text, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	d1, d2 := ",", ":"
	if len(args) == 3 {
		var ok1, ok2 bool
		d1, ok1 = str(args[1])
		d2, ok2 = str(args[2])
		if !ok1 || !ok2 || d1 == "" || d2 == "" {
			return nil, nil
		}
	} else if len(args) == 2 {
		return nil, fmt.Errorf("str_to_map: give both delimiters or neither")
	}
	memo := &s.rows[s.row].smap
	if memo.m != nil && memo.text == text && memo.d1 == d1 && memo.d2 == d2 {
		return memo.m, nil
	}
	m := map[string]any{}
	if text != "" {
		for _, pair := range strings.Split(text, d1) {
			k, v, found := strings.Cut(pair, d2)
			if found {
				m[k] = v
			} else {
				m[k] = nil
			}
		}
	}
	*memo = strMapMemo{text, d1, d2, m}
	return m, nil
}

func mapGet(args ...any) (any, error) {
	if err := arity("map_get", args, 2, 2); err != nil {
		return nil, err
	}
	k, ok := str(args[1])
	if !ok {
		return nil, nil
	}
	switch m := args[0].(type) {
	case map[string]any:
		return m[k], nil
	case map[string]string:
		if v, ok := m[k]; ok {
			return v, nil
		}
	}
	return nil, nil
}
