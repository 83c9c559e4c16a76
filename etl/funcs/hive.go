package funcs

import (
	"fmt"
	"regexp"
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

// concatWS is Hive's concat_ws: nulls are skipped, a null separator gives null.
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
		s, ok := str(a)
		if !ok {
			continue
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(s)
	}
	return b.String(), nil
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
}

// regexp compiles pattern once per worker.
func (s *Set) regexp(name, pattern string) (*regexp.Regexp, error) {
	if e, ok := s.re[pattern]; ok {
		return e.re, e.err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		err = fmt.Errorf("%s: bad pattern %q: %v", name, pattern, err)
	}
	if len(s.re) > 4096 { // patterns built from data: keep it bounded
		clear(s.re)
	}
	s.re[strings.Clone(pattern)] = &reCacheEntry{re, err}
	return re, err
}

// CheckPattern reports whether a constant pattern compiles (used by the
// config check to point at the bad literal).
func CheckPattern(pattern string) error {
	_, err := regexp.Compile(pattern)
	return err
}

// regexpLike is Hive's RLIKE: true when the pattern matches anywhere.
func (s *Set) regexpLike(args ...any) (any, error) {
	if err := arity("regexp_like", args, 2, 2); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return false, nil
	}
	re, err := s.regexp("regexp_like", p)
	if err != nil {
		return nil, err
	}
	return re.MatchString(v), nil
}

// regexpExtract is Hive's: group idx (default 1) of the first match, ""
// when nothing matches, an error when idx exceeds the groups.
func (s *Set) regexpExtract(args ...any) (any, error) {
	if err := arity("regexp_extract", args, 2, 3); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	idx := 1
	if len(args) == 3 {
		var ok bool
		if idx, ok = toInt(args[2]); !ok {
			return nil, nil
		}
	}
	re, err := s.regexp("regexp_extract", p)
	if err != nil {
		return nil, err
	}
	if idx < 0 || idx > re.NumSubexp() {
		return nil, fmt.Errorf("regexp_extract: group %d out of range (pattern %q has %d)", idx, p, re.NumSubexp())
	}
	m := re.FindStringSubmatchIndex(v)
	if m == nil || m[2*idx] < 0 {
		return "", nil
	}
	return v[m[2*idx]:m[2*idx+1]], nil
}

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
	re, err := s.regexp("regexp_replace", p)
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(v, r), nil
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
		return ok1 && ok2 && f(s, sub), nil
	}
}

// isin(x, a, b, ...) is x IN (a, b, ...); a null x is false (see package doc).
// expr's own `x in ["a", "b"]` does the same for constant lists.
func isin(args ...any) (any, error) {
	if err := arity("isin", args, 1, -1); err != nil {
		return nil, err
	}
	x, ok := str(args[0])
	if !ok {
		return false, nil
	}
	for _, a := range args[1:] {
		if list, isList := a.([]any); isList {
			for _, b := range list {
				if y, ok := str(b); ok && x == y {
					return true, nil
				}
			}
			continue
		}
		if y, ok := str(a); ok && x == y {
			return true, nil
		}
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
