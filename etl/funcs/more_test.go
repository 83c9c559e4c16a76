package funcs

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// moreEval compiles code as the transform does (Set.Compile: operators
// rewritten to Hive's) and runs it over env.
func moreEval(t *testing.T, s *Set, code string, env map[string]any) (any, error) {
	t.Helper()
	var cols []string
	for k := range env {
		cols = append(cols, k)
	}
	c, err := s.Compile(code, cols)
	if err != nil {
		t.Fatalf("compile %s: %v", code, err)
	}
	return expr.Run(c.Program, env)
}

func runMore(t *testing.T, cases []fcase) {
	t.Helper()
	s := newSet()
	for _, c := range cases {
		env := c.env
		if env == nil {
			env = map[string]any{}
		}
		got, err := moreEval(t, s, c.code, env)
		if err != nil {
			t.Errorf("%s with %v: %v", c.code, c.env, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s with %v = %#v, want %#v", c.code, c.env, got, c.want)
		}
	}
}

// The builtins of expr that share a name with a Hive function are
// overridden by the declared function: the call compiles to a call of
// ours (listed in Funcs) and gives Hive's answer.
func TestMoreOverridesExprBuiltins(t *testing.T) {
	s := newSet()
	for _, name := range []string{"int", "string", "abs", "round", "floor", "ceil", "repeat", "reverse"} {
		code := name + "(x)"
		if name == "repeat" {
			code = "repeat(x, 2)"
		}
		c, err := s.Compile(code, []string{"x"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(c.Funcs, []string{name}) {
			t.Errorf("%s(x) calls %v, want our %s", name, c.Funcs, name)
		}
	}
	runMore(t, []fcase{
		{`int("1.9")`, nil, 1},        // expr's int("1.9") is an error
		{`int("abc")`, nil, nil},      // expr's is an error
		{`string(true)`, nil, "TRUE"}, // expr's gives "true"
		{`floor(2.5)`, nil, 2},        // expr's gives 2.0
		{`round(2.5)`, nil, 3.0},
		{`abs(x)`, x(nil), nil}, // expr's abs(nil) is an error
	})
}

// if(...) needs expr's if-else syntax switched off (expr.DisableIfOperator);
// this runs the body through expr with that option.
func TestMoreIf(t *testing.T) {
	s := newSet()
	opts := append([]expr.Option{expr.Env(map[string]any{"c": nil}), expr.DisableIfOperator()}, s.Options()...)
	for _, tc := range []struct {
		code string
		c    any
		want any
	}{
		{`if(c, "y", "n")`, true, "y"},
		{`if(c, "y", "n")`, false, "n"},
		{`if(c, "y", "n")`, nil, "n"},
		{`if(c, 1, 2.5)`, true, 1.0},
		{`if(c, 1, nil)`, true, 1},
	} {
		p, err := expr.Compile(tc.code, opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.code, err)
		}
		got, err := expr.Run(p, map[string]any{"c": tc.c})
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s with c=%v = %#v, %v; want %#v", tc.code, tc.c, got, err, tc.want)
		}
	}
	if _, err := mfHiveIf("yes", 1, 2); err == nil {
		t.Error("if with a string condition: want an error")
	}
}

func TestMoreConditionals(t *testing.T) {
	runMore(t, []fcase{
		{`nvl2(x, "a", "b")`, x("v"), "a"},
		{`nvl2(x, "a", "b")`, x(nil), "b"},
		{`nvl2(x, 1, 2.5)`, x(nil), 2.5},
		{`nvl2(x, 1, 2.5)`, x(0), 1.0},
	})
}

func TestMoreCasts(t *testing.T) {
	runMore(t, []fcase{
		{`int(x)`, x("12"), 12},
		{`int(x)`, x(" 12 "), 12},
		{`int(x)`, x("+7"), 7},
		{`int(x)`, x("-1.9"), -1},
		{`int(x)`, x("1."), 1},
		{`int(x)`, x(".5"), 0},
		{`int(x)`, x("1.2.3"), nil},
		{`int(x)`, x("1e3"), nil},
		{`int(x)`, x("-"), nil},
		{`int(x)`, x(""), nil},
		{`int(x)`, x("2147483647"), math.MaxInt32},
		{`int(x)`, x("-2147483648"), math.MinInt32},
		{`int(x)`, x("2147483648"), nil},
		{`int(x)`, x(4294967297), 1},
		{`int(x)`, x(-2.9), -2},
		{`int(x)`, x(1e20), math.MaxInt32},
		{`int(x)`, x(math.NaN()), 0},
		{`int(x)`, x(true), 1},
		{`int(x)`, x(nil), nil},
		{`bigint(x)`, x("9223372036854775807"), math.MaxInt64},
		{`bigint(x)`, x("9223372036854775808"), nil},
		{`bigint(x)`, x("-9223372036854775808"), math.MinInt64},
		{`bigint(x)`, x("3.99"), 3},
		{`bigint(x)`, x(1e30), math.MaxInt64},
		{`bigint(x)`, x(4294967297), 4294967297},
		{`double(x)`, x("1.5"), 1.5},
		{`double(x)`, x(" 1e3 "), 1000.0},
		{`double(x)`, x("2d"), 2.0},
		{`double(x)`, x("abc"), nil},
		{`double(x)`, x("inf"), nil},
		{`double(x)`, x("-Infinity"), math.Inf(-1)},
		{`double(x)`, x(3), 3.0},
		{`double(x)`, x(false), 0.0},
		{`string(x)`, x(2.0), "2.0"},
		{`string(x)`, x(42), "42"},
		{`string(x)`, x(false), "FALSE"},
		{`string(x)`, x(nil), nil},
		{`boolean(x)`, x("false"), false},
		{`boolean(x)`, x("OFF"), false},
		{`boolean(x)`, x(""), false},
		{`boolean(x)`, x("yes"), true},
		{`boolean(x)`, x(0), false},
		{`boolean(x)`, x(0.5), true},
		{`boolean(x)`, x(nil), nil},
	})
	if v, _ := mfCastDouble("NaN"); v == nil || !math.IsNaN(v.(float64)) {
		t.Errorf("double('NaN') = %v, want NaN", v)
	}
}

func TestMoreStrings(t *testing.T) {
	runMore(t, []fcase{
		{`substring(x, 2, 3)`, x("abcdef"), "bcd"},
		{`substring(x, -2)`, x("abcdef"), "ef"},
		{`locate("bar", x)`, x("foobarbar"), 4},
		{`locate("bar", x, 5)`, x("foobarbar"), 7},
		{`locate("x", x)`, x("foobar"), 0},
		{`locate("b", x, 0)`, x("abc"), 0},
		{`locate("国", x)`, x("中国"), 2},
		{`locate("a", x)`, x(nil), nil},
		{`lpad(x, 5, "??")`, x("hi"), "???hi"},
		{`lpad(x, 1, "??")`, x("hi"), "h"},
		{`lpad(x, 3, "")`, x("hi"), nil},
		{`lpad(x, -1, "?")`, x("hi"), nil},
		{`rpad(x, 5, "ab")`, x("hi"), "hiaba"},
		{`rpad(x, 4, "好")`, x("中国"), "中国好好"},
		{`rpad(x, 4, "a")`, x(nil), nil},
		{`space(3)`, nil, "   "},
		{`space(-1)`, nil, ""},
		{`repeat(x, 3)`, x("ab"), "ababab"},
		{`repeat(x, -1)`, x("ab"), ""},
		{`reverse(x)`, x("中国a"), "a国中"},
		{`initcap(x)`, x("hELLO wORLD  x"), "Hello World  X"},
		{`ascii(x)`, x("A"), 65},
		{`ascii(x)`, x(""), 0},
		{`ascii(x)`, x("中"), -28},
		{`rlike(x, "^a.c$")`, x("abc"), true},
		{`rlike(x, "^a.c$")`, x(nil), nil},
		{`like(x, "a%")`, x("abc"), true},
		{`like(x, "a_c")`, x("abc"), true},
		{`like(x, "a_c")`, x("abbc"), false},
		{`like(x, "100\\%")`, x("100%"), true},
		{`like(x, "100\\%")`, x("1000"), false},
		{`like(x, "a.c")`, x("abc"), false},
		{`like(x, "%")`, x("a\nb"), true},
		{`like(x, "a%")`, x(nil), nil},
	})
}

func TestMoreHashes(t *testing.T) {
	runMore(t, []fcase{
		{`md5(x)`, x("ABC"), "902fbdd2b1df0c4f70b4a5d23525e932"},
		{`sha1(x)`, x("ABC"), "3c01bdbb26f358bab27f267924aa2c9a03fcfdb8"},
		{`sha2(x, 256)`, x("ABC"), "b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78"},
		{`sha2(x, 0)`, x("ABC"), "b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78"},
		{`sha2(x, 224)`, x("ABC"), "107c5072b799c4771f328304cfe1ebb375eb6ea7f35a3aa753836fad"},
		{`sha2(x, 100)`, x("ABC"), nil},
		{`sha2(x, 512)`, x(nil), nil},
		{`crc32(x)`, x("ABC"), 2743272264},
		{`md5(x)`, x(nil), nil},
	})
	if v, _ := mfSha2Hex("ABC", 384); len(v.(string)) != 96 {
		t.Errorf("sha2 384: %v", v)
	}
	if v, _ := mfSha2Hex("ABC", 512); len(v.(string)) != 128 {
		t.Errorf("sha2 512: %v", v)
	}
}

func TestMoreCollections(t *testing.T) {
	runMore(t, []fcase{
		{`size(split(x, ","))`, x("a,b,c"), 3},
		{`size(split(x, ","))`, x(nil), -1},
		{`size(str_to_map(x))`, x("a:1,b:2"), 2},
		{`array_contains(split(x, ","), "b")`, x("a,b"), true},
		{`array_contains(split(x, ","), "z")`, x("a,b"), false},
		{`array_contains(split(x, ","), "b")`, x(nil), false},
		{`array_contains(split(x, ","), nil)`, x("a"), false},
		{`array_contains([1, 2], 2)`, nil, true},
	})
}

func TestMoreMath(t *testing.T) {
	runMore(t, []fcase{
		{`greatest(1, 3, 2)`, nil, 3},
		{`greatest(1, x, 2)`, x(nil), nil},
		{`greatest(1, 2.5)`, nil, 2.5},
		{`greatest(3, 2.5)`, nil, 3.0},
		{`greatest("a", "b")`, nil, "b"},
		{`least(x, "b")`, x("a"), "a"},
		{`least(1, 3, -2)`, nil, -2},
		{`round(x)`, x(2.5), 3.0},
		{`round(x)`, x(-2.5), -3.0},
		{`round(x, 2)`, x(2.675), 2.68},
		{`round(x, 1)`, x(1.25), 1.3},
		{`round(x, -2)`, x(1250), 1300},
		{`round(x, -2)`, x(-1250), -1300},
		{`round(x, -1)`, x(1234.5), 1230.0},
		{`round(x)`, x(7), 7},
		{`round(x)`, x("2.5"), 3.0},
		{`round(x)`, x("abc"), nil},
		{`round(x)`, x(nil), nil},
		{`bround(x)`, x(2.5), 2.0},
		{`bround(x)`, x(3.5), 4.0},
		{`bround(x, 1)`, x(1.25), 1.2},
		{`bround(x, -1)`, x(25), 20},
		{`floor(x)`, x(-2.5), -3},
		{`floor(x)`, x(7), 7},
		{`ceil(x)`, x(2.1), 3},
		{`ceiling(x)`, x("2.1"), 3},
		{`ceil(x)`, x(nil), nil},
		{`abs(x)`, x(-3), 3},
		{`abs(x)`, x(-2.5), 2.5},
		{`abs(x)`, x("-2"), 2.0},
		{`pow(x, 2)`, x(3), 9.0},
		{`power(2, x)`, x(-1), 0.5},
		{`pow(x, 2)`, x(nil), nil},
		{`sqrt(x)`, x(16), 4.0},
		{`sqrt(x)`, x(-1), nil},
		{`ln(x)`, x(1), 0.0},
		{`ln(x)`, x(0), nil},
		{`log10(x)`, x(1000), 3.0},
		{`log2(x)`, x(8), 3.0},
		{`log2(x)`, x(-8), nil},
	})
}

func TestMoreParseHiveInt(t *testing.T) {
	for in, want := range map[string]any{"0": 0, "007": 7, "-0": 0, "1 2": nil, "  ": nil, "12abc": nil, "N123": nil} {
		got, _ := mfCastInt(in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("int(%q) = %#v, want %#v", in, got, want)
		}
	}
	if _, err := mfSize("abc"); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("size of a string: %v", err)
	}
}
