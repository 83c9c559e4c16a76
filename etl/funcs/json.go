package funcs

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonMemo keeps the top-level members of the last JSON document parsed:
// a DWD row reads a dozen WT_* attributes from the same document, which is
// then scanned once, not a dozen times.
type jsonMemo struct {
	doc     string
	parsed  bool
	valid   bool
	isObj   bool
	members []jsonMember
}

type jsonMember struct {
	key        string
	start, end int  // raw value span in doc
	plain      bool // a string without escapes: its value is the span's inside
}

// getJSONObject is Hive's get_json_object(json, path) for paths made of
// $, .name, ['name'] and [index]. Strings come back unquoted and unescaped,
// numbers and booleans as written, objects and arrays as their JSON text;
// malformed JSON, a JSON null or a missing path give null.
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
		steps, ok = parseJSONPath(path)
		if !ok {
			return "", false
		}
		if s.paths == nil || len(s.paths) > 1024 {
			s.paths = map[string][]jsonPathStep{}
		}
		path = strings.Clone(path) // a path from data must not alias a recycled batch
		s.paths[path] = steps
	}
	s.lastPath, s.lastSteps, s.lastPathOK = path, steps, true
	m := s.indexJSON(doc)
	if !m.valid {
		return "", false
	}
	var raw string
	if len(steps) > 0 && !steps[0].isIndex && m.isObj {
		found := false
		for i := len(m.members) - 1; i >= 0; i-- { // last duplicate wins, like Jackson
			if mb := &m.members[i]; mb.key == steps[0].key {
				if mb.plain && len(steps) == 1 { // no need to scan it again
					return doc[mb.start+1 : mb.end-1], true
				}
				raw, found = doc[mb.start:mb.end], true
				break
			}
		}
		if !found {
			return "", false
		}
		steps = steps[1:]
	} else {
		raw = strings.TrimSpace(doc)
	}
	for _, st := range steps {
		var ok bool
		if raw, ok = jsonStep(raw, st); !ok {
			return "", false
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
	m.doc, m.valid, m.isObj, m.members = doc, false, false, m.members[:0]
	p := jsonParser{s: doc}
	p.ws()
	if p.i < len(doc) && doc[p.i] == '{' {
		m.isObj = true
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
	} else if !p.value(0) {
		return m
	}
	p.ws()
	m.valid = p.i == len(doc)
	return m
}

type jsonPathStep struct {
	key     string
	index   int
	isIndex bool
}

func parseJSONPath(path string) ([]jsonPathStep, bool) {
	if !strings.HasPrefix(path, "$") {
		return nil, false
	}
	var out []jsonPathStep
	for i := 1; i < len(path); {
		switch path[i] {
		case '.':
			j := i + 1
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, false
			}
			out = append(out, jsonPathStep{key: path[i+1 : j]})
			i = j
		case '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, false
			}
			in := path[i+1 : i+end]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				out = append(out, jsonPathStep{key: in[1 : len(in)-1]})
			} else {
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, false
				}
				out = append(out, jsonPathStep{index: n, isIndex: true})
			}
			i += end + 1
		default:
			return nil, false
		}
	}
	return out, true
}

// jsonStep descends one step into an already validated raw value.
func jsonStep(raw string, st jsonPathStep) (string, bool) {
	p := jsonParser{s: raw}
	p.ws()
	if st.isIndex {
		if p.peek() != '[' {
			return "", false
		}
		p.i++
		for n := 0; ; n++ {
			p.ws()
			if p.peek() == ']' {
				return "", false
			}
			start := p.i
			if !p.value(0) {
				return "", false
			}
			if n == st.index {
				return raw[start:p.i], true
			}
			p.ws()
			if p.peek() != ',' {
				return "", false
			}
			p.i++
		}
	}
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
		if k == st.key {
			val, found = raw[start:p.i], true
		}
		p.ws()
		if p.peek() == ',' {
			p.i++
		}
	}
}

// jsonResult turns a raw value into get_json_object's result.
func jsonResult(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return "", false
	}
	if raw[0] == '"' {
		p := jsonParser{s: raw}
		return p.str()
	}
	return raw, true
}

// jsonParser is a small strict JSON scanner: it validates and finds value
// boundaries without building a tree.
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

const maxJSONDepth = 64

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

func (p *jsonParser) lit(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *jsonParser) number() bool {
	st := p.i
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
	if digits() == 0 {
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
	return p.i > st
}

// strRaw skips a string, reporting whether it has escapes.
func (p *jsonParser) strRaw() (escaped bool, ok bool) {
	if p.peek() != '"' {
		return false, false
	}
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return escaped, true
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return false, false
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
		case '"', '\\', '/':
			b.WriteByte(body[i])
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
			return "", false
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
