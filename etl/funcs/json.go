package funcs

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// get_json_object follows Hive's UDFJson (Hive 2.x-4.x), which reads the
// document with Jackson and walks a limited JSONPath:
//
//   - the path starts with $; "$" alone is the whole document (an object
//     or an array), "$[...]" or "$.[...]" index a root array, anything
//     else reads the root as an object (a root of the other kind is NULL);
//   - the path is split on '.'; each part is a key, the leading run of
//     [A-Za-z0-9_\-:\s] (a part without one is NULL), followed by any
//     number of [n] or [*] subscripts;
//   - a key applied to an array reads it from each element object and
//     gives the array of the values found (array values flattened), [*]
//     gives the elements, and a subscript list that selects exactly one
//     value gives it unwrapped;
//   - Jackson is lenient: raw control characters inside strings, a
//     backslash before any character, and text after the document are
//     accepted; leading zeros, single quotes and unquoted keys are not;
//   - strings come back unescaped, integers as written, other numbers as
//     Java's Double.toString writes them (1.50 is 1.5, 1e2 is 100.0),
//     objects and arrays re-serialised compactly as Jackson writes them;
//     a JSON null, a missing key or a malformed document give NULL.
//
// One difference remains: bytes that are not UTF-8 are kept as they are,
// where Hive reads them as U+FFFD.

// jsonMemo keeps the top-level members of the last JSON document parsed:
// a DWD row reads a dozen WT_* attributes from the same document, which is
// then scanned once, not a dozen times.
type jsonMemo struct {
	doc     string
	parsed  bool
	valid   bool
	isObj   bool
	isArr   bool
	root    string // the root value's text (without what follows it)
	members []jsonMember
}

type jsonMember struct {
	key        string
	start, end int  // raw value span in doc
	plain      bool // a string without escapes: its value is the span's inside
}

// getJSONObject is Hive's get_json_object(json, path).
func (s *Set) getJSONObject(args ...any) (any, error) {
	if err := arity("get_json_object", args, 2, 2); err != nil {
		return nil, err
	}
	doc, ok1 := str(args[0])
	path, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	if v, ok := s.jsonGet(doc, path); ok {
		return v, nil
	}
	return nil, nil
}

// jsonGet is get_json_object on strings (ok false for null). Parsed paths are
// cached per worker: a spec uses a handful.
func (s *Set) jsonGet(doc, path string) (string, bool) {
	var steps []jsonPathStep
	ok := false
	if s.lastPathOK && s.lastPath == path {
		// The same call site over a window of rows: no map lookup.
		steps, ok = s.lastSteps, true
	} else {
		steps, ok = s.paths[path]
	}
	if !ok {
		steps = parseJSONPath(path)
		if s.paths == nil || len(s.paths) > 1024 {
			s.paths = map[string][]jsonPathStep{}
		}
		path = strings.Clone(path) // a path from data must not alias a recycled batch
		s.paths[path] = steps
	}
	s.lastPath, s.lastSteps, s.lastPathOK = path, steps, true
	head := steps[0]
	if head.root == rootBad || doc == "" {
		return "", false
	}
	steps = steps[1:]
	m := s.indexJSON(doc)
	if !m.valid {
		return "", false
	}
	var raw string
	keyDone := false // the first step's key was read from the memo
	switch head.root {
	case rootAny:
		if !m.isObj && !m.isArr {
			return "", false
		}
		raw = m.root
	case rootArr:
		if !m.isArr {
			return "", false
		}
		raw = m.root
	default:
		if !m.isObj {
			return "", false // a root that is no object (or a JSON null)
		}
		st := &steps[0]
		found := false
		for i := len(m.members) - 1; i >= 0; i-- { // last duplicate wins, like Jackson
			if mb := &m.members[i]; mb.key == st.key {
				if mb.plain && len(steps) == 1 && len(st.idx) == 0 { // no need to scan it again
					return doc[mb.start+1 : mb.end-1], true
				}
				raw, found = doc[mb.start:mb.end], true
				break
			}
		}
		if !found {
			return "", false
		}
		keyDone = true
	}
	// Walk the raw text while each step selects one value; Hive's list
	// semantics (a key over an array, [*]) need the parsed tree.
	for i, st := range steps {
		if st.hasKey && !(i == 0 && keyDone) {
			p := jsonParser{s: raw}
			p.ws()
			if p.peek() == '[' {
				return jsonTreeWalk(raw, steps[i:])
			}
			var ok bool
			if raw, ok = jsonMemberRaw(raw, st.key); !ok {
				return "", false
			}
		}
		for k, ix := range st.idx {
			if ix < 0 {
				rest := append([]jsonPathStep{{idx: st.idx[k:]}}, steps[i+1:]...)
				return jsonTreeWalk(raw, rest)
			}
			var ok bool
			if raw, ok = jsonElemRaw(raw, ix); !ok {
				return "", false
			}
		}
	}
	return jsonResult(raw)
}

// indexJSON validates doc and lists its top-level members, reusing the
// previous result for the same document.
func (s *Set) indexJSON(doc string) *jsonMemo {
	m := &s.rows[s.row].json
	if m.parsed && m.doc == doc {
		return m
	}
	m.parsed = true
	m.doc, m.valid, m.isObj, m.isArr, m.root, m.members = doc, false, false, false, "", m.members[:0]
	p := jsonParser{s: doc}
	p.ws()
	st := p.i
	if p.i < len(doc) && doc[p.i] == '{' {
		p.i++
		p.ws()
		if p.peek() == '}' {
			p.i++
		} else {
			for {
				p.ws()
				k, ok := p.str()
				if !ok {
					return m
				}
				p.ws()
				if p.peek() != ':' {
					return m
				}
				p.i++
				p.ws()
				st, plain := p.i, false
				if p.peek() == '"' { // the common case, and its escapes are known
					esc, ok := p.strRaw()
					if !ok {
						return m
					}
					plain = !esc
				} else if !p.value(0) {
					return m
				}
				m.members = append(m.members, jsonMember{k, st, p.i, plain})
				p.ws()
				if p.peek() == ',' {
					p.i++
					continue
				}
				if p.peek() == '}' {
					p.i++
					break
				}
				return m
			}
		}
		m.isObj = true
	} else if !p.value(0) {
		return m
	} else {
		m.isArr = doc[st] == '['
	}
	// Jackson's readValue stops after the root value: what follows is
	// not read (FAIL_ON_TRAILING_TOKENS is off).
	m.root = doc[st:p.i]
	m.valid = true
	return m
}

// jsonPathStep is one '.'-separated part of a path; the first step of a
// parsed path is a header that only says what the root must be.
type jsonPathStep struct {
	key    string
	hasKey bool  // false for a root array's first part
	idx    []int // subscripts, -1 for [*]
	root   uint8 // header only
}

// What the root must be (Hive reads it as a Map, a List or either).
const (
	rootObj uint8 = iota
	rootArr
	rootAny
	rootBad // the path gives NULL whatever the document
)

// parseJSONPath parses a path the way UDFJson does; it never fails, a
// path Hive answers NULL for has a rootBad header.
func parseJSONPath(path string) []jsonPathStep {
	bad := []jsonPathStep{{root: rootBad}}
	if path == "" || path[0] != '$' {
		return bad
	}
	head := jsonPathStep{root: rootObj}
	start := 1
	if path == "$" {
		head.root = rootAny
	} else {
		switch path[1] {
		case '[':
			start, head.root = 0, rootArr
		case '.':
			if len(path) > 2 && path[2] == '[' {
				head.root = rootArr
			}
		default:
			return bad
		}
	}
	out := []jsonPathStep{head}
	parts := strings.Split(path, ".")
	for i := start; i < len(parts); i++ {
		part := parts[i]
		st := jsonPathStep{}
		if !(i == start && head.root == rootArr) {
			n := jsonKeyLen(part)
			if n == 0 || hasLineTerminator(part[n:]) {
				return bad
			}
			st.key, st.hasKey = part[:n], true
		}
		// Every [digits] or [*] of the part, in order.
		for rest := part; ; {
			j := strings.IndexByte(rest, '[')
			if j < 0 {
				break
			}
			rest = rest[j+1:]
			k := 0
			for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
				k++
			}
			switch {
			case k > 0 && k < len(rest) && rest[k] == ']':
				n, err := strconv.ParseInt(rest[:k], 10, 32)
				if err != nil {
					return bad // Java's Integer.parseInt fails
				}
				st.idx = append(st.idx, int(n))
				rest = rest[k+1:]
			case k == 0 && strings.HasPrefix(rest, "*]"):
				st.idx = append(st.idx, -1)
				rest = rest[2:]
			}
		}
		out = append(out, st)
	}
	return out
}

// jsonKeyLen is the length of the key UDFJson's ^([a-zA-Z0-9_\-\:\s]+).*
// takes from a path part.
func jsonKeyLen(part string) int {
	for i := 0; i < len(part); i++ {
		c := part[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == ':', c == ' ', c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
		default:
			return i
		}
	}
	return len(part)
}

// hasLineTerminator reports whether s holds a character Java's '.' does
// not match.
func hasLineTerminator(s string) bool {
	return strings.ContainsAny(s, "\n\r\u0085\u2028\u2029")
}

// jsonMemberRaw is the raw value of key in a raw object (the last of
// duplicates); ok is false when raw is no object or has no such key, or
// the value is a JSON null.
func jsonMemberRaw(raw, key string) (string, bool) {
	p := jsonParser{s: raw}
	p.ws()
	if p.peek() != '{' {
		return "", false
	}
	p.i++
	var val string
	found := false
	for {
		p.ws()
		if p.peek() == '}' {
			return val, found
		}
		k, ok := p.str()
		if !ok {
			return "", false
		}
		p.ws()
		if p.peek() != ':' {
			return "", false
		}
		p.i++
		p.ws()
		start := p.i
		if !p.value(0) {
			return "", false
		}
		if k == key {
			val, found = raw[start:p.i], true
		}
		p.ws()
		if p.peek() == ',' {
			p.i++
		}
	}
}

// jsonElemRaw is element n of a raw array; ok is false when raw is no
// array or too short.
func jsonElemRaw(raw string, n int) (string, bool) {
	p := jsonParser{s: raw}
	p.ws()
	if p.peek() != '[' {
		return "", false
	}
	p.i++
	for i := 0; ; i++ {
		p.ws()
		if p.peek() == ']' {
			return "", false
		}
		start := p.i
		if !p.value(0) {
			return "", false
		}
		if i == n {
			return raw[start:p.i], true
		}
		p.ws()
		if p.peek() != ',' {
			return "", false
		}
		p.i++
	}
}

// jsonResult turns a raw value into get_json_object's result.
func jsonResult(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		p := jsonParser{s: raw}
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return javaNumber(raw), true
	case c == '{' || c == '[':
		p := jsonParser{s: raw}
		n, ok := p.tree(0)
		if !ok {
			return "", false
		}
		return string(appendJackson(nil, n)), true
	}
	return raw, true
}

// jnode is a parsed JSON value, as Jackson maps it: a JSON null is a nil
// *jnode.
type jnode struct {
	kind byte   // '"' string, '0' number, 't', 'f', '{', '['
	s    string // a string's value, a number's text
	keys []string
	vals []*jnode
}

// jsonTreeWalk runs the rest of a path on a parsed raw value, with Hive's
// list semantics.
func jsonTreeWalk(raw string, steps []jsonPathStep) (string, bool) {
	p := jsonParser{s: raw}
	p.ws()
	v, ok := p.tree(0)
	if !ok {
		return "", false
	}
	for _, st := range steps {
		if v == nil {
			return "", false
		}
		if st.hasKey {
			v = jsonWithKey(v, st.key)
		}
		if len(st.idx) > 0 {
			v = jsonWithIndex(v, st.idx)
		}
	}
	switch {
	case v == nil:
		return "", false
	case v.kind == '"':
		return v.s, true
	case v.kind == '0':
		return javaNumber(v.s), true
	case v.kind == 't':
		return "true", true
	case v.kind == 'f':
		return "false", true
	}
	return string(appendJackson(nil, v)), true
}

// jsonWithKey is UDFJson's extract_json_withkey.
func jsonWithKey(v *jnode, key string) *jnode {
	switch v.kind {
	case '{':
		return v.get(key)
	case '[':
		out := &jnode{kind: '['}
		for _, e := range v.vals {
			if e == nil || e.kind != '{' {
				continue
			}
			x := e.get(key)
			switch {
			case x == nil:
			case x.kind == '[':
				out.vals = append(out.vals, x.vals...)
			default:
				out.vals = append(out.vals, x)
			}
		}
		if len(out.vals) == 0 {
			return nil
		}
		return out
	}
	return nil
}

// jsonWithIndex is UDFJson's extract_json_withindex.
func jsonWithIndex(v *jnode, idx []int) *jnode {
	list := []*jnode{v}
	for _, ix := range idx {
		var next []*jnode
		for _, a := range list {
			if a == nil || a.kind != '[' {
				continue
			}
			if ix < 0 {
				next = append(next, a.vals...)
			} else if ix < len(a.vals) {
				next = append(next, a.vals[ix])
			}
		}
		if len(next) == 0 {
			return nil
		}
		list = next
	}
	if len(list) > 1 {
		return &jnode{kind: '[', vals: list}
	}
	return list[0]
}

// get is an object's value for key (nil when absent or null).
func (n *jnode) get(key string) *jnode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// appendJackson writes n as Jackson's ObjectMapper.writeValueAsString does.
func appendJackson(b []byte, n *jnode) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	switch n.kind {
	case '"':
		return appendJacksonString(b, n.s)
	case '0':
		s := javaNumber(n.s)
		if s == "Infinity" || s == "-Infinity" {
			return append(append(append(b, '"'), s...), '"') // WRITE_NAN_AS_STRINGS
		}
		return append(b, s...)
	case 't':
		return append(b, "true"...)
	case 'f':
		return append(b, "false"...)
	case '{':
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJacksonString(b, k)
			b = append(b, ':')
			b = appendJackson(b, n.vals[i])
		}
		return append(b, '}')
	}
	b = append(b, '[')
	for i, v := range n.vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJackson(b, v)
	}
	return append(b, ']')
}

// appendJacksonString quotes s as Jackson does: \" \\ and the short
// escapes, \u00XX (upper-case hex) for other control characters, the rest
// as is ('/' and non-ASCII included).
func appendJacksonString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// javaNumber is how Hive prints a JSON number Jackson read: an integer
// (Integer, Long or BigInteger) as written, -0 as 0; any other number is
// a Double, printed by Double.toString.
func javaNumber(raw string) string {
	if !strings.ContainsAny(raw, ".eE") {
		if raw == "-0" {
			return "0"
		}
		return raw
	}
	if javaDoubleCanonical(raw) {
		return raw
	}
	f, _ := strconv.ParseFloat(raw, 64) // ±Inf when out of range, like Java
	return javaDouble(f)
}

// javaDoubleCanonical reports whether a decimal d.ddd is already what
// Double.toString prints for it (the common 1.5): no exponent, at most 15
// significant digits (so it is the shortest form), no trailing zero after
// the first fraction digit, and 10^-3 <= |x| < 10^7.
func javaDoubleCanonical(raw string) bool {
	s := strings.TrimPrefix(raw, "-")
	dot := strings.IndexByte(s, '.')
	if dot < 0 || strings.ContainsAny(s, "eE") || dot > 7 {
		return false
	}
	frac := s[dot+1:]
	if len(frac) > 1 && frac[len(frac)-1] == '0' {
		return false
	}
	digits := s[:dot] + frac
	if s[:dot] == "0" {
		if strings.Trim(frac, "0") == "" {
			return false // 0.0 and -0.0: leave them to javaDouble
		}
		digits = strings.TrimLeft(frac, "0")
		if len(frac)-len(digits) > 2 {
			return false // below 10^-3
		}
	}
	return len(digits) <= 15
}

// javaDouble is Java's Double.toString: 10^-3 <= |x| < 10^7 in plain
// decimal with at least one fraction digit, else d.dddE±n, both with the
// shortest digits that read back as x.
func javaDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if strings.IndexByte(s, '.') < 0 {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if strings.IndexByte(mant, '.') < 0 {
		mant += ".0"
	}
	neg := exp[0] == '-'
	exp = strings.TrimLeft(exp[1:], "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// jsonParser is a small JSON scanner with Jackson's leniencies as Hive
// enables them: it validates and finds value boundaries without building
// a tree (tree builds one where a path needs it).
type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// maxJSONDepth is Jackson's default nesting limit (StreamReadConstraints).
const maxJSONDepth = 1000

func (p *jsonParser) value(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '"':
		_, ok := p.strRaw()
		return ok
	case c == '{':
		p.i++
		p.ws()
		if p.peek() == '}' {
			p.i++
			return true
		}
		for {
			p.ws()
			if _, ok := p.strRaw(); !ok {
				return false
			}
			p.ws()
			if p.peek() != ':' {
				return false
			}
			p.i++
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.i++
			case '}':
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		p.i++
		p.ws()
		if p.peek() == ']' {
			p.i++
			return true
		}
		for {
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return false
}

// tree parses a (validated) value into a jnode; a JSON null is nil.
// Duplicate keys keep their first place and their last value (Jackson's
// LinkedHashMap).
func (p *jsonParser) tree(depth int) (*jnode, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.ws()
	switch c := p.peek(); {
	case c == '"':
		s, ok := p.str()
		return &jnode{kind: '"', s: s}, ok
	case c == '{':
		n := &jnode{kind: '{'}
		p.i++
		p.ws()
		if p.peek() == '}' {
			p.i++
			return n, true
		}
		for {
			p.ws()
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			p.ws()
			if p.peek() != ':' {
				return nil, false
			}
			p.i++
			v, ok := p.tree(depth + 1)
			if !ok {
				return nil, false
			}
			dup := false
			for i, old := range n.keys {
				if old == k {
					n.vals[i], dup = v, true
					break
				}
			}
			if !dup {
				n.keys, n.vals = append(n.keys, k), append(n.vals, v)
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.i++
			case '}':
				p.i++
				return n, true
			default:
				return nil, false
			}
		}
	case c == '[':
		n := &jnode{kind: '['}
		p.i++
		p.ws()
		if p.peek() == ']' {
			p.i++
			return n, true
		}
		for {
			v, ok := p.tree(depth + 1)
			if !ok {
				return nil, false
			}
			n.vals = append(n.vals, v)
			p.ws()
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return n, true
			default:
				return nil, false
			}
		}
	case c == 't':
		return &jnode{kind: 't'}, p.lit("true")
	case c == 'f':
		return &jnode{kind: 'f'}, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		st := p.i
		ok := p.number()
		return &jnode{kind: '0', s: p.s[st:p.i]}, ok
	}
	return nil, false
}

func (p *jsonParser) lit(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// number reads a JSON number: no leading zeros, no '+', digits on both
// sides of '.' (Jackson's defaults).
func (p *jsonParser) number() bool {
	if p.peek() == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	st := p.i
	if n := digits(); n == 0 || (n > 1 && p.s[st] == '0') {
		return false
	}
	if p.peek() == '.' {
		p.i++
		if digits() == 0 {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// strRaw skips a string, reporting whether it has escapes. Raw control
// characters are allowed (ALLOW_UNQUOTED_CONTROL_CHARS), so is a
// backslash before any character (ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER);
// \u needs four hex digits.
func (p *jsonParser) strRaw() (escaped bool, ok bool) {
	if p.peek() != '"' {
		return false, false
	}
	p.i++
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			p.i++
			return escaped, true
		case '\\':
			escaped = true
			if p.i+1 < len(p.s) && p.s[p.i+1] == 'u' {
				if _, _, ok := hex4(p.s[min(p.i+2, len(p.s)):]); !ok {
					return false, false
				}
			}
			p.i += 2
		default:
			p.i++
		}
	}
	return false, false
}

// str reads a string and unescapes it. Bytes that are not UTF-8 are kept
// as they are (Hive reads them as replacement characters; we do not invent
// data).
func (p *jsonParser) str() (string, bool) {
	st := p.i
	esc, ok := p.strRaw()
	if !ok {
		return "", false
	}
	body := p.s[st+1 : p.i-1]
	if !esc {
		return body, true
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", false
		}
		switch body[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, ok := hex4(body[i+1:])
			if !ok {
				return "", false
			}
			i += n
			if utf16.IsSurrogate(r) {
				if strings.HasPrefix(body[i+1:], "\\u") {
					if r2, n2, ok := hex4(body[i+3:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 2 + n2
						}
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(body[i]) // any other character stands for itself
		}
	}
	return b.String(), true
}

func hex4(s string) (rune, int, bool) {
	if len(s) < 4 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(n), 4, true
}
