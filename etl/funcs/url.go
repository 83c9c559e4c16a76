package funcs

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// parseURL is Hive's UDFParseUrl: parse_url(url, part[, key]) with part
// one of HOST, PATH, QUERY, REF, PROTOCOL, AUTHORITY, FILE, USERINFO,
// read with java.net.URL. A URL Java refuses (no scheme, a scheme it has
// no handler for such as leadeon://, a bad port) gives NULL; parts come
// back as written, without decoding or encoding; a part the URL lacks is
// NULL, one that is there but empty (http://h/p? has QUERY "") is "".
// QUERY with a key is the value of the first key=value pair (pairs split
// on &; Hive matches (&|^)key=([^&]*), so a key is a Java regex), NULL
// when there is none.
func parseURL(args ...any) (any, error) {
	if err := arity("parse_url", args, 2, 3); err != nil {
		return nil, err
	}
	raw, ok1 := str(args[0])
	part, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	if len(args) == 3 && part != "QUERY" {
		return nil, nil
	}
	u, ok := parseJavaURL(raw)
	if !ok {
		return nil, nil
	}
	opt := func(s string, ok bool) any {
		if !ok {
			return nil
		}
		return s
	}
	switch part {
	case "HOST":
		return u.host, nil
	case "PATH":
		return u.path, nil
	case "QUERY":
		if !u.hasQuery {
			return nil, nil
		}
		if len(args) == 3 {
			key, ok := str(args[2])
			if !ok {
				return nil, fmt.Errorf("parse_url: the QUERY key is NULL (Hive fails the query with a NullPointerException)")
			}
			return queryKey(u.query, key)
		}
		return u.query, nil
	case "REF":
		return opt(u.ref, u.hasRef), nil
	case "PROTOCOL":
		return u.protocol, nil
	case "AUTHORITY":
		return opt(u.authority, u.hasAuthority), nil
	case "FILE":
		if u.hasQuery {
			return u.path + "?" + u.query, nil
		}
		return u.path, nil
	case "USERINFO":
		return opt(u.userInfo, u.hasUserInfo), nil
	}
	return nil, nil
}

// javaURL is what java.net.URL keeps of a URL.
type javaURL struct {
	protocol, host, path, query, ref, authority, userInfo string
	hasQuery, hasRef, hasAuthority, hasUserInfo           bool
}

// javaProtocols are the schemes a JDK has URL handlers for.
var javaProtocols = map[string]bool{"http": true, "https": true, "ftp": true, "file": true, "jar": true, "mailto": true, "netdoc": true, "jrt": true}

// parseJavaURL parses spec as new java.net.URL(spec) does (URL's
// constructor and URLStreamHandler.parseURL); ok is false where Java
// throws MalformedURLException.
func parseJavaURL(spec string) (u javaURL, ok bool) {
	start, limit := 0, len(spec)
	for limit > 0 && spec[limit-1] <= ' ' {
		limit--
	}
	for start < limit && spec[start] <= ' ' {
		start++
	}
	if limit-start >= 4 && strings.EqualFold(spec[start:start+4], "url:") {
		start += 4
	}
	if start < len(spec) && spec[start] == '#' {
		return u, false // a bare reference: no protocol
	}
	for i := start; i < limit && spec[i] != '/'; i++ {
		if spec[i] == ':' {
			if p := strings.ToLower(spec[start:i]); validProtocol(p) {
				u.protocol, start = p, i+1
			}
			break
		}
	}
	if u.protocol == "" || !javaProtocols[u.protocol] {
		return u, false // no protocol, or unknown protocol
	}
	if i := strings.IndexByte(spec[start:], '#'); i >= 0 && start+i <= limit {
		u.ref, u.hasRef = spec[start+i+1:limit], true
		limit = start + i
	}
	if u.protocol == "jar" {
		// The jar handler wants "<url>!/<entry>"; the rest is its file.
		file := spec[start:limit]
		if !strings.Contains(file, "!/") {
			return u, false
		}
		u.path = file
		if q := strings.LastIndexByte(file, '?'); q >= 0 {
			u.path, u.query, u.hasQuery = file[:q], file[q+1:], true
		}
		return u, true
	}
	// URLStreamHandler.parseURL.
	if start < limit {
		if q := strings.IndexByte(spec, '?'); q >= 0 && q < limit {
			u.query, u.hasQuery = spec[q+1:limit], true
			limit = q
		}
	}
	unc := limit-start >= 4 && strings.HasPrefix(spec[start:], "////")
	if !unc && limit-start >= 2 && strings.HasPrefix(spec[start:], "//") {
		start += 2
		i := strings.IndexByte(spec[start:limit], '/')
		if i < 0 {
			i = limit
		} else {
			i += start
		}
		auth := spec[start:i]
		u.authority, u.hasAuthority = auth, true
		host := auth
		if at := strings.IndexByte(auth, '@'); at >= 0 {
			if at != strings.LastIndexByte(auth, '@') {
				host = "" // more than one '@': not server-based
			} else {
				u.userInfo, u.hasUserInfo, host = auth[:at], true, auth[at+1:]
			}
		}
		if strings.HasPrefix(host, "[") {
			end := strings.IndexByte(host, ']')
			if end <= 2 {
				return u, false
			}
			if _, err := netip.ParseAddr(host[1:end]); err != nil || !strings.Contains(host[1:end], ":") {
				return u, false
			}
			rest := host[end+1:]
			host = host[:end+1]
			if rest != "" && (rest[0] != ':' || !javaPort(rest[1:])) {
				return u, false
			}
		} else if c := strings.IndexByte(host, ':'); c >= 0 {
			if !javaPort(host[c+1:]) {
				return u, false
			}
			host = host[:c]
		}
		u.host = host
		start = i
	}
	if start < limit {
		if spec[start] == '/' || !u.hasAuthority {
			u.path = spec[start:limit]
		} else {
			u.path = "/" + spec[start:limit]
		}
	}
	return u, true
}

// validProtocol is URL.isValidProtocol: a letter, then letters, digits,
// '.', '+' or '-'.
func validProtocol(p string) bool {
	if p == "" || !isLetter(p[0]) {
		return false
	}
	for i := 1; i < len(p); i++ {
		if c := p[i]; !isLetter(c) && (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// javaPort reports whether a port is what Java accepts: empty, or an int
// (Integer.parseInt: an optional sign, then digits) of at least -1.
func javaPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.ParseInt(p, 10, 32)
	return err == nil && n >= -1
}

// queryKey is UDFParseUrl's (&|^)key=([^&]*) on a query: the value of the
// first key=value pair; NULL when there is none.
func queryKey(q, key string) (any, error) {
	if regexp.QuoteMeta(key) != key {
		re, err := queryKeyRegexp(key)
		if err != nil {
			return nil, err
		}
		if m := re.FindStringSubmatch(q); m != nil {
			return m[2], nil
		}
		return nil, nil
	}
	for i := 0; i <= len(q); {
		if strings.HasPrefix(q[i:], key) && strings.HasPrefix(q[i+len(key):], "=") {
			v := q[i+len(key)+1:]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v, nil
		}
		j := strings.IndexByte(q[i:], '&')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return nil, nil
}

var queryKeyREs struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

// queryKeyRegexp compiles a key with regex characters into Hive's pattern.
func queryKeyRegexp(key string) (*regexp.Regexp, error) {
	queryKeyREs.Lock()
	defer queryKeyREs.Unlock()
	if re, ok := queryKeyREs.m[key]; ok {
		return re, nil
	}
	p := "(&|^)" + key + "=([^&]*)"
	if err := CheckPattern(p); err != nil {
		return nil, fmt.Errorf("parse_url: the key %q makes a bad pattern %q: %v", key, p, err)
	}
	re := regexp.MustCompile(p)
	if queryKeyREs.m == nil || len(queryKeyREs.m) > 256 {
		queryKeyREs.m = map[string]*regexp.Regexp{}
	}
	queryKeyREs.m[strings.Clone(key)] = re
	return re, nil
}

// queryParam finds key=value in a query string (pairs split on & and on #
// for hash-routed H5 pages); the first occurrence wins.
func queryParam(q, key string) (string, bool) {
	for q != "" {
		var pair string
		i := strings.IndexAny(q, "&#")
		if i < 0 {
			pair, q = q, ""
		} else {
			pair, q = q[:i], q[i+1:]
		}
		if len(pair) > len(key) && pair[len(key)] == '=' && pair[:len(key)] == key {
			return pair[len(key)+1:], true
		}
		if pair == key {
			return "", true
		}
	}
	return "", false
}

// urlParam(url, key) is the raw value of a query parameter anywhere after
// the first '?', including in a hash route (https://h/#/p?pageId=1): what
// the DWD SQL pulls pageId and channelId with. Missing gives null, an empty
// value gives "" (wrap it in empty_null to follow the DWD rule).
func urlParam(args ...any) (any, error) {
	if err := arity("url_param", args, 2, 2); err != nil {
		return nil, err
	}
	raw, ok1 := str(args[0])
	key, ok2 := str(args[1])
	if !ok1 || !ok2 || key == "" {
		return nil, nil
	}
	if v, ok := urlParamString(raw, key); ok {
		return v, nil
	}
	return nil, nil
}

func urlParamString(raw, key string) (string, bool) {
	i := strings.IndexByte(raw, '?')
	if i < 0 {
		return "", false
	}
	q := raw[i+1:]
	// The same key may appear in the query and again in a hash route's query.
	if strings.IndexByte(q, '?') >= 0 {
		q = strings.ReplaceAll(q, "?", "&")
	}
	return queryParam(q, key)
}

// urlDecode is java.net.URLDecoder.decode(s, "UTF-8"), as Hive's reflect
// call does it: '+' is a space, %XX a byte; a truncated or non-hex escape
// gives null (Java throws); decoded bytes that are not UTF-8 become U+FFFD.
func urlDecode(args ...any) (any, error) {
	if err := arity("url_decode", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return args[0], nil
	}
	if r, ok := urlDecodeString(s); ok {
		return r, nil
	}
	return nil, nil
}

// urlDecodeString is urlDecode on a string that has an escape or a '+';
// ok is false where urlDecode gives null.
func urlDecodeString(s string) (string, bool) {
	b, ok := appendURLDecode(make([]byte, 0, len(s)), s)
	if !ok {
		return "", false
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), true
	}
	return string(b), true
}

// appendURLDecode appends the decoded s to b (at most len(s) bytes); ok is
// false for a truncated or non-hex escape.
func appendURLDecode(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return b, false
			}
			h, l := unhex(s[i+1]), unhex(s[i+2])
			if h < 0 || l < 0 {
				return b, false
			}
			b = append(b, byte(h<<4|l))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
