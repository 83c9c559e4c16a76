package funcs

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// moreFuncs are the Hive string, math and conditional functions beyond
// the first set: casts, if, padding, hashing, rounding and the like.
// Each follows the Hive UDF of the same name (LanguageManual UDF and the
// classes in ql/src/java/org/apache/hadoop/hive/ql/udf): NULL in gives
// NULL out, and input Hive cannot read gives NULL rather than an error.
//
// Names such as int, string, abs, round, floor and ceil are also expr
// builtins; a function declared with expr.Function overrides the builtin
// of its name (expr's parser checks the declared functions first).
func (s *Set) moreFuncs() []fn {
	return []fn{
		// Conditionals.
		{name: "if", body: mfHiveIf, types: []any{sig3}},
		{name: "nvl2", body: mfNvl2, types: []any{sig3}},
		// Casts, as CAST(x AS type).
		{name: "int", body: mfCastInt, types: []any{sig1}},
		{name: "bigint", body: mfCastBigint, types: []any{sig1}},
		{name: "double", body: mfCastDouble, types: []any{sig1}},
		{name: "string", body: mfCastString, types: []any{sig1}},
		{name: "boolean", body: mfCastBoolean, types: []any{sig1}},
		// Strings.
		{name: "substring", body: substr, types: []any{sig2, sig3}},
		{name: "locate", body: mfLocate, types: []any{sig2, sig3}},
		{name: "lpad", body: mfPad("lpad", true), types: []any{sig3}},
		{name: "rpad", body: mfPad("rpad", false), types: []any{sig3}},
		{name: "space", body: mfSpace, types: []any{sig1}},
		{name: "repeat", body: mfRepeat, types: []any{sig2}},
		{name: "reverse", body: mfReverse, types: []any{sig1}},
		{name: "initcap", body: mfInitcap, types: []any{sig1}},
		{name: "ascii", body: mfAscii, types: []any{sig1}},
		{name: "rlike", body: s.regexpLike, types: []any{sig2}},
		{name: "like", body: s.mfLike, types: []any{sig2}},
		// Hashes.
		{name: "md5", body: mfMd5Hex, types: []any{sig1}},
		{name: "sha1", body: mfSha1Hex, types: []any{sig1}},
		{name: "sha", body: mfSha1Hex, types: []any{sig1}},
		{name: "sha2", body: mfSha2Hex, types: []any{sig2}},
		{name: "crc32", body: mfCrc32Sum, types: []any{sig1}},
		// Collections.
		{name: "size", body: mfSize, types: []any{sig1}},
		{name: "array_contains", body: mfArrayContains, types: []any{sig2}},
		// Math.
		{name: "greatest", body: mfExtreme("greatest", 1), types: []any{sig1N}},
		{name: "least", body: mfExtreme("least", -1), types: []any{sig1N}},
		{name: "round", body: mfRounder("round", false), types: []any{sig1, sig2}},
		{name: "bround", body: mfRounder("bround", true), types: []any{sig1, sig2}},
		{name: "floor", body: mfFloorCeil("floor", math.Floor), types: []any{sig1}},
		{name: "ceil", body: mfFloorCeil("ceil", math.Ceil), types: []any{sig1}},
		{name: "ceiling", body: mfFloorCeil("ceiling", math.Ceil), types: []any{sig1}},
		{name: "abs", body: mfAbsFn, types: []any{sig1}},
		{name: "pow", body: mfPower("pow"), types: []any{sig2}},
		{name: "power", body: mfPower("power"), types: []any{sig2}},
		{name: "sqrt", body: mfUnaryMath("sqrt", math.Sqrt, func(x float64) bool { return x >= 0 }), types: []any{sig1}},
		{name: "ln", body: mfUnaryMath("ln", math.Log, mfPositive), types: []any{sig1}},
		{name: "log10", body: mfUnaryMath("log10", math.Log10, mfPositive), types: []any{sig1}},
		{name: "log2", body: mfUnaryMath("log2", math.Log2, mfPositive), types: []any{sig1}},
	}
}

func mfPositive(x float64) bool { return x > 0 }

// widen gives v the type Hive's IF and NVL2 give their result: the common
// type of both branches, so an int branch beside a double one is a double.
func mfWiden(v, other any) any {
	if i, ok := v.(int); ok {
		if _, ok := other.(float64); ok {
			return float64(i)
		}
	}
	return v
}

// hiveIf is GenericUDFIf: a when the condition is true, b when it is
// false or NULL.
func mfHiveIf(args ...any) (any, error) {
	if err := arity("if", args, 3, 3); err != nil {
		return nil, err
	}
	switch c := args[0].(type) {
	case nil:
		return mfWiden(args[2], args[1]), nil
	case bool:
		if c {
			return mfWiden(args[1], args[2]), nil
		}
		return mfWiden(args[2], args[1]), nil
	}
	return nil, fmt.Errorf("if: the condition must be a boolean, not %T", args[0])
}

// nvl2 is mfNvl2(x, a, b): a when x is not NULL, else b.
func mfNvl2(args ...any) (any, error) {
	if err := arity("nvl2", args, 3, 3); err != nil {
		return nil, err
	}
	if args[0] != nil {
		return mfWiden(args[1], args[2]), nil
	}
	return mfWiden(args[2], args[1]), nil
}

// parseHiveInt reads a string the way CAST(s AS INT/BIGINT) does
// (UDFToInteger/UDFToLong: LazyUtils.isNumberMaybe, then
// LazyInteger/LazyLong.parse with trimming): optional sign, decimal digits,
// and an optional fraction of digits that is dropped ('1.9' is 1). bits
// is 32 or 64; a value out of range does not parse.
func mfParseHiveInt(s string, bits int) (int64, bool) {
	switch len(s) { // isNumberMaybe, on the untrimmed text
	case 0:
		return 0, false
	case 1:
		if !mfIsDigit(s[0]) {
			return 0, false
		}
	case 2:
		if !mfIsDigit(s[0]) && !mfIsDigit(s[1]) {
			return 0, false
		}
	case 4:
		if s[0] == 'N' || s[0] == 'n' {
			return 0, false
		}
	}
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if s == "" {
		return 0, false
	}
	neg := s[0] == '-'
	if neg || s[0] == '+' {
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	var u uint64
	i := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		if !mfIsDigit(s[i]) {
			return 0, false
		}
		u = u*10 + uint64(s[i]-'0')
		if u > limit {
			return 0, false
		}
	}
	if i < len(s) { // the fraction: digits only, dropped
		for _, c := range []byte(s[i+1:]) {
			if !mfIsDigit(c) {
				return 0, false
			}
		}
	}
	if neg {
		return -int64(u), true
	}
	if u == limit {
		return 0, false
	}
	return int64(u), true
}

func mfIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// floatToInt is Java's (int) or (long) of a double: truncation toward
// zero, saturating at the type's bounds, NaN giving 0.
func mfFloatToInt(f float64, bits int) int64 {
	lo, hi := float64(math.MinInt32), float64(math.MaxInt32)
	if bits == 64 {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	switch {
	case math.IsNaN(f):
		return 0
	case f <= lo:
		return int64(lo)
	case f >= hi:
		if bits == 64 {
			return math.MaxInt64
		}
		return math.MaxInt32
	}
	return int64(f)
}

// castInteger is CAST(x AS INT) (bits 32) or CAST(x AS BIGINT) (64).
func mfCastInteger(name string, bits int, args []any) (any, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int:
		if bits == 32 {
			return int(int32(x)), nil // Java's (int) of a long wraps
		}
		return x, nil
	case int64:
		if bits == 32 {
			return int(int32(x)), nil
		}
		return int(x), nil
	case int32:
		return int(x), nil
	case float64:
		return int(mfFloatToInt(x, bits)), nil
	case float32:
		return int(mfFloatToInt(float64(x), bits)), nil
	case string:
		n, ok := mfParseHiveInt(x, bits)
		if !ok {
			return nil, nil
		}
		return int(n), nil
	}
	return nil, fmt.Errorf("%s: cannot cast %T", name, args[0])
}

func mfCastInt(args ...any) (any, error)    { return mfCastInteger("int", 32, args) }
func mfCastBigint(args ...any) (any, error) { return mfCastInteger("bigint", 64, args) }

// parseHiveDouble reads a string as CAST(s AS DOUBLE) does (UDFToDouble:
// isNumberMaybe, then Java's Double.parseDouble, which trims, accepts an
// exponent, NaN, Infinity and a trailing d or f).
func mfParseHiveDouble(s string) (float64, bool) {
	if len(s) == 0 || (len(s) == 1 && !mfIsDigit(s[0])) || (len(s) == 2 && !mfIsDigit(s[0]) && !mfIsDigit(s[1])) ||
		(len(s) == 4 && (s[0] == 'N' || s[0] == 'n')) {
		return 0, false
	}
	t := strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	body := strings.TrimLeft(t, "+-")
	switch body {
	case "NaN":
		return math.NaN(), len(t)-len(body) <= 1
	case "Infinity":
		if len(t)-len(body) > 1 {
			return 0, false
		}
		if t[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	if n := len(t); n > 1 && strings.ContainsRune("dDfF", rune(t[n-1])) && !strings.HasPrefix(body, "0x") && !strings.HasPrefix(body, "0X") {
		t = t[:n-1]
	}
	if strings.ContainsAny(t, "_iInN") && !strings.HasPrefix(body, "0x") && !strings.HasPrefix(body, "0X") {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // Java gives Infinity or 0 as ParseFloat does
		}
		return 0, false
	}
	return f, true
}

// castDouble is CAST(x AS DOUBLE).
func mfCastDouble(args ...any) (any, error) {
	if err := arity("double", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		f, ok := mfParseHiveDouble(x)
		if !ok {
			return nil, nil
		}
		return f, nil
	}
	n, _, ok := toNumber(args[0])
	if !ok {
		return nil, fmt.Errorf("double: cannot cast %T", args[0])
	}
	return n.f, nil
}

// castString is CAST(x AS STRING): numbers as Hive writes them, booleans
// as TRUE and FALSE (UDFToString).
func mfCastString(args ...any) (any, error) {
	if err := arity("string", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	}
	return ToString(args[0]), nil
}

// castBoolean is CAST(x AS BOOLEAN) (GenericUDFToBoolean): a number is
// true unless zero; a string is false when it is ”, 'false', 'no',
// 'zero' or 'off', true otherwise.
func mfCastBoolean(args ...any) (any, error) {
	if err := arity("boolean", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(x) {
		case "", "false", "no", "zero", "off":
			return false, nil
		}
		return true, nil
	}
	n, _, ok := toNumber(args[0])
	if !ok {
		return nil, fmt.Errorf("boolean: cannot cast %T", args[0])
	}
	if n.isInt {
		return n.i != 0, nil
	}
	return n.f != 0, nil
}

// locate is mfLocate(sub, s[, pos]) (UDFLocate): the 1-based character
// position of the first sub in s at or after pos, 0 when absent.
func mfLocate(args ...any) (any, error) {
	if err := arity("locate", args, 2, 3); err != nil {
		return nil, err
	}
	sub, ok1 := str(args[0])
	s, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	pos := 1
	if len(args) == 3 {
		var ok bool
		if pos, ok = toInt(args[2]); !ok {
			return nil, nil
		}
	}
	n := utf8.RuneCountInString(s)
	if pos < 1 || pos > n {
		return 0, nil
	}
	skip := 0 // bytes of the first pos-1 characters
	for i := 0; i < pos-1; i++ {
		_, w := utf8.DecodeRuneInString(s[skip:])
		skip += w
	}
	i := strings.Index(s[skip:], sub)
	if i < 0 {
		return 0, nil
	}
	return pos + utf8.RuneCountInString(s[skip:skip+i]), nil
}

// pad is lpad or rpad (GenericUDFLpad/Rpad): s padded with p to n
// characters, or cut to n when longer; NULL for an empty p or a negative n.
func mfPad(name string, left bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 3, 3); err != nil {
			return nil, err
		}
		s, ok1 := str(args[0])
		n, ok2 := toInt(args[1])
		p, ok3 := str(args[2])
		if !ok1 || !ok2 || !ok3 || n < 0 || p == "" {
			return nil, nil
		}
		rs := []rune(s)
		if len(rs) >= n {
			return string(rs[:n]), nil
		}
		pr := []rune(p)
		fill := make([]rune, n-len(rs))
		for i := range fill {
			fill[i] = pr[i%len(pr)]
		}
		if left {
			return string(fill) + s, nil
		}
		return s + string(fill), nil
	}
}

// space is mfSpace(n) (UDFSpace): n spaces, "" for n < 1.
func mfSpace(args ...any) (any, error) {
	if err := arity("space", args, 1, 1); err != nil {
		return nil, err
	}
	n, ok := toInt(args[0])
	if !ok {
		return nil, nil
	}
	return strings.Repeat(" ", max(n, 0)), nil
}

// repeat is mfRepeat(s, n) (UDFRepeat): s n times, "" for n < 1.
func mfRepeat(args ...any) (any, error) {
	if err := arity("repeat", args, 2, 2); err != nil {
		return nil, err
	}
	s, ok1 := str(args[0])
	n, ok2 := toInt(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	return strings.Repeat(s, max(n, 0)), nil
}

// reverse is mfReverse(s) (UDFReverse), by character.
func mfReverse(args ...any) (any, error) {
	if err := arity("reverse", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return string(rs), nil
}

// initcap is mfInitcap(s) (GenericUDFInitCap, WordUtils.capitalizeFully):
// each whitespace-separated word's first letter upper case, the rest
// lower case.
func mfInitcap(args ...any) (any, error) {
	if err := arity("initcap", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			start = true
		case start:
			r, start = unicode.ToTitle(r), false
		default:
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// ascii is mfAscii(s) (UDFAscii): the first byte of s as a signed byte, 0
// for "".
func mfAscii(args ...any) (any, error) {
	if err := arity("ascii", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	if s == "" {
		return 0, nil
	}
	return int(int8(s[0])), nil
}

// likeRegexp turns a SQL LIKE pattern into an anchored regexp (UDFLike):
// % any run of characters, _ one character, a backslash escapes the next.
func mfLikeRegexp(p string) string {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(p); {
		r, w := utf8.DecodeRuneInString(p[i:])
		i += w
		switch r {
		case '\\':
			if i < len(p) {
				r, w = utf8.DecodeRuneInString(p[i:])
				i += w
			}
			b.WriteString(regexp.QuoteMeta(string(r)))
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}

// like is a LIKE pattern (UDFLike); NULL for NULL.
func (s *Set) mfLike(args ...any) (any, error) {
	if err := arity("like", args, 2, 2); err != nil {
		return nil, err
	}
	v, ok1 := str(args[0])
	p, ok2 := str(args[1])
	if !ok1 || !ok2 {
		return nil, nil
	}
	re, err := s.regexp("like", mfLikeRegexp(p))
	if err != nil {
		return nil, err
	}
	return re.MatchString(v), nil
}

func mfHashHex(name string, args []any, sum func([]byte) []byte) (any, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	return hex.EncodeToString(sum([]byte(s))), nil
}

// md5Hex, sha1Hex are md5(s) and sha1(s) (UDFMd5, UDFSha1): lower-case hex.
func mfMd5Hex(args ...any) (any, error) {
	return mfHashHex("md5", args, func(b []byte) []byte { h := md5.Sum(b); return h[:] })
}

func mfSha1Hex(args ...any) (any, error) {
	return mfHashHex("sha1", args, func(b []byte) []byte { h := sha1.Sum(b); return h[:] })
}

// sha2Hex is sha2(s, bits) (GenericUDFSha2): bits 224, 256 (or 0), 384 or
// 512; any other length gives NULL.
func mfSha2Hex(args ...any) (any, error) {
	if err := arity("sha2", args, 2, 2); err != nil {
		return nil, err
	}
	bits, ok := toInt(args[1])
	if !ok || args[0] == nil {
		return nil, nil
	}
	var sum func([]byte) []byte
	switch bits {
	case 224:
		sum = func(b []byte) []byte { h := sha256.Sum224(b); return h[:] }
	case 0, 256:
		sum = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	case 384:
		sum = func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }
	case 512:
		sum = func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }
	default:
		return nil, nil
	}
	return mfHashHex("sha2", args[:1], sum)
}

// crc32Sum is crc32(s) (UDFCrc32): a bigint.
func mfCrc32Sum(args ...any) (any, error) {
	if err := arity("crc32", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := str(args[0])
	if !ok {
		return nil, nil
	}
	return int(crc32.ChecksumIEEE([]byte(s))), nil
}

// size is mfSize(array or map) (GenericUDFSize): -1 for NULL.
func mfSize(args ...any) (any, error) {
	if err := arity("size", args, 1, 1); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return -1, nil
	case []any:
		return len(x), nil
	case []string:
		return len(x), nil
	case map[string]any:
		return len(x), nil
	case map[string]string:
		return len(x), nil
	}
	return nil, fmt.Errorf("size: want an array or a map, got %T", args[0])
}

// arrayContains is array_contains(arr, v) (GenericUDFArrayContains):
// false for a NULL or empty array or a NULL value.
func mfArrayContains(args ...any) (any, error) {
	if err := arity("array_contains", args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil || args[1] == nil {
		return false, nil
	}
	var list []any
	switch x := args[0].(type) {
	case []any:
		list = x
	case []string:
		for _, e := range x {
			list = append(list, e)
		}
	default:
		return nil, fmt.Errorf("array_contains: want an array, got %T", args[0])
	}
	for _, e := range list {
		if e == nil {
			continue
		}
		c, null, err := sqlCompare(e, args[1])
		if err == nil && !null && c == 0 {
			return true, nil
		}
	}
	return false, nil
}

// extreme is greatest (dir 1) or least (-1) (GenericUDFGreatest/Least,
// Hive 2.0+): NULL when any argument is NULL; compared as the ">"
// operator compares; mixed ints and doubles give a double, strings
// against numbers compare and return as doubles.
func mfExtreme(name string, dir int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, -1); err != nil {
			return nil, err
		}
		var best any
		var anyFloat, anyStr, anyNum bool
		for i, a := range args {
			switch a.(type) {
			case nil:
				return nil, nil
			case string:
				anyStr = true
			case float64, float32:
				anyFloat, anyNum = true, true
			case int, int64, int32:
				anyNum = true
			}
			if i == 0 {
				best = a
				continue
			}
			c, null, err := sqlCompare(a, best)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if null {
				return nil, nil
			}
			if c*dir > 0 {
				best = a
			}
		}
		if anyFloat || (anyStr && anyNum) {
			n, null, ok := toNumber(best)
			if null || !ok {
				return nil, nil
			}
			return n.f, nil
		}
		return best, nil
	}
}

// roundDecimal rounds x to d decimal places as Java's BigDecimal.valueOf(x)
// .setScale(d, HALF_UP or HALF_EVEN) does: on x's shortest decimal form,
// so round(2.675, 2) is 2.68 although the double is a hair below.
func mfRoundDecimal(x float64, d int, even bool) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || d > 300 || d < -330 {
		return x
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		return x
	}
	neg := r.Sign() < 0
	r.Abs(r)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(d))), nil))
	if d >= 0 {
		r.Mul(r, scale)
	} else {
		r.Quo(r, scale)
	}
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	twice := new(big.Int).Mul(m, big.NewInt(2))
	switch twice.Cmp(r.Denom()) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if !even || q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	out := new(big.Rat).SetInt(q)
	if d >= 0 {
		out.Quo(out, scale)
	} else {
		out.Mul(out, scale)
	}
	f, _ := out.Float64()
	if neg {
		f = -f
	}
	return f
}

// rounder is round(x[, d]) (GenericUDFRound, HALF_UP) or bround(x[, d])
// (GenericUDFBRound, HALF_EVEN): a bigint stays a bigint (rounded only for
// a negative d), a double or a numeric string gives a double.
func mfRounder(name string, even bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 2); err != nil {
			return nil, err
		}
		d := 0
		if len(args) == 2 {
			var ok bool
			if d, ok = toInt(args[1]); !ok {
				return nil, nil
			}
		}
		n, null, err := numArg(name, args[0])
		switch {
		case err != nil || null:
			return nil, err
		case n.isInt:
			if d >= 0 {
				return int(n.i), nil
			}
			if d < -18 {
				return 0, nil
			}
			p := int64(math.Pow10(-d))
			q, m := n.i/p, n.i%p
			if m < 0 {
				m = -m
			}
			up := 2*m > p || (2*m == p && (!even || q%2 != 0))
			if up {
				if n.i < 0 {
					q--
				} else {
					q++
				}
			}
			return int(q * p), nil
		}
		return mfRoundDecimal(n.f, d, even), nil
	}
}

// floorCeil is floor or ceil/ceiling (GenericUDFFloor/Ceil): a bigint.
func mfFloorCeil(name string, f func(float64) float64) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		n, null, err := numArg(name, args[0])
		switch {
		case err != nil || null:
			return nil, err
		case n.isInt:
			return int(n.i), nil
		}
		return int(mfFloatToInt(f(n.f), 64)), nil
	}
}

// absFn is abs(x) (GenericUDFAbs): a bigint stays a bigint, else a double.
func mfAbsFn(args ...any) (any, error) {
	if err := arity("abs", args, 1, 1); err != nil {
		return nil, err
	}
	n, null, err := numArg("abs", args[0])
	switch {
	case err != nil || null:
		return nil, err
	case n.isInt:
		if n.i < 0 {
			return int(-n.i), nil
		}
		return int(n.i), nil
	}
	return math.Abs(n.f), nil
}

// power is pow/mfPower(x, p) (UDFPower): a double.
func mfPower(name string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		if args[0] == nil || args[1] == nil {
			return nil, nil
		}
		x, nullX, okX := toNumber(args[0])
		p, nullP, okP := toNumber(args[1])
		switch {
		case !okX || !okP:
			return nil, fmt.Errorf("%s: want numbers, got %T and %T", name, args[0], args[1])
		case nullX || nullP:
			return nil, nil
		}
		return math.Pow(x.f, p.f), nil
	}
}

// unaryMath is a double function of a double (UDFSqrt, UDFLn, UDFLog10,
// UDFLog2), NULL outside its domain.
func mfUnaryMath(name string, f func(float64) float64, domain func(float64) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		n, null, err := numArg(name, args[0])
		if err != nil || null || !domain(n.f) {
			return nil, err
		}
		return f(n.f), nil
	}
}

// numArg reads the numeric argument of the maths functions: null for
// NULL or text that is no number (Hive's implicit cast), an error naming
// the function for a value that is no number at all.
func numArg(name string, v any) (n number, null bool, err error) {
	if v == nil {
		return number{}, true, nil
	}
	n, null, ok := toNumber(v)
	if !ok {
		return number{}, false, fmt.Errorf("%s: want a number, got %T", name, v)
	}
	return n, null, nil
}
