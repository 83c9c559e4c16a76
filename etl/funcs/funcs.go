// Package funcs holds the functions that chama's transform expressions may
// call: Hive-like string, JSON and URL functions (so the team's Hive SQL
// ports almost word for word) and chama's own user-agent, IP-region and
// mobile-number functions.
//
// Null is Go's nil. Following Hive, a function of null gives null, with one
// deliberate exception: predicates (regexp_like, isin, ...) give false for
// null, because expr's && / || / ! need real booleans. That differs from
// Hive only under NOT (Hive's NOT NULL stays NULL and drops the row).
//
// A Set is not safe for concurrent use: it carries per-worker caches (the
// user-agent LRU, the last parsed JSON document, compiled regexps), so each
// worker builds its own with Shared.NewSet and compiles its own programs.
package funcs

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
)

// Shared is what every worker's Set shares read-only: the IP database and
// the mobile-number cipher.
type Shared struct {
	IP     *XDB          // nil: ip_prov/ip_city are errors at validation
	Mobile *MobileCipher // nil: decrypt_mobile is an error at validation
	// UACache bounds each worker's user-agent cache (entries); 0: 8192.
	UACache int
	// Loc is the date functions' zone (transform.time_zone); nil: UTC.
	Loc *time.Location
	// Lookups are the dimension joins by ID (dim_value, dim_match): loaded
	// by the transform stage, declared without rows by config validation.
	Lookups map[string]*Lookup
}

// Set is one worker's function set with its caches.
type Set struct {
	sh    *Shared
	ua    *uaCache
	re    map[string]*reCacheEntry
	ipMap map[uint32]*region
	// arena backs strings the fast functions build (concat, concat_ws):
	// a heap string each was several allocations a row.
	// Such results live until EndBatch, like the batch's own strings.
	arena []byte
	// rows holds the per-row memos: one row, or a window's (see Vector).
	rows  []rowMemo
	row   int
	paths map[string][]jsonPathStep
	// lastPath is the JSON path of the previous call (maybe in the batch).
	lastPath   string
	lastSteps  []jsonPathStep
	lastPathOK bool
	fast       map[string]FastFunc
}

// NewSet returns a fresh function set for one worker.
func (sh *Shared) NewSet() *Set {
	n := sh.UACache
	if n <= 0 {
		n = 8192
	}
	return &Set{sh: sh, ua: newUACache(n), re: map[string]*reCacheEntry{}, ipMap: map[uint32]*region{}, rows: make([]rowMemo, 1)}
}

// EndBatch forgets the per-row memos (last JSON document, last str_to_map,
// last user agent). Their strings may point into the batch's Arrow
// buffers, which the transform recycles once the batch is done; the
// long-lived caches (user-agent LRU, regexps) copy their keys instead.
func (s *Set) EndBatch() {
	s.ua.lastKey, s.ua.last = "", nil
	s.arena = s.arena[:0]
	s.lastPath, s.lastSteps, s.lastPathOK = "", nil, false
	for i := range s.rows {
		s.rows[i] = rowMemo{json: jsonMemo{members: s.rows[i].json.members[:0]}}
	}
}

// rowMemo is one row's memos: the parsed JSON document (a row reads a dozen
// attributes from it), the user agent (six ua_* fields), the IP region
// (ip_prov and ip_city) and str_to_map's map. Strings may point into the
// batch: see EndBatch.
type rowMemo struct {
	json  jsonMemo
	uaKey string
	ua    *UA
	ipKey string
	ipR   *region
	ipSet bool
	smap  strMapMemo
}

// Vector switches the set to column-at-a-time use over windows of up to n
// rows. An evaluator that runs one expression over many rows before the
// next would defeat the last-row memos (a row's dozen JSON attributes, six
// user-agent fields, two IP fields would each parse again), so the memos
// are kept per row of the window instead: call Row before each call.
func (s *Set) Vector(n int) {
	s.rows = make([]rowMemo, n)
}

// Row names the window row the next calls are for (Vector mode; row 0
// otherwise).
func (s *Set) Row(i int) { s.row = i }

// userAgent returns the parsed agent, memoised for the row.
func (s *Set) userAgent(v string) *UA {
	m := &s.rows[s.row]
	if m.ua == nil || m.uaKey != v {
		m.uaKey, m.ua = v, s.ua.get(v)
	}
	return m.ua
}

// scratch returns n bytes of the batch arena for a result string. Older
// chunks are left to strings that still point into them.
func (s *Set) scratch(n int) []byte {
	if cap(s.arena)-len(s.arena) < n {
		s.arena = make([]byte, 0, max(64<<10, n))
	}
	l := len(s.arena)
	s.arena = s.arena[:l+n]
	return s.arena[l : l+n : l+n]
}

// fn is one function: its Go body and the signatures the checker uses to
// reject wrong arities at validation time.
type fn struct {
	name  string
	body  func(args ...any) (any, error)
	types []any
	needs string // "ip" or "mobile": a resource the Shared must have
}

// Names lists every function, sorted (for docs and error messages).
func Names() []string {
	s := (&Shared{}).NewSet()
	var out []string
	for _, f := range s.table() {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// Options returns the expr options that declare the functions of s. A
// function whose resource is missing (no IP database, no mobile key) is
// still declared, so the config check can say what is missing; calling it
// is an error.
func (s *Set) Options() []expr.Option {
	var out []expr.Option
	for _, f := range s.table() {
		body := f.body
		switch {
		case f.needs == "ip" && s.sh.IP == nil:
			name := f.name
			body = func(...any) (any, error) {
				return nil, fmt.Errorf("%s: no ip2region database configured (transform.ip_db)", name)
			}
		case f.needs == "mobile" && s.sh.Mobile == nil:
			body = func(...any) (any, error) {
				return nil, fmt.Errorf("decrypt_mobile: no key configured (transform.mobile_key_env or mobile_key_file)")
			}
		}
		out = append(out, expr.Function(f.name, body, f.types...))
	}
	return out
}

// Needs reports which resource a function needs ("ip", "mobile" or "").
func Needs(name string) string {
	needsOnce.Do(func() {
		needsMap = map[string]string{}
		for _, f := range (&Set{sh: &Shared{}}).table() {
			needsMap[f.name] = f.needs
		}
	})
	return needsMap[name]
}

var (
	needsOnce sync.Once
	needsMap  map[string]string
)

// Signatures used for arity checks.
var (
	sig1  = new(func(any) any)
	sig2  = new(func(any, any) any)
	sig3  = new(func(any, any, any) any)
	sigN  = new(func(...any) any)
	sig1N = new(func(any, ...any) any)
	sig1b = new(func(any) bool)
)

func (s *Set) table() []fn {
	t := append(sqlFuncs(), s.dateFuncs()...)
	t = append(t, s.moreFuncs()...)
	t = append(t, s.lookupFuncs()...)
	return append(t, []fn{
		// Hive-like.
		{name: "get_json_object", body: s.getJSONObject, types: []any{sig2}},
		{name: "str_to_map", body: s.strToMap, types: []any{sig1, sig3}},
		{name: "map_get", body: mapGet, types: []any{sig2}},
		{name: "parse_url", body: parseURL, types: []any{sig2, sig3}},
		{name: "url_param", body: urlParam, types: []any{sig2}},
		{name: "url_decode", body: urlDecode, types: []any{sig1}},
		{name: "substr", body: substr, types: []any{sig2, sig3}},
		{name: "nvl", body: nvl, types: []any{sig2}},
		{name: "coalesce", body: coalesce, types: []any{sigN}},
		{name: "nullif", body: nullif, types: []any{sig2}},
		{name: "empty_null", body: emptyNull, types: []any{sig1}},
		{name: "concat", body: concat, types: []any{sigN}},
		{name: "concat_ws", body: concatWS, types: []any{sig1N}},
		{name: "lower", body: lower, types: []any{sig1}},
		{name: "upper", body: upper, types: []any{sig1}},
		{name: "trim", body: trim, types: []any{sig1}},
		{name: "ltrim", body: ltrim, types: []any{sig1}},
		{name: "rtrim", body: rtrim, types: []any{sig1}},
		{name: "length", body: length, types: []any{sig1}},
		{name: "instr", body: instr, types: []any{sig2}},
		{name: "strip_chars", body: stripChars, types: []any{sig2}},
		{name: "regexp_like", body: s.regexpLike, types: []any{sig2}},
		{name: "regexp_extract", body: s.regexpExtract, types: []any{sig2, sig3}},
		{name: "regexp_replace", body: s.regexpReplace, types: []any{sig3}},
		{name: "isin", body: isin, types: []any{sig1N}},
		{name: "str_contains", body: strPred("str_contains", strings.Contains), types: []any{sig2}},
		{name: "starts_with", body: strPred("starts_with", strings.HasPrefix), types: []any{sig2}},
		{name: "ends_with", body: strPred("ends_with", strings.HasSuffix), types: []any{sig2}},
		{name: "case_map", body: caseMap, types: []any{sig1N}},
		{name: "case_when", body: caseWhen, types: []any{sigN}},
		{name: "split", body: s.split, types: []any{sig2}},
		{name: "split_part", body: s.splitPart, types: []any{sig3}},
		{name: "is_null", body: isNull, types: []any{sig1b}},
		{name: "is_blank", body: isBlank, types: []any{sig1b}},
		// chama's own.
		{name: "ua_os", body: s.uaField(func(u *UA) string { return u.OS }), types: []any{sig1}},
		{name: "ua_os_version", body: s.uaField(func(u *UA) string { return u.OSVersion }), types: []any{sig1}},
		{name: "ua_browser", body: s.uaField(func(u *UA) string { return u.Browser }), types: []any{sig1}},
		{name: "ua_browser_version", body: s.uaField(func(u *UA) string { return u.BrowserVersion }), types: []any{sig1}},
		{name: "ua_device_brand", body: s.uaField(func(u *UA) string { return u.DeviceBrand }), types: []any{sig1}},
		{name: "ua_device_model", body: s.uaField(func(u *UA) string { return u.DeviceModel }), types: []any{sig1}},
		{name: "ip_prov", body: s.ipField(2), types: []any{sig1}, needs: "ip"},
		{name: "ip_city", body: s.ipField(3), types: []any{sig1}, needs: "ip"},
		{name: "decrypt_mobile", body: s.decryptMobile, types: []any{sig2}, needs: "mobile"},
	}...)
}

// str reads a string argument; ok is false for null. Numbers and booleans
// are formatted the way Hive casts them to string.
func str(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		return string(x), true
	default:
		return ToString(x), true
	}
}

// ToString formats a value as Hive would write it into a text table; nil
// gives "" (callers decide how null is written).
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return javaDouble(x) // Hive writes a DOUBLE with Java's Double.toString
	case float32:
		return ToString(float64(x))
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// toInt reads an integer argument; ok is false for null or a non-number.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case int32:
		return int(x), true
	case float64:
		return int(x), true
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}

func arity(name string, args []any, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return fmt.Errorf("%s: wrong number of arguments (%d)", name, len(args))
	}
	return nil
}
