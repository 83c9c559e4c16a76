package funcs

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Val is an unboxed expression value for the transform's fast evaluator:
// strings travel without being boxed into interfaces (which allocates),
// everything else in A. The zero Val is null.
type Val struct {
	S string
	A any
	K uint8
}

// Val kinds.
const (
	KNull uint8 = iota
	KStr
	KAny
)

// Str makes a string value.
func Str(s string) Val { return Val{S: s, K: KStr} }

// Any makes a value from an interface (nil is null).
func Any(a any) Val {
	switch x := a.(type) {
	case nil:
		return Val{}
	case string:
		return Val{S: x, K: KStr}
	}
	return Val{A: a, K: KAny}
}

// Box returns the value as an interface (nil for null).
func (v Val) Box() any {
	switch v.K {
	case KStr:
		return v.S
	case KAny:
		return v.A
	}
	return nil
}

// Str reads a value as a string the way str does; ok is false for null.
func (v Val) Str() (string, bool) {
	switch v.K {
	case KStr:
		return v.S, true
	case KAny:
		return str(v.A)
	}
	return "", false
}

// True reports whether the value is the boolean true.
func (v Val) True() bool {
	b, _ := v.A.(bool)
	return v.K == KAny && b
}

var (
	vTrue  = Val{A: true, K: KAny}
	vFalse = Val{A: false, K: KAny}
)

// Bool makes a boolean value.
func Bool(b bool) Val {
	if b {
		return vTrue
	}
	return vFalse
}

// FastFunc is a function over unboxed values writing its result to dst
// (returning a 40-byte value through each call layer showed in profiles);
// args must not be kept.
type FastFunc func(args []Val, dst *Val) error

// Fast returns the unboxed implementation of a function, or nil when it
// only has the generic one (call Func then). Both give the same results;
// the differential test in etl/transform checks it.
func (s *Set) Fast(name string) FastFunc {
	if s.fast == nil {
		s.fast = s.fastTable()
	}
	switch Needs(name) {
	case "ip":
		if s.sh.IP == nil {
			return nil
		}
	case "mobile":
		if s.sh.Mobile == nil {
			return nil
		}
	}
	return s.fast[name]
}

// Func returns the generic implementation of a function (with the
// missing-resource stubs Options uses), or nil for an unknown name.
func (s *Set) Func(name string) func(args ...any) (any, error) {
	for _, f := range s.table() {
		if f.name == name {
			switch {
			case f.needs == "ip" && s.sh.IP == nil, f.needs == "mobile" && s.sh.Mobile == nil:
				return nil
			}
			return f.body
		}
	}
	return nil
}

type arityError struct{}

func (arityError) Error() string { return "wrong number of arguments" }

var errArity = arityError{}

// fastTable lists the functions that have an unboxed implementation, one
// entry each; TestFastMatchesGeneric checks each against the generic one.
// Those that use the set's caches or arena are closures over s rather than
// method values, which would add a call a row.
func (s *Set) fastTable() map[string]FastFunc {
	return map[string]FastFunc{
		"get_json_object":    s.getJSONObjectV(),
		"url_decode":         s.urlDecodeV(),
		"url_param":          urlParamV,
		"substr":             substrV,
		"empty_null":         emptyNullV,
		"nvl":                nvlV,
		"coalesce":           coalesceV,
		"is_null":            isNullV,
		"concat":             s.concatV(),
		"concat_ws":          s.concatWSV(),
		"lower":              mapStrV(s.lower),
		"upper":              mapStrV(s.upper),
		"trim":               mapStrV(func(v string) string { return strings.Trim(v, " ") }),
		"length":             lengthV,
		"strip_chars":        stripCharsV(),
		"str_contains":       strContainsV,
		"split_part":         s.splitPartV(),
		"case_map":           caseMapV,
		"regexp_like":        s.regexpLikeV(),
		"decrypt_mobile":     s.decryptMobileV(),
		"ua_os":              s.uaFieldV(func(u *UA) string { return u.OS }),
		"ua_os_version":      s.uaFieldV(func(u *UA) string { return u.OSVersion }),
		"ua_browser":         s.uaFieldV(func(u *UA) string { return u.Browser }),
		"ua_browser_version": s.uaFieldV(func(u *UA) string { return u.BrowserVersion }),
		"ua_device_brand":    s.uaFieldV(func(u *UA) string { return u.DeviceBrand }),
		"ua_device_model":    s.uaFieldV(func(u *UA) string { return u.DeviceModel }),
		"ip_prov":            s.ipFieldV(2),
		"ip_city":            s.ipFieldV(3),
		"dim_value":          s.dimValueV(),
		"dim_match":          s.dimMatchV(),
	}
}

// The unboxed implementations follow, in the order of fastTable, named
// like the generic ones with a V. Constructors that return closures are
// marked noinline: the compiler does not inline into a closure copied into
// an inlined body (go.dev/issue/81380), which made Str, scratch and
// arenaString a call a row each.

//go:noinline
func (s *Set) getJSONObjectV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 2 {
			return errArity
		}
		doc, ok1 := args[0].Str()
		path, ok2 := args[1].Str()
		if !ok1 || !ok2 {
			*dst = Val{}
			return nil
		}
		*dst = strOrNull(s.jsonGet(doc, path))
		return nil
	}
}

// urlDecodeV decodes into the batch arena: no allocation a row.
//
//go:noinline
func (s *Set) urlDecodeV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 1 {
			return errArity
		}
		v, ok := args[0].Str()
		if !ok {
			*dst = Val{}
			return nil
		}
		if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
			*dst = args[0]
			return nil
		}
		b, ok := appendURLDecode(s.scratch(len(v))[:0], v)
		switch {
		case !ok:
			*dst = Val{}
		case !utf8.Valid(b):
			*dst = Str(strings.ToValidUTF8(string(b), "\uFFFD"))
		default:
			*dst = Str(arenaString(b))
		}
		return nil
	}
}

func urlParamV(args []Val, dst *Val) error {
	if len(args) != 2 {
		return errArity
	}
	raw, ok1 := args[0].Str()
	key, ok2 := args[1].Str()
	if !ok1 || !ok2 || key == "" {
		*dst = Val{}
		return nil
	}
	*dst = strOrNull(urlParamString(raw, key))
	return nil
}

// substrV slices ASCII strings with int bounds in place and leaves the
// rest to substr.
func substrV(args []Val, dst *Val) error {
	if len(args) == 3 && args[0].K == KNull {
		*dst = Val{} // substr of null is null whatever the bounds
		return nil
	}
	if len(args) == 3 && args[0].K == KStr {
		if pos, ok := args[1].A.(int); ok {
			if n, ok := args[2].A.(int); ok && pos >= 1 && n > 0 && isASCII(args[0].S) {
				s := args[0].S
				if pos > len(s) {
					*dst = Str("")
					return nil
				}
				end := min(len(s), pos-1+n)
				*dst = Str(s[pos-1 : end])
				return nil
			}
		}
	}
	r, err := substr(boxAll(args)...)
	*dst = Any(r)
	return err
}

func emptyNullV(args []Val, dst *Val) error {
	if len(args) != 1 {
		return errArity
	}
	if v, ok := args[0].Str(); !ok || v == "" {
		*dst = Val{}
		return nil
	}
	*dst = args[0]
	return nil
}

func nvlV(args []Val, dst *Val) error {
	if len(args) != 2 {
		return errArity
	}
	if args[0].K != KNull {
		*dst = args[0]
		return nil
	}
	*dst = args[1]
	return nil
}

func coalesceV(args []Val, dst *Val) error {
	for _, a := range args {
		if a.K != KNull {
			*dst = a
			return nil
		}
	}
	*dst = Val{}
	return nil
}

func isNullV(args []Val, dst *Val) error {
	if len(args) != 1 {
		return errArity
	}
	*dst = Bool(args[0].K == KNull)
	return nil
}

// concatV builds its result in the batch arena.
//
//go:noinline
func (s *Set) concatV() FastFunc {
	return func(args []Val, dst *Val) error {
		n := 0
		for _, a := range args {
			v, ok := a.Str()
			if !ok {
				*dst = Val{}
				return nil
			}
			n += len(v)
		}
		b := s.scratch(n)
		w := 0
		for _, a := range args {
			v, _ := a.Str()
			w += copy(b[w:], v)
		}
		*dst = Str(arenaString(b))
		return nil
	}
}

// concatWSV builds its result in the batch arena; array arguments give
// their elements, as concatWS.
//
//go:noinline
func (s *Set) concatWSV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) < 1 {
			return errArity
		}
		sep, ok := args[0].Str()
		if !ok {
			*dst = Val{}
			return nil
		}
		n, parts := 0, 0
		for _, a := range args[1:] {
			if list, ok := a.A.([]any); ok && a.K == KAny {
				for _, x := range list {
					n += len(arrayElemString(x))
				}
				n += max(len(list)-1, 0) * len(sep)
				parts++
			} else if v, ok := a.Str(); ok {
				n += len(v)
				parts++
			}
		}
		if parts > 1 {
			n += (parts - 1) * len(sep)
		}
		b := s.scratch(n)
		w := 0
		for _, a := range args[1:] {
			list, isList := a.A.([]any)
			isList = isList && a.K == KAny
			if a.K == KNull {
				continue
			}
			if parts < 0 {
				w += copy(b[w:], sep)
			}
			parts = -1 // a separator before every later part
			if !isList {
				v, _ := a.Str()
				w += copy(b[w:], v)
				continue
			}
			for j, x := range list {
				if j > 0 {
					w += copy(b[w:], sep)
				}
				w += copy(b[w:], arrayElemString(x))
			}
		}
		*dst = Str(arenaString(b))
		return nil
	}
}

// mapStrV makes a function of one string that gives f of it (null for null).
//
//go:noinline
func mapStrV(f func(string) string) FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 1 {
			return errArity
		}
		v, ok := args[0].Str()
		if !ok {
			*dst = Val{}
			return nil
		}
		*dst = Str(f(v))
		return nil
	}
}

func lengthV(args []Val, dst *Val) error {
	if len(args) != 1 {
		return errArity
	}
	v, ok := args[0].Str()
	if !ok {
		*dst = Val{}
		return nil
	}
	*dst = Val{A: utf8.RuneCountInString(v), K: KAny}
	return nil
}

// stripCharsV returns its argument itself when it holds none of the set's
// characters. The set is a constant in practice: its byte table is built
// again only when it changes.
//
//go:noinline
func stripCharsV() FastFunc {
	var t byteSet
	return func(args []Val, dst *Val) error {
		if len(args) != 2 {
			return errArity
		}
		v, ok1 := args[0].Str()
		set, ok2 := args[1].Str()
		if !ok1 || !ok2 {
			*dst = Val{}
			return nil
		}
		if set != t.set {
			t.reset(set)
		}
		if !containsAnyByte(v, set, t.ascii, &t.tab) {
			*dst = args[0]
			return nil
		}
		r, err := stripChars(v, set)
		*dst = Any(r)
		return err
	}
}

// byteSet is the byte table of a set of characters (see containsAnyByte).
type byteSet struct {
	set   string
	ascii bool // set is all ASCII
	tab   [256]bool
}

// reset makes t the table of set.
func (t *byteSet) reset(set string) {
	t.set, t.ascii = set, true
	t.tab = [256]bool{}
	for i := 0; i < len(set); i++ {
		t.tab[set[i]] = true
		t.ascii = t.ascii && set[i] < utf8.RuneSelf
	}
}

func strContainsV(args []Val, dst *Val) error {
	if len(args) != 2 {
		return errArity
	}
	a, ok1 := args[0].Str()
	b, ok2 := args[1].Str()
	if !ok1 || !ok2 {
		*dst = Val{}
		return nil
	}
	*dst = Bool(strings.Contains(a, b))
	return nil
}

//go:noinline
func (s *Set) splitPartV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 3 {
			return errArity
		}
		v, ok1 := args[0].Str()
		sep, ok2 := args[1].Str()
		n, ok3 := args[2].A.(int)
		if !ok1 || !ok2 || !ok3 {
			r, err := s.splitPart(boxAll(args)...)
			*dst = Any(r)
			return err
		}
		*dst = strOrNull(splitPartString(v, sep, n))
		return nil
	}
}

func caseMapV(args []Val, dst *Val) error {
	if len(args) < 1 {
		return errArity
	}
	x, ok := args[0].Str()
	rest := args[1:]
	for ; len(rest) >= 2; rest = rest[2:] {
		if k, kok := rest[0].Str(); ok && kok && k == x {
			*dst = rest[1]
			return nil
		}
	}
	if len(rest) == 1 {
		*dst = rest[0]
		return nil
	}
	*dst = Val{}
	return nil
}

//go:noinline
func (s *Set) regexpLikeV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 2 {
			return errArity
		}
		v, ok1 := args[0].Str()
		p, ok2 := args[1].Str()
		if !ok1 || !ok2 {
			*dst = Val{}
			return nil
		}
		re, err := s.regexp("regexp_like", p)
		if err != nil {
			return err
		}
		*dst = Bool(re.MatchString(v))
		return nil
	}
}

// decryptMobileV decrypts into the batch arena.
//
//go:noinline
func (s *Set) decryptMobileV() FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 2 {
			return errArity
		}
		k, _ := args[0].Str()
		v, ok := args[1].Str()
		if !ok {
			*dst = Val{}
			return nil
		}
		if k != MobileUserKey || !strings.HasSuffix(v, "==") {
			*dst = args[1]
			return nil
		}
		p, ok := s.sh.Mobile.appendDecrypt(s.scratch(len(v))[:0], v)
		if !ok {
			*dst = Val{}
			return nil
		}
		*dst = Str(arenaString(p))
		return nil
	}
}

// uaFieldV makes a ua_* function: the agent's field get, null if empty.
//
//go:noinline
func (s *Set) uaFieldV(get func(*UA) string) FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 1 {
			return errArity
		}
		v, ok := args[0].Str()
		if !ok || v == "" {
			*dst = Val{}
			return nil
		}
		if r := get(s.userAgent(v)); r != "" {
			*dst = Str(r)
			return nil
		}
		*dst = Val{}
		return nil
	}
}

// ipFieldV makes an ip_* function: the region's field k, null if empty.
//
//go:noinline
func (s *Set) ipFieldV(k int) FastFunc {
	return func(args []Val, dst *Val) error {
		if len(args) != 1 {
			return errArity
		}
		v, ok := args[0].Str()
		if !ok {
			*dst = Val{}
			return nil
		}
		r := s.ipRegion(v)
		if r == nil || r.fields[k] == "" {
			*dst = Val{}
			return nil
		}
		*dst = Str(r.fields[k])
		return nil
	}
}

// arenaString views arena bytes as a string (see Set.scratch).
func arenaString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// containsAnyByte reports whether s holds a character of set (tab is its
// byte table when ascii). A set of a few ASCII bytes (the "\n\r\t|" every
// attributes column is cleaned of) is searched with one vectorised
// IndexByte per byte, several times faster than a byte loop over a JSON
// document that holds none of them.
func containsAnyByte(s, set string, ascii bool, tab *[256]bool) bool {
	switch {
	case !ascii:
		return strings.ContainsAny(s, set)
	case len(set) <= 4:
		for i := 0; i < len(set); i++ {
			if strings.IndexByte(s, set[i]) >= 0 {
				return true
			}
		}
		return false
	}
	return containsTab(s, tab)
}

// containsTab reports whether s has a byte marked in tab.
func containsTab(s string, tab *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if tab[s[i]] {
			return true
		}
	}
	return false
}

// strOrNull makes a string value, or null when ok is false.
func strOrNull(s string, ok bool) Val {
	if !ok {
		return Val{}
	}
	return Val{S: s, K: KStr}
}

func boxAll(args []Val) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a.Box()
	}
	return out
}

// lower and upper change ASCII letters into the batch arena (the common
// case, os and browser names, was an allocation a row each) and leave
// other text to strings.ToLower/ToUpper.
func (s *Set) lower(v string) string { return s.mapCase(v, 'A', strings.ToLower) }
func (s *Set) upper(v string) string { return s.mapCase(v, 'a', strings.ToUpper) }

// mapCase flips the case of the ASCII letters from..from+25.
func (s *Set) mapCase(v string, from byte, slow func(string) string) string {
	first := -1
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf {
			return slow(v)
		}
		if first < 0 && c >= from && c <= from+25 {
			first = i
		}
	}
	if first < 0 {
		return v
	}
	b := s.scratch(len(v))
	copy(b, v[:first])
	for i := first; i < len(v); i++ {
		c := v[i]
		if c >= from && c <= from+25 {
			c ^= 0x20
		}
		b[i] = c
	}
	return arenaString(b)
}

// ipRegion looks an address up, memoised for the row (ip_prov and ip_city
// of a row read the same address).
func (s *Set) ipRegion(v string) *region {
	m := &s.rows[s.row]
	if !m.ipSet || m.ipKey != v {
		m.ipKey, m.ipR, m.ipSet = v, nil, true
		if ipv, ok := ParseIPv4(v); ok {
			m.ipR = s.region(ipv)
		}
	}
	return m.ipR
}
