package funcs

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// parseURL is Hive's parse_url(url, part[, key]) with part one of HOST,
// PATH, QUERY, REF, PROTOCOL, AUTHORITY, FILE, USERINFO. Like Java's URL it
// needs a scheme; a malformed URL or a missing part gives null. QUERY with
// a key gives that parameter's raw (still encoded) value.
func parseURL(args ...any) (any, error) {
	if err := arity("parse_url", args, 2, 3); err != nil {
		return nil, err
	}
	raw, ok1 := str(args[0])
	part, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return nil, nil
	}
	some := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	switch part {
	case "HOST":
		return some(u.Hostname()), nil
	case "PATH":
		return u.EscapedPath(), nil
	case "QUERY":
		if len(args) == 3 {
			key, ok := str(args[2])
			if !ok {
				return nil, nil
			}
			if v, found := queryParam(u.RawQuery, key); found {
				return v, nil
			}
			return nil, nil
		}
		return some(u.RawQuery), nil
	case "REF":
		return some(u.EscapedFragment()), nil
	case "PROTOCOL":
		return u.Scheme, nil
	case "AUTHORITY":
		a := u.Host
		if u.User != nil {
			a = u.User.String() + "@" + a
		}
		return some(a), nil
	case "FILE":
		f := u.EscapedPath()
		if u.RawQuery != "" {
			f += "?" + u.RawQuery
		}
		return f, nil
	case "USERINFO":
		if u.User == nil {
			return nil, nil
		}
		return u.User.String(), nil
	}
	return nil, nil
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
