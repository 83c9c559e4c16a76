package funcs

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
)

// Every unboxed implementation gives what the generic one gives, on
// argument vectors with nulls, empty and non-UTF-8 strings and numbers.
func TestFastMatchesGeneric(t *testing.T) {
	key, _ := hex.DecodeString(testKeyHex)
	c, _ := NewMobileCipher(key)
	s := (&Shared{IP: tinyXDB(t), Mobile: c, Lookups: map[string]*Lookup{"t.d": testLookup(t)}}).NewSet()
	ua := "Mozilla/5.0 (Linux; Android 10; SM-G9750 Build/QP1A; wv) Chrome/83.0 leadeon/9.5.0"
	strs := []any{nil, "", "a", " a b ", "ÄbC", "\xff\xfe", "a%20b+c", "bad%2", `{"a":"1","b":{"c":2}}`, "x_y_z", "1.0.0.7", ua}
	args := map[string][][]any{
		"get_json_object": cross(append(strs, `{"a":1.50,"b":[{"c":1e2},{"c":"x"}]} tail`, `[{"a":"x\q"}]`, "{\"a\":\"t\tb\"}"),
			[]any{"$.a", "$.b.c", "$", "bad", nil, "$.b[*].c", "$[0].a", "$.b[1]"}),
		"url_decode":     cross(strs),
		"url_param":      cross([]any{nil, "https://h/p?pageId=1&x=", "https://h/#/p?x=2", "nothing"}, []any{"pageId", "x", "", nil}),
		"substr":         cross([]any{nil, "", "abcdef", "中国移动", "a\xffb"}, []any{nil, 0, 1, 2, -2, 9}, []any{nil, 0, 1, 3, -1, 100}),
		"empty_null":     cross(strs),
		"nvl":            cross([]any{nil, "", "a", 3}, []any{nil, "d"}),
		"coalesce":       cross([]any{nil, "a"}, []any{nil, "", "b"}, []any{"c", nil}),
		"is_null":        cross([]any{nil, "", 0}),
		"concat":         cross([]any{nil, "", "a", 7}, []any{nil, "b", ""}),
		"concat_ws":      cross([]any{nil, "|", ""}, []any{nil, "a", []any{"x", "y"}, []any{}}, []any{"b", nil, []any{"z", nil}}),
		"lower":          cross(strs),
		"upper":          cross(strs),
		"trim":           cross(strs),
		"length":         cross(strs),
		"strip_chars":    cross(strs, []any{"\n\r\t|", "a", "", nil}),
		"str_contains":   cross(strs, []any{"a", "", nil}),
		"split_part":     cross([]any{nil, "", "x_y_z", "_"}, []any{"_", "", nil}, []any{nil, 0, 1, 3, 4}),
		"case_map":       cross([]any{nil, "a", "b"}, []any{"a"}, []any{"A"}, []any{"b", nil}),
		"regexp_like":    cross(strs, []any{"^a", "b$", nil}),
		"decrypt_mobile": cross([]any{nil, MobileUserKey, "$other"}, []any{nil, "", c.Encrypt("13800138000"), "bad==", "plain"}),
		"ua_os":          cross(strs), "ua_os_version": cross(strs), "ua_browser": cross(strs),
		"ua_browser_version": cross(strs), "ua_device_brand": cross(strs), "ua_device_model": cross(strs),
		"ip_prov": cross(strs), "ip_city": cross(strs),
		"dim_value": cross([]any{"t.d", "nope"}, []any{"name", "n", "x"}, []any{nil, "a", "b", "", 1}, []any{nil, 1, 2, "1"}),
		"dim_match": cross([]any{"t.d", "nope"}, []any{nil, "a", "b", "", 1}, []any{nil, 1, 2, "1"}),
	}
	n := 0
	defer func() { t.Logf("%d argument vectors compared", n) }()
	for name := range s.fastTable() {
		vecs, ok := args[name]
		if !ok {
			t.Errorf("%s has a fast implementation but no test vectors", name)
			continue
		}
		fast, gen := s.Fast(name), s.Func(name)
		for _, v := range vecs {
			want, werr := gen(v...)
			vals := make([]Val, len(v))
			for i, a := range v {
				vals[i] = Any(a)
			}
			var got Val
			gerr := fast(vals, &got)
			n++
			if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(got.Box(), want) {
				t.Errorf("%s%s: fast %#v (%v), generic %#v (%v)", name, fmt.Sprint(v), got.Box(), gerr, want, werr)
			}
		}
	}
}

// cross is every combination of the given argument choices.
func cross(choices ...[]any) [][]any {
	out := [][]any{{}}
	for _, ch := range choices {
		var next [][]any
		for _, prefix := range out {
			for _, c := range ch {
				next = append(next, append(append([]any{}, prefix...), c))
			}
		}
		out = next
	}
	return out
}
