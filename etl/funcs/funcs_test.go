package funcs

import (
	"encoding/hex"
	"hash/maphash"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// eval compiles code against env (names only, all nullable) with the set's
// functions and runs it: the same path the transform takes.
func eval(t *testing.T, s *Set, code string, env map[string]any) any {
	t.Helper()
	decl := map[string]any{}
	for k := range env {
		decl[k] = nil
	}
	opts := append([]expr.Option{expr.Env(decl)}, s.Options()...)
	p, err := expr.Compile(code, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", code, err)
	}
	out, err := expr.Run(p, env)
	if err != nil {
		t.Fatalf("run %s: %v", code, err)
	}
	return out
}

type fcase struct {
	code string
	env  map[string]any
	want any
}

func runCases(t *testing.T, s *Set, cases []fcase) {
	t.Helper()
	for _, c := range cases {
		env := c.env
		if env == nil {
			env = map[string]any{}
		}
		got := eval(t, s, c.code, env)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s with %v = %#v, want %#v", c.code, c.env, got, c.want)
		}
	}
}

func x(v any) map[string]any { return map[string]any{"x": v} }

func newSet() *Set { return (&Shared{}).NewSet() }

func TestSubstrHive(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`substr(x, 1, 3)`, x("abcdef"), "abc"},
		{`substr(x, 0, 3)`, x("abcdef"), "abc"}, // pos 0 acts as 1
		{`substr(x, 3)`, x("abcdef"), "cdef"},
		{`substr(x, -2)`, x("abcdef"), "ef"},
		{`substr(x, -2, 1)`, x("abcdef"), "e"},
		{`substr(x, 7)`, x("abcdef"), ""},  // beyond the end
		{`substr(x, -7)`, x("abcdef"), ""}, // beyond the start
		{`substr(x, 2, 0)`, x("abcdef"), ""},
		{`substr(x, 2, -1)`, x("abcdef"), ""},
		{`substr(x, 5, 10)`, x("abcdef"), "ef"},
		{`substr(x, 2, 2)`, x("中国移动"), "国移"}, // characters, not bytes
		{`substr(x, 1, 19)`, x(strings.Repeat("9", 25)), strings.Repeat("9", 19)},
		{`substr(x, 1, 3)`, x(nil), nil},
		{`substr(x, 1, 3)`, x(""), ""},
		{`substr(x, 1, 2)`, x("a\xffbc"), "a\xff"},
	})
}

func TestNullFunctions(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`nvl(x, "d")`, x(nil), "d"},
		{`nvl(x, "d")`, x(""), ""}, // empty is not null
		{`nvl(x, "d")`, x("v"), "v"},
		{`coalesce(x, nil, "b", "c")`, x(nil), "b"},
		{`coalesce(x, nil)`, x(nil), nil},
		{`empty_null(x)`, x(""), nil},
		{`empty_null(x)`, x(nil), nil},
		{`empty_null(x)`, x(" "), " "},
		{`nullif(x, "-")`, x("-"), nil},
		{`nullif(x, "-")`, x("a"), "a"},
		{`is_null(x)`, x(nil), true},
		{`is_null(x)`, x(""), false},
		{`is_blank(x)`, x("  "), true},
	})
}

func TestConcatAndCase(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`concat("APP_", lower(x), "_", "9.5")`, x("Android"), "APP_android_9.5"},
		{`concat("a", x)`, x(nil), nil}, // Hive: null if any is null
		{`concat("a", x)`, x(""), "a"},
		{`concat_ws("|", "a", x, "c")`, x(nil), "a|c"},
		{`concat_ws(x, "a", "b")`, x(nil), nil},
		{`lower(x)`, x("ÄBC"), "äbc"},
		{`upper(x)`, x("abc"), "ABC"},
		{`upper(x)`, x(nil), nil},
		{`trim(x)`, x("  a b \t"), "a b \t"}, // Hive trims spaces only
		{`ltrim(x)`, x("  a "), "a "},
		{`rtrim(x)`, x("  a "), "  a"},
		{`length(x)`, x("中国"), 2},
		{`instr(x, "QYCS")`, x("210315_QYCS_1"), 8},
		{`instr(x, "zz")`, x("abc"), 0},
		{`instr(x, "a")`, x(nil), nil},
		{`strip_chars(x, "\n\r\t|")`, x("a|b\tc\nd\re"), "abcde"},
		{`strip_chars(x, "|")`, x(nil), nil},
		{`case_map(x, "1", "one", "2", "two", "other")`, x("2"), "two"},
		{`case_map(x, "1", "one", "other")`, x("9"), "other"},
		{`case_map(x, "1", "one")`, x("9"), nil},
		{`case_map(x, "1", "one", "other")`, x(nil), "other"},
		{`case_when(x == "a", 1, x == "b", 2, 0)`, x("b"), 2},
		{`case_when(x == "a", 1)`, x("z"), nil},
		{`isin(x, "a", "b")`, x("b"), true},
		{`str_contains(x, "QYCS") && !regexp_like(x, "^210315_QYCS_\\d+$")`, x("210315_QYCS_act"), true},
		{`str_contains(x, "QYCS")`, x(nil), nil}, // SQL: a predicate of NULL is NULL,
		{`starts_with(x, "APP_")`, x("APP_x"), true},
		{`ends_with(x, "==")`, x("abc="), false},
		{`ends_with(x, "==")`, x(nil), nil},
		{`isin(x, ["a", "b"])`, x("c"), false},
		{`isin(x, "a")`, x(nil), nil},
		{`x in ["a", "b"]`, x("a"), true},
		{`x in ["a", "b"]`, x(nil), false},
	})
}

func TestRegexpFunctions(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`regexp_like(x, "^210315_QYCS_\\d+$")`, x("210315_QYCS_12"), true},
		{`regexp_like(x, "^210315_QYCS_\\d+$")`, x("210315_QYCS_x"), false},
		{`regexp_like(x, "QYCS")`, x("a210315_QYCSb"), true}, // find, not full match
		{`regexp_like(x, "a")`, x(nil), nil},
		{`regexp_like(x, "a")`, x("\xff\xfea"), true}, // non-UTF-8 bytes do not break matching
		{`regexp_extract(x, "id=(\\d+)", 1)`, x("a?id=42&b"), "42"},
		{`regexp_extract(x, "id=(\\d+)")`, x("a?id=42&b"), "42"},
		{`regexp_extract(x, "id=(\\d+)", 0)`, x("a?id=42&b"), "id=42"},
		{`regexp_extract(x, "id=(\\d+)", 1)`, x("none"), ""}, // Hive: "" when no match
		{`regexp_extract(x, "id=(\\d+)", 1)`, x(nil), nil},
		{`regexp_replace(x, "[|\\t]", "")`, x("a|b\tc"), "abc"},
		{`regexp_replace(x, "(\\d+)", "<$1>")`, x("a1b22"), "a<1>b<22>"},
		{`split(x, ",")`, x("a,b,,"), []any{"a", "b", "", ""}},
		{`split(x, "[,;]")`, x("a;b,c"), []any{"a", "b", "c"}},
		{`split(x, ",")`, x(nil), nil},
		{`get(split(x, ","), 5)`, x("a,b"), nil},
		{`get(split(x, ","), 1)`, x("a,b"), "b"},
		{`split_part(x, "_", 2)`, x("APP_android_9"), "android"},
		{`split_part(x, "_", 4)`, x("APP_android_9"), nil},
		{`split_part(x, "_", 1)`, x(""), ""},
	})
	s := newSet()
	if _, err := s.regexpLike("a", "("); err == nil || !strings.Contains(err.Error(), `bad pattern "("`) {
		t.Errorf("bad pattern: %v", err)
	}
	if _, err := s.regexpExtract("a", "(a)", 2); err == nil {
		t.Error("group beyond the pattern's groups must be an error")
	}
}

func TestGetJSONObject(t *testing.T) {
	doc := `{"WT_mc_ev":"210315_QYCS_1","WT_et":"clk","n":12,"f":1.5,"b":true,"z":null,` +
		`"o":{"a":{"b":"deep"}},"arr":[1,"two",{"k":"v"}],"esc":"a\"b\\c\u4e2d\ud83d\ude00","dup":"1","dup":"2"}`
	runCases(t, newSet(), []fcase{
		{`get_json_object(x, "$.WT_mc_ev")`, x(doc), "210315_QYCS_1"},
		{`get_json_object(x, "$.n")`, x(doc), "12"},
		{`get_json_object(x, "$.f")`, x(doc), "1.5"},
		{`get_json_object(x, "$.b")`, x(doc), "true"},
		{`get_json_object(x, "$.z")`, x(doc), nil},
		{`get_json_object(x, "$.missing")`, x(doc), nil},
		{`get_json_object(x, "$.o.a.b")`, x(doc), "deep"},
		{`get_json_object(x, "$.o.a")`, x(doc), `{"b":"deep"}`},
		{`get_json_object(x, "$.arr[1]")`, x(doc), "two"},
		{`get_json_object(x, "$.arr[2].k")`, x(doc), "v"},
		{`get_json_object(x, "$.arr[9]")`, x(doc), nil},
		{`get_json_object(x, "$['WT_et']")`, x(doc), nil}, // Hive: $[ reads a root array
		{`get_json_object(x, "$.esc")`, x(doc), "a\"b\\c中😀"},
		{`get_json_object(x, "$.dup")`, x(doc), "2"},
		{`get_json_object(x, "$")`, x(`{"a":1}`), `{"a":1}`},
		{`get_json_object(x, "$[0]")`, x(`["a","b"]`), "a"},
		{`get_json_object(x, "$.a")`, x(nil), nil},
		{`get_json_object(x, "$.a")`, x(""), nil},
		{`get_json_object(x, "$.a")`, x(`{"a":"1"`), nil},           // truncated
		{`get_json_object(x, "$.a")`, x(`{"a":"1"} trailing`), "1"}, // Jackson stops after the document
		{`get_json_object(x, "$.a")`, x(`{a:"1"}`), nil},            // unquoted key
		{`get_json_object(x, "$.a")`, x(`{"a":01x}`), nil},
		{`get_json_object(x, "$.a")`, x(`{"a":"x\q"}`), "xq"}, // ALLOW_BACKSLASH_ESCAPING_ANY_CHARACTER
		{`get_json_object(x, "$.a")`, x("{\"a\":\"\xff\xfe\"}"), "\xff\xfe"},
		{`get_json_object(x, "a")`, x(`{"a":"1"}`), nil}, // path must start with $
		{`get_json_object(x, "$.")`, x(`{"a":"1"}`), nil},
		{`get_json_object(x, "$.a")`, x(`  {"a" : "sp" }  `), "sp"},
	})
}

func TestGetJSONObjectMemoNotStale(t *testing.T) {
	s := newSet()
	for i, c := range []struct{ doc, want string }{{`{"a":"1"}`, "1"}, {`{"a":"2"}`, "2"}, {`{"a":"1"}`, "1"}} {
		got, _ := s.getJSONObject(c.doc, "$.a")
		if got != c.want {
			t.Errorf("doc %d: %v, want %s", i, got, c.want)
		}
	}
	if got, _ := s.getJSONObject(`{"a":`, "$.a"); got != nil {
		t.Errorf("malformed after valid: %v", got)
	}
}

func TestStrToMap(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`str_to_map(x)["b"]`, x("a:1,b:2"), "2"},
		{`str_to_map(x, "&", "=")["k"]`, x("k=v&z=1"), "v"},
		{`map_get(str_to_map(x, "&", "="), "none")`, x("k=v"), nil},
		{`map_get(str_to_map(x), "a")`, x("a"), nil}, // no value
		{`map_get(str_to_map(x), "a")`, x(nil), nil},
		{`str_to_map(x)`, x(""), map[string]any{}},
	})
}

func TestURLFunctions(t *testing.T) {
	u := "https://user@m.10086.cn:8443/p/a%20b?pageId=1234567890123456789012&channelId=&x=1#frag"
	runCases(t, newSet(), []fcase{
		{`parse_url(x, "HOST")`, x(u), "m.10086.cn"},
		{`parse_url(x, "PATH")`, x(u), "/p/a%20b"},
		{`parse_url(x, "QUERY")`, x(u), "pageId=1234567890123456789012&channelId=&x=1"},
		{`parse_url(x, "QUERY", "x")`, x(u), "1"},
		{`parse_url(x, "QUERY", "channelId")`, x(u), ""},
		{`parse_url(x, "QUERY", "nope")`, x(u), nil},
		{`parse_url(x, "REF")`, x(u), "frag"},
		{`parse_url(x, "PROTOCOL")`, x(u), "https"},
		{`parse_url(x, "AUTHORITY")`, x(u), "user@m.10086.cn:8443"},
		{`parse_url(x, "USERINFO")`, x(u), "user"},
		{`parse_url(x, "FILE")`, x(u), "/p/a%20b?pageId=1234567890123456789012&channelId=&x=1"},
		{`parse_url(x, "HOST")`, x("not a url"), nil},             // no scheme
		{`parse_url(x, "HOST")`, x("http://[::1"), nil},           // malformed
		{`parse_url(x, "HOST")`, x("http://a b.com/"), "a b.com"}, // java.net.URL checks no host characters
		{`parse_url(x, "HOST")`, x(nil), nil},
		{`parse_url(x, "BOGUS")`, x(u), nil},
		{`empty_null(substr(url_param(x, "pageId"), 1, 19))`, x(u), "1234567890123456789"},
		{`empty_null(substr(url_param(x, "channelId"), 1, 12))`, x(u), nil},
		{`url_param(x, "pageId")`, x("https://h5.cmcc/#/home?pageId=77&a=1"), "77"},
		{`url_param(x, "a")`, x("https://h5.cmcc/?z=1#/home?a=9"), "9"},
		{`url_param(x, "pageId")`, x("https://h5.cmcc/home"), nil},
		{`url_param(x, "pageId")`, x("%%%?pageId=5"), "5"}, // tolerant of junk before '?'
		{`url_param(x, "pageId")`, x(nil), nil},
		{`url_decode(x)`, x("a%20b+c%E4%B8%AD"), "a b c中"},
		{`url_decode(x)`, x("plain"), "plain"},
		{`url_decode(x)`, x("bad%2"), nil},   // truncated escape
		{`url_decode(x)`, x("bad%zz1"), nil}, // not hex
		{`url_decode(x)`, x("%ff%fe"), "\uFFFD"},
		{`url_decode(x)`, x(""), ""},
		{`url_decode(x)`, x(nil), nil},
		{`get_json_object(url_decode(x), "$.WT_et")`, x("%7B%22WT_et%22%3A%22clk%22%7D"), "clk"},
	})
}

func TestUserAgent(t *testing.T) {
	cases := []struct {
		ua   string
		want UA
	}{
		{"Mozilla/5.0 (Linux; Android 10; SM-G9750 Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/83.0.4103.106 Mobile Safari/537.36 leadeon/9.5.0/scmcc",
			UA{"Android", "10", "leadeon", "9.5.0", "Samsung", "SM-G9750"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 14_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.2(0x18000231) NetType/WIFI Language/zh_CN",
			UA{"iOS", "14.4", "WeChat", "8.0.2", "Apple", "iPhone"}},
		{"Mozilla/5.0 (iPad; CPU OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.4 Mobile/15E148 Safari/604.1",
			UA{"iOS", "13.3", "Safari", "13.0.4", "Apple", "iPad"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
			UA{"Windows", "10.0", "Edge", "120.0.2210.91", "", ""}},
		{"Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.11.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.0.322 Mobile Safari/537.36",
			UA{"HarmonyOS", "", "HuaweiBrowser", "14.0.0.322", "Huawei", "NOH-AN00"}},
		{"Mozilla/5.0 (Linux; U; Android 11; zh-cn; Redmi K30 Pro Build/RKQ1.200826.002) AppleWebKit/537.36 Chrome/89.0 leadeon/10.1.2",
			UA{"Android", "11", "leadeon", "10.1.2", "Xiaomi", "Redmi K30 Pro"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
			UA{"Mac OS X", "10.15.7", "Safari", "17.1", "Apple", "Mac"}},
		{"curl/8.0", UA{}},
		{"\xff\xfe garbage", UA{}},
	}
	for _, c := range cases {
		got := *ParseUA(c.ua)
		if got != c.want {
			t.Errorf("ParseUA(%q)\n got %+v\nwant %+v", c.ua, got, c.want)
		}
	}
	ua := cases[0].ua
	runCases(t, newSet(), []fcase{
		{`ua_os(x)`, x(ua), "Android"},
		{`ua_os_version(x)`, x(ua), "10"},
		{`ua_browser(x)`, x(ua), "leadeon"},
		{`ua_browser_version(x)`, x(ua), "9.5.0"},
		{`ua_device_brand(x)`, x(ua), "Samsung"},
		{`ua_device_model(x)`, x(ua), "SM-G9750"},
		{`ua_os(x)`, x(nil), nil},
		{`ua_os(x)`, x(""), nil},
		{`ua_device_brand(x)`, x("curl/8.0"), nil}, // unknown -> null
		{`concat("APP_", lower(ua_os(x)), "_", "9.5.0")`, x(ua), "APP_android_9.5.0"},
	})
}

func TestUACacheParsesOncePerAgentAndIsBounded(t *testing.T) {
	s := (&Shared{UACache: 2}).NewSet()
	get := func(ua string, f string) {
		t.Helper()
		fns := map[string]func(...any) (any, error){}
		for _, e := range s.table() {
			fns[e.name] = e.body
		}
		if _, err := fns[f](ua); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"ua_os", "ua_os_version", "ua_browser", "ua_browser_version", "ua_device_brand", "ua_device_model"} {
		get("A leadeon/1.0", f)
	}
	if s.ua.Parses != 1 {
		t.Fatalf("six ua_* calls on one agent parsed %d times, want 1", s.ua.Parses)
	}
	get("B", "ua_os")
	get("A leadeon/1.0", "ua_os") // from the LRU, not the front memo
	if s.ua.Parses != 2 {
		t.Fatalf("parses = %d, want 2", s.ua.Parses)
	}
	get("C", "ua_os") // evicts B (least recently used)
	n := len(s.ua.cur) + len(s.ua.old)
	if n != 2 || s.ua.has("B") || !s.ua.has("C") {
		t.Fatalf("cache holds %d entries, B present: %v, C present: %v", n, s.ua.has("B"), s.ua.has("C"))
	}
	get("A leadeon/1.0", "ua_os")
	if s.ua.Parses != 3 {
		t.Fatalf("parses = %d, want 3 (A kept, only C added)", s.ua.Parses)
	}
}

// tinyXDB builds a database with three ranges.
func tinyXDB(t *testing.T) *XDB {
	t.Helper()
	ip := func(s string) uint32 {
		v, ok := ParseIPv4(s)
		if !ok {
			t.Fatalf("bad ip %s", s)
		}
		return v
	}
	b, err := BuildXDB([]XDBRange{
		{ip("1.0.0.0"), ip("1.0.0.255"), "中国|0|江苏省|南京市|移动"},
		{ip("36.0.0.0"), ip("36.3.255.255"), "中国|0|北京|北京市|移动"}, // spans /16 blocks
		{ip("36.4.0.0"), ip("36.4.0.9"), "中国|0|浙江省|0|电信"},
		{ip("8.8.8.8"), ip("8.8.8.8"), "美国|0|0|0|Level3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.xdb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := OpenXDB(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestIPRegion(t *testing.T) {
	s := (&Shared{IP: tinyXDB(t)}).NewSet()
	runCases(t, s, []fcase{
		{`ip_prov(x)`, x("1.0.0.7"), "江苏省"},
		{`ip_city(x)`, x("1.0.0.7"), "南京市"},
		{`ip_prov(x)`, x("36.2.17.1"), "北京"},
		{`ip_prov(x)`, x("36.3.255.255"), "北京"},
		{`ip_prov(x)`, x("36.4.0.9"), "浙江省"},
		{`ip_city(x)`, x("36.4.0.9"), nil}, // "0" is unknown
		{`ip_prov(x)`, x("36.4.0.10"), nil},
		{`ip_prov(x)`, x("8.8.8.8"), nil},
		{`ip_prov(x)`, x("1.0.1.0"), nil},
		{`ip_prov(x)`, x("::ffff:1.0.0.1"), "江苏省"},
		{`ip_prov(x)`, x("2001:db8::1"), nil},
		{`ip_prov(x)`, x("1.0.0"), nil},
		{`ip_prov(x)`, x(""), nil},
		{`ip_prov(x)`, x(nil), nil},
		{`ip_prov(x)`, x("\xff.1.1.1"), nil},
	})
	if _, err := NewXDB(make([]byte, 100)); err == nil {
		t.Error("a short file must be refused")
	}
}

const testKeyHex = "00112233445566778899aabbccddeeff"

func TestDecryptMobile(t *testing.T) {
	key, _ := hex.DecodeString(testKeyHex)
	c, err := NewMobileCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	enc := c.Encrypt("13800138000")
	if !strings.HasSuffix(enc, "==") {
		t.Fatalf("test vector %q should end in == (11 bytes pad to 16)", enc)
	}
	// Bad padding: a valid block whose plaintext ends in byte 0x00.
	badPad := c.Encrypt(strings.Repeat("x", 16)) // two blocks, the second all 0x10
	badPad = badPad[:24]                         // keep the first block only: its last byte is 'x'
	badPad = badPad[:22] + "=="                  // still base64 of 16 bytes, ending in ==
	s := (&Shared{Mobile: c}).NewSet()
	k := MobileUserKey
	env := func(key, v any) map[string]any { return map[string]any{"k": key, "v": v} }
	runCases(t, s, []fcase{
		{`decrypt_mobile(k, v)`, env(k, enc), "13800138000"},
		{`decrypt_mobile(k, v)`, env("$other", enc), enc},              // other user keys are kept
		{`decrypt_mobile(k, v)`, env(k, "13800138000"), "13800138000"}, // not ending in ==
		{`decrypt_mobile(k, v)`, env(k, "!!!notbase64=="), nil},        // bad base64
		{`decrypt_mobile(k, v)`, env(k, "YWJj=="), nil},                // not a whole block
		{`decrypt_mobile(k, v)`, env(k, badPad), nil},                  // bad padding
		{`decrypt_mobile(k, v)`, env(k, nil), nil},
		{`decrypt_mobile(k, v)`, env(nil, enc), enc},
		{`decrypt_mobile(k, v)`, env(k, "=="), nil},
	})
}

func TestLoadMobileKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	os.WriteFile(good, []byte(testKeyHex+"\n"), 0o600)
	if c, err := LoadMobileKey("", good); err != nil || c == nil {
		t.Fatalf("0600 file: %v", err)
	}
	loose := filepath.Join(dir, "loose")
	os.WriteFile(loose, []byte(testKeyHex), 0o644)
	if _, err := LoadMobileKey("", loose); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("0644 file must be refused: %v", err)
	}
	t.Setenv("CHAMA_TEST_MOBILE_KEY", testKeyHex)
	if c, err := LoadMobileKey("CHAMA_TEST_MOBILE_KEY", ""); err != nil || c == nil {
		t.Fatalf("env: %v", err)
	}
	t.Setenv("CHAMA_TEST_MOBILE_KEY", "zz-not-hex")
	_, err := LoadMobileKey("CHAMA_TEST_MOBILE_KEY", "")
	if err == nil || strings.Contains(err.Error(), "zz-not-hex") {
		t.Fatalf("a bad key must be refused without echoing it: %v", err)
	}
	if _, err := LoadMobileKey("CHAMA_TEST_UNSET_VAR_X", ""); err == nil {
		t.Fatal("unset env var must be an error")
	}
}

func TestMissingResourcesAreErrorsWhenCalled(t *testing.T) {
	s := newSet()
	p, err := expr.Compile(`ip_prov("1.1.1.1")`, s.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := expr.Run(p, nil); err == nil || !strings.Contains(err.Error(), "ip_db") {
		t.Fatalf("ip_prov without a database: %v", err)
	}
	if Needs("ip_city") != "ip" || Needs("decrypt_mobile") != "mobile" || Needs("lower") != "" {
		t.Fatal("Needs is wrong")
	}
}

func TestArityIsCheckedAtCompileTime(t *testing.T) {
	s := newSet()
	_, err := expr.Compile(`substr("a")`, s.Options()...)
	if err == nil {
		t.Fatal("substr with one argument must not compile")
	}
	_, err = expr.Compile(`no_such_fn("a")`, append(s.Options(), expr.Env(map[string]any{}))...)
	if err == nil {
		t.Fatal("an unknown function must not compile")
	}
}

// Two agents with one hash: the cache never answers one with the other's
// parse.
func TestUACacheHashCollision(t *testing.T) {
	c := newUACache(8)
	other := &uaEntry{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X)", ParseUA("Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X)")}
	a := "okhttp/4.9.3 (Linux; Android 12; SM-G9910)"
	c.cur[maphash.String(c.seed, a)] = other // as if other's hash were a's
	if u := c.get(a); u.OS != "Android" || c.Parses != 1 {
		t.Fatalf("got %+v after %d parses, want a's own parse", u, c.Parses)
	}
	c.last = nil
	c.old[maphash.String(c.seed, "B")] = other
	if u := c.get("B"); u == other.ua || c.Parses != 2 {
		t.Fatalf("old generation answered B with another agent's parse")
	}
}

// compiled runs code through Set.Compile (with the SQL and index
// patches), as the transform does.
func compiled(t *testing.T, s *Set, code string, env map[string]any) (any, error) {
	t.Helper()
	var cols []string
	for k := range env {
		cols = append(cols, k)
	}
	c, err := s.Compile(code, cols)
	if err != nil {
		return nil, err
	}
	return expr.Run(c.Program, env)
}

func TestRegexpReplaceJavaReplacement(t *testing.T) {
	s := newSet()
	for _, c := range []struct {
		v, p, r string
		want    any
	}{
		{"abc", "(b)", "$1x", "abxc"},   // $1 then x, not a group named 1x
		{"abc", "(b)", "\\$", "a$c"},    // \$ is a literal $
		{"abc", "(b)", "[$0]", "a[b]c"}, // $0 the whole match
		{"abc", "(b)", "$12", "ab2c"},   // one group: $1 then 2 (the greedy-digit rule)
		{"abcdefghijkl", "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "$11", "kl"},
		{"abcdefghijkl", "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "$111", "k1l"},
		{"abc", "(?P<x>b)", "<${x}>", "a<b>c"},
		{"abc", "b", "\\\\", "a\\c"},
		{"abc", "z", "$9", "abc"},          // no match: the replacement is not read
		{"abc", "(b)|(z)", "[$2]", "a[]c"}, // a group that took no part adds nothing
		{"abc", "b*", "-", "-a--c-"},       // Java takes the empty match right after b
		{"abc", "x*", "-", "-a-b-c-"},
		{"a b", "\\b", "|", "|a| |b|"},
		{"中文", "", "-", "-中-文-"},
	} {
		got, err := s.regexpReplace(c.v, c.p, c.r)
		if err != nil || got != c.want {
			t.Errorf("regexp_replace(%q, %q, %q) = %#v, %v; want %#v", c.v, c.p, c.r, got, err, c.want)
		}
	}
	for _, r := range []string{"$2", "$x", "$", "x\\", "${}", "${y}", "${x", "${1a}"} {
		if got, err := s.regexpReplace("abc", "(?P<x>b)", r); err == nil {
			t.Errorf("replacement %q: want an error (Java throws), got %#v", r, got)
		}
	}
}

func TestRegexpExtractHive(t *testing.T) {
	s := newSet()
	for _, c := range []struct {
		v, p string
		i    any
		want any
		err  bool
	}{
		{"abc", "(x)?(b)", 1, nil, false}, // took no part: NULL
		{"abc", "(x)?(b)", 2, "b", false},
		{"abc", "z(x)", 5, "", false}, // no match: "" whatever the index
		{"abc", "(b)", 2, nil, true},  // a match, no group 2: Hive throws
		{"abc", "(b)", -1, nil, true},
		{"abc", "(b)", nil, nil, true},
		{"abc", "z", nil, "", false},
	} {
		got, err := s.regexpExtract(c.v, c.p, c.i)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("regexp_extract(%q, %q, %v) = %#v, %v; want %#v (error %v)", c.v, c.p, c.i, got, err, c.want, c.err)
		}
	}
}

func TestCheckPatternJavaOnly(t *testing.T) {
	for p, want := range map[string]string{
		`a(?=b)`:       "look-ahead (?=...) is Java regex syntax RE2 does not support",
		`a(?!b)`:       "negative look-ahead",
		`(?<=a)b`:      "look-behind (?<=...)",
		`(?<!a)b`:      "negative look-behind",
		`(a)\1`:        `backreference \1`,
		`(?<n>a)\k<n>`: `named backreference`,
		`a*+`:          "possessive quantifier *+",
		`a++b`:         "possessive quantifier ++",
		`a{2}+`:        "possessive quantifier }+",
		`(?>ab)`:       "atomic group",
		`[a-z&&[^c]]`:  "intersection",
		`[[:alpha:]]`:  "nested character class",
		`(?U)a+`:       "(?U)",
		`\v`:           `\v`,
	} {
		err := CheckPattern(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPattern(%q) = %v, want %q", p, err, want)
		}
	}
	for _, p := range []string{`a+b*`, `\++`, `[+]+`, `a}+`, `\Q(?=\E`, `[]a]`, `(?i)a`, `(?P<n>a)`, `(?<n>a)`, `\d{2,3}`, `[\[\]]`} {
		if err := CheckPattern(p); err != nil {
			t.Errorf("CheckPattern(%q) = %v, want ok", p, err)
		}
	}
	s := newSet()
	if _, err := s.regexpLike("a", "a(?=b)"); err == nil || !strings.Contains(err.Error(), "look-ahead") {
		t.Errorf("a data pattern with a look-ahead: %v", err)
	}
	if _, err := s.Compile(`regexp_replace(a, "x(?!y)", "")`, []string{"a"}); err == nil || !strings.Contains(err.Error(), "negative look-ahead") {
		t.Errorf("a constant pattern with a look-ahead must fail at compile: %v", err)
	}
}

func TestConcatWSArrays(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`concat_ws(",", split(x, "_"))`, x("a_b"), "a,b"},
		{`concat_ws("-", "x", split(x, "_"), "y")`, x("a_b"), "x-a-b-y"},
		{`concat_ws(",", split(x, "_"))`, x(nil), ""},
		{`concat_ws(",", "a", split(x, "_"))`, x(""), "a,"},
	})
}

func TestSQLIndex(t *testing.T) {
	s := newSet()
	for _, c := range []struct {
		code string
		env  map[string]any
		want any
	}{
		{`split(x, ",")[5]`, x("a,b"), nil},
		{`split(x, ",")[1]`, x("a,b"), "b"},
		{`split(x, ",")[-1]`, x("a,b"), nil},
		{`split(x, ",")[0]`, x(nil), nil},
		{`split(x, ",")[n]`, map[string]any{"x": "a,b", "n": nil}, nil},
		{`split(x, ",")[n]`, map[string]any{"x": "a,b", "n": 1}, "b"},
		{`str_to_map(x)["k"]`, x("k:v"), "v"},
		{`str_to_map(x)["z"]`, x("k:v"), nil},
		{`str_to_map(x)["k"]`, x(nil), nil},
		{`str_to_map(x).k`, x("k:v"), "v"},
		{`concat(split(x, ",")[0], "!")`, x("a,b"), "a!"},
	} {
		got, err := compiled(t, s, c.code, c.env)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s with %v = %#v, %v; want %#v", c.code, c.env, got, err, c.want)
		}
	}
	if _, err := compiled(t, s, `x[0]`, x("abc")); err == nil {
		t.Error("indexing a string must be an error")
	}
}

func TestGetJSONObjectHive(t *testing.T) {
	arr := `{"a":[{"b":1},{"b":2,"c":[3,4]},{"c":5}],"one":[{"b":"x"}],"e":[]}`
	runCases(t, newSet(), []fcase{
		{`get_json_object(x, "$.a")`, x(`{"a":1.50}`), "1.5"},
		{`get_json_object(x, "$.a")`, x(`{"a":1e2}`), "100.0"},
		{`get_json_object(x, "$.a")`, x(`{"a":-0}`), "0"},
		{`get_json_object(x, "$.a")`, x(`{"a":0.0001}`), "1.0E-4"},
		{`get_json_object(x, "$.a")`, x(`{"a":12345678.9}`), "1.23456789E7"},
		{`get_json_object(x, "$.a")`, x(`{"a":1234567.5}`), "1234567.5"},
		{`get_json_object(x, "$.a")`, x(`{"a":0.001}`), "0.001"},
		{`get_json_object(x, "$.a")`, x(`{"a":-2.50E+3}`), "-2500.0"},
		{`get_json_object(x, "$.a")`, x(`{"a":12345678901234567890}`), "12345678901234567890"},
		{`get_json_object(x, "$.a")`, x(`{"a":1e400}`), "Infinity"},
		{`get_json_object(x, "$.a")`, x(`{"a":01}`), nil}, // leading zeros
		{`get_json_object(x, "$.o")`, x(`{"o": { "k" : [ 1 , 2.0, "t\u0001" ] , "n":null} }`), `{"k":[1,2.0,"t\u0001"],"n":null}`},
		{`get_json_object(x, "$.o")`, x(`{"o":{"d":1,"e":2,"d":3}}`), `{"d":3,"e":2}`},
		{`get_json_object(x, "$.o")`, x(`{"o":{"s":"a/b\"中"}}`), `{"s":"a/b\"中"}`},
		{`get_json_object(x, "$")`, x(` [ 1 , {"a" : 2} ] `), `[1,{"a":2}]`},
		{`get_json_object(x, "$")`, x(`"str"`), nil},
		{`get_json_object(x, "$.a")`, x("{\"a\":\"x\ty\"}"), "x\ty"}, // raw TAB allowed
		{`get_json_object(x, "$.a")`, x(`{"a":"1"}}}`), "1"},
		{`get_json_object(x, "$.a[*].b")`, x(arr), "[1,2]"},
		{`get_json_object(x, "$.a.b")`, x(arr), "[1,2]"},
		{`get_json_object(x, "$.a.c")`, x(arr), "[3,4,5]"},
		{`get_json_object(x, "$.one[*].b")`, x(arr), "x"},
		{`get_json_object(x, "$.one.b")`, x(arr), `["x"]`},
		{`get_json_object(x, "$.a[*]")`, x(arr), `[{"b":1},{"b":2,"c":[3,4]},{"c":5}]`},
		{`get_json_object(x, "$.a[1].c[*]")`, x(arr), "[3,4]"},
		{`get_json_object(x, "$.a[*].c[0]")`, x(arr), "3"},
		{`get_json_object(x, "$.e[*]")`, x(arr), nil},
		{`get_json_object(x, "$.e")`, x(arr), "[]"},
		{`get_json_object(x, "$[1]")`, x(`[1,{"a":"b"}]`), `{"a":"b"}`},
		{`get_json_object(x, "$[1].a")`, x(`[1,{"a":"b"}]`), "b"},
		{`get_json_object(x, "$[*].a")`, x(`[{"a":1},{"a":2}]`), "[1,2]"},
		{`get_json_object(x, "$.a")`, x(`[{"a":1}]`), nil}, // root is not an object
		{`get_json_object(x, "$[0]")`, x(`{"a":1}`), nil},  // root is not an array
		{`get_json_object(x, "$.a b")`, x(`{"a b":"sp"}`), "sp"},
		{`get_json_object(x, "$.a#b")`, x(`{"a":"k"}`), "k"}, // the key is the leading [\w\-:\s]+
		{`get_json_object(x, "$.中")`, x(`{"中":"k"}`), nil},
		{`get_json_object(x, "$.a.")`, x(`{"a":"k"}`), nil},
		{`get_json_object(x, "$x")`, x(`{"a":"k"}`), nil},
	})
}

func TestParseURLJava(t *testing.T) {
	runCases(t, newSet(), []fcase{
		{`parse_url(x, "HOST")`, x("leadeon://app/home?a=1"), nil}, // no handler for leadeon: MalformedURLException
		{`parse_url(x, "PROTOCOL")`, x("leadeon://app/home"), nil},
		{`parse_url(x, "QUERY", "flag")`, x("http://h/p?flag&x=1"), nil},
		{`parse_url(x, "QUERY", "x")`, x("http://h/p?flag&x=1"), "1"},
		{`parse_url(x, "QUERY")`, x("http://h/p?"), ""},
		{`parse_url(x, "QUERY")`, x("http://h/p"), nil},
		{`parse_url(x, "FILE")`, x("http://h/p?"), "/p?"},
		{`parse_url(x, "PATH")`, x("http://h/中文 路径?a=1"), "/中文 路径"},
		{`parse_url(x, "PATH")`, x("http://h"), ""},
		{`parse_url(x, "REF")`, x("http://h/p#"), ""},
		{`parse_url(x, "REF")`, x("http://h/p"), nil},
		{`parse_url(x, "QUERY")`, x("http://h/#/p?a=1"), nil}, // the ? is in the reference
		{`parse_url(x, "REF")`, x("http://h/#/p?a=1"), "/p?a=1"},
		{`parse_url(x, "HOST")`, x("HTTP://Example.COM:80/"), "Example.COM"},
		{`parse_url(x, "PROTOCOL")`, x("HTTP://Example.COM:80/"), "http"},
		{`parse_url(x, "HOST")`, x("http://h:x/"), nil}, // bad port
		{`parse_url(x, "HOST")`, x("http://[::1]:8080/p"), "[::1]"},
		{`parse_url(x, "HOST")`, x("http:/p"), ""},
		{`parse_url(x, "AUTHORITY")`, x("http:/p"), nil},
		{`parse_url(x, "HOST")`, x("file:///tmp/x"), ""},
		{`parse_url(x, "HOST")`, x("  http://h/ "), "h"},
		{`parse_url(x, "QUERY", "a.c")`, x("http://h/?abc=1"), "1"}, // the key is a regex
		{`parse_url(x, "QUERY", "b")`, x("http://h/?ab=1&b=2"), "2"},
		{`parse_url(x, "HOST", "b")`, x("http://h/?b=2"), nil},
		{`parse_url(x, "USERINFO")`, x("http://u:p@h/"), "u:p"},
	})
}
