package funcs

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Hive's date and time functions.
//
// Dates and timestamps are strings here, as in the team's Hive tables. A
// date argument is read as Hive's Date.valueOf does: optional blanks, then
// y-M-d (year 1-4 dtDigits, month and day 1-2), a real calendar date
// (2023-02-29 is NULL), and whatever follows must not start with a digit
// ('2009-07-30 04:17:52' is 2009-07-30). A timestamp argument is read as
// Timestamp.valueOf does: a date, then nothing, or ' H:m:s[.fraction]' (or
// ISO 'T'); anything else is NULL. Date results are 'yyyy-MM-dd' strings,
// numbers are ints, and a NULL or unreadable argument gives NULL.
//
// Only from_unixtime and unix_timestamp use the time zone (Shared.Loc):
// the others work on the wall-clock value as Hive 3+ does.
//
// Format patterns are Java SimpleDateFormat's (yyyy-MM-dd HH:mm:ss.SSS,
// quoting with '...'); see compileDatePattern for the letters chama knows.
// A pattern is compiled once per set and cached; an unknown letter is an
// error naming it.
func (s *Set) dateFuncs() []fn {
	fc := &dateFmtCache{m: map[string]*datePattern{}}
	loc := time.UTC
	if s != nil && s.sh != nil && s.sh.Loc != nil {
		loc = s.sh.Loc
	}
	return []fn{
		{name: "from_unixtime", body: fc.fromUnixtime(loc), types: []any{sig1, sig2}},
		{name: "unix_timestamp", body: fc.unixTimestamp(loc), types: []any{sigN}},
		{name: "to_date", body: dtToDate, types: []any{sig1}},
		{name: "date_format", body: fc.dateFormat, types: []any{sig2}},
		{name: "date_add", body: dtDateAddFn("date_add", 1), types: []any{sig2}},
		{name: "date_sub", body: dtDateAddFn("date_sub", -1), types: []any{sig2}},
		{name: "datediff", body: dtDateDiff, types: []any{sig2}},
		{name: "year", body: dtDatePart("year", func(t time.Time) int { return t.Year() }), types: []any{sig1}},
		{name: "quarter", body: dtDatePart("quarter", func(t time.Time) int { return (int(t.Month())-1)/3 + 1 }), types: []any{sig1}},
		{name: "month", body: dtDatePart("month", func(t time.Time) int { return int(t.Month()) }), types: []any{sig1}},
		{name: "day", body: dtDatePart("day", func(t time.Time) int { return t.Day() }), types: []any{sig1}},
		{name: "dayofmonth", body: dtDatePart("dayofmonth", func(t time.Time) int { return t.Day() }), types: []any{sig1}},
		{name: "dayofweek", body: dtDatePart("dayofweek", func(t time.Time) int { return int(t.Weekday()) + 1 }), types: []any{sig1}},
		{name: "weekofyear", body: dtDatePart("weekofyear", func(t time.Time) int { _, w := t.ISOWeek(); return w }), types: []any{sig1}},
		{name: "hour", body: dtTimePart("hour", func(t time.Time) int { return t.Hour() }), types: []any{sig1}},
		{name: "minute", body: dtTimePart("minute", func(t time.Time) int { return t.Minute() }), types: []any{sig1}},
		{name: "second", body: dtTimePart("second", func(t time.Time) int { return t.Second() }), types: []any{sig1}},
		{name: "last_day", body: dtLastDay, types: []any{sig1}},
		{name: "add_months", body: fc.addMonths, types: []any{sig2, sig3}},
		{name: "months_between", body: dtMonthsBetween, types: []any{sig2, sig3}},
		{name: "trunc", body: dtTrunc, types: []any{sig1, sig2}},
	}
}

// hiveDefaultTimestamp is the default pattern of from_unixtime and
// unix_timestamp.
const hiveDefaultTimestamp = "yyyy-MM-dd HH:mm:ss"

// ---- reading dates and timestamps -------------------------------------

// dtJavaTrim is String.trim: it drops every char <= ' ' at both ends.
func dtJavaTrim(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// dtDigits reads between min and max decimal dtDigits at s[i:].
func dtDigits(s string, i, min, max int) (v, next int, ok bool) {
	j := i
	for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
		v = v*10 + int(s[j]-'0')
		j++
	}
	return v, j, j-i >= min
}

func dtIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// dtScanDate reads y-M-d at the start of s (already trimmed) and checks it
// is a real date; it returns the rest's index.
func dtScanDate(s string) (time.Time, int, bool) {
	y, i, ok := dtDigits(s, 0, 1, 4)
	if !ok || i >= len(s) || s[i] != '-' {
		return time.Time{}, 0, false
	}
	m, i, ok := dtDigits(s, i+1, 1, 2)
	if !ok || i >= len(s) || s[i] != '-' {
		return time.Time{}, 0, false
	}
	d, i, ok := dtDigits(s, i+1, 1, 2)
	if !ok || m < 1 || m > 12 || d < 1 || d > dtDaysIn(y, time.Month(m)) {
		return time.Time{}, 0, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), i, true
}

func dtDaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dtParseDate reads a date argument (Hive's Date.valueOf, see above).
func dtParseDate(v any) (time.Time, bool) {
	s, ok := str(v)
	if !ok {
		return time.Time{}, false
	}
	s = dtJavaTrim(s)
	t, i, ok := dtScanDate(s)
	if !ok || (i < len(s) && dtIsDigit(s[i])) {
		return time.Time{}, false
	}
	return t, true
}

// dtParseTimestamp reads a timestamp argument (Hive's Timestamp.valueOf).
func dtParseTimestamp(v any) (time.Time, bool) {
	s, ok := str(v)
	if !ok {
		return time.Time{}, false
	}
	s = dtJavaTrim(s)
	t, i, ok := dtScanDate(s)
	if !ok {
		return time.Time{}, false
	}
	if i == len(s) {
		return t, true
	}
	if s[i] != ' ' && s[i] != 'T' {
		return time.Time{}, false
	}
	h, mi, sec, ns, ok := dtScanClock(s[i+1:], s[i] == 'T')
	if !ok {
		return time.Time{}, false
	}
	return t.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ns)), true
}

// dtScanClock reads all of s as H:m:s[.fffffffff] (1-2 digit fields), or,
// iso, as ISO's HH:mm[:ss[.f]].
func dtScanClock(s string, iso bool) (h, m, sec, ns int, ok bool) {
	lo := 1
	if iso {
		lo = 2
	}
	h, i, ok := dtDigits(s, 0, lo, 2)
	if !ok || i >= len(s) || s[i] != ':' {
		return 0, 0, 0, 0, false
	}
	m, i, ok = dtDigits(s, i+1, lo, 2)
	if !ok {
		return 0, 0, 0, 0, false
	}
	if i < len(s) || !iso {
		if i >= len(s) || s[i] != ':' {
			return 0, 0, 0, 0, false
		}
		if sec, i, ok = dtDigits(s, i+1, lo, 2); !ok {
			return 0, 0, 0, 0, false
		}
	}
	if i < len(s) && s[i] == '.' {
		var f, j int
		lo := 1
		if iso {
			lo = 0
		}
		if f, j, ok = dtDigits(s, i+1, lo, 9); !ok {
			return 0, 0, 0, 0, false
		}
		for k := j - i - 1; k < 9; k++ {
			f *= 10
		}
		ns, i = f, j
	}
	if i != len(s) || h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, 0, false
	}
	return h, m, sec, ns, true
}

// dtParseDateTime reads a timestamp, else a date (date_format and
// months_between try both, as Hive's do).
func dtParseDateTime(v any) (time.Time, bool) {
	if t, ok := dtParseTimestamp(v); ok {
		return t, true
	}
	return dtParseDate(v)
}

// dtParseTimeOfDay reads a timestamp, or a bare ISO time ('12:58:59'), which
// Hive's hour, minute and second also take.
func dtParseTimeOfDay(v any) (time.Time, bool) {
	if t, ok := dtParseTimestamp(v); ok {
		return t, true
	}
	s, ok := str(v)
	if !ok {
		return time.Time{}, false
	}
	h, m, sec, ns, ok := dtScanClock(dtJavaTrim(s), true)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(1970, 1, 1, h, m, sec, ns, time.UTC), true
}

func dtFmtDate(t time.Time) string { return t.Format("2006-01-02") }

// ---- the functions ----------------------------------------------------

func dtToDate(args ...any) (any, error) {
	if err := arity("to_date", args, 1, 1); err != nil {
		return nil, err
	}
	t, ok := dtParseDate(args[0])
	if !ok {
		return nil, nil
	}
	return dtFmtDate(t), nil
}

// dtDateAddFn is date_add (sign 1) and date_sub (sign -1).
func dtDateAddFn(name string, sign int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		t, ok := dtParseDate(args[0])
		if !ok {
			return nil, nil
		}
		n, ok := toInt(args[1])
		if !ok {
			return nil, nil
		}
		return dtFmtDate(t.AddDate(0, 0, sign*n)), nil
	}
}

func dtDateDiff(args ...any) (any, error) {
	if err := arity("datediff", args, 2, 2); err != nil {
		return nil, err
	}
	a, ok := dtParseDate(args[0])
	if !ok {
		return nil, nil
	}
	b, ok := dtParseDate(args[1])
	if !ok {
		return nil, nil
	}
	return int(a.Unix()/86400 - b.Unix()/86400), nil
}

func dtDatePart(name string, f func(time.Time) int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		t, ok := dtParseDate(args[0])
		if !ok {
			return nil, nil
		}
		return f(t), nil
	}
}

func dtTimePart(name string, f func(time.Time) int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		t, ok := dtParseTimeOfDay(args[0])
		if !ok {
			return nil, nil
		}
		return f(t), nil
	}
}

func dtLastDay(args ...any) (any, error) {
	if err := arity("last_day", args, 1, 1); err != nil {
		return nil, err
	}
	t, ok := dtParseDate(args[0])
	if !ok {
		return nil, nil
	}
	return dtFmtDate(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC)), nil
}

// addMonths is Hive's add_months(start, n[, fmt]): the day is kept, or
// clamped to the end of the target month; a start on its month's last day
// gives the target month's last day.
func (fc *dateFmtCache) addMonths(args ...any) (any, error) {
	if err := arity("add_months", args, 2, 3); err != nil {
		return nil, err
	}
	t, ok := dtParseDate(args[0])
	if !ok {
		return nil, nil
	}
	n, ok := toInt(args[1])
	if !ok {
		return nil, nil
	}
	y, m := t.Year(), int(t.Month())-1+n
	y, m = y+dtFloorDiv(m, 12), m-12*dtFloorDiv(m, 12)+1
	last := dtDaysIn(y, time.Month(m))
	d := t.Day()
	if d > last || d == dtDaysIn(t.Year(), t.Month()) {
		d = last
	}
	r := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if len(args) == 3 {
		f, ok := str(args[2])
		if !ok {
			return nil, nil
		}
		p, err := fc.get("add_months", f)
		if err != nil {
			return nil, err
		}
		return p.format(r), nil
	}
	return dtFmtDate(r), nil
}

func dtFloorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// dtMonthsBetween is Hive's months_between(d1, d2[, round]): whole months
// when both days of month are equal or both are month ends, else the
// remainder counted in 31-day months from the day and time of day,
// rounded half up to 8 places unless round is false.
func dtMonthsBetween(args ...any) (any, error) {
	if err := arity("months_between", args, 2, 3); err != nil {
		return nil, err
	}
	a, ok := dtParseDateTime(args[0])
	if !ok {
		return nil, nil
	}
	b, ok := dtParseDateTime(args[1])
	if !ok {
		return nil, nil
	}
	round := true
	if len(args) == 3 {
		r, ok := args[2].(bool)
		if !ok {
			if args[2] == nil {
				return nil, nil
			}
			return nil, fmt.Errorf("months_between: the third argument is a boolean (round to 8 places), got %T", args[2])
		}
		round = r
	}
	months := (a.Year()-b.Year())*12 + int(a.Month()) - int(b.Month())
	if a.Day() == b.Day() || (a.Day() == dtDaysIn(a.Year(), a.Month()) && b.Day() == dtDaysIn(b.Year(), b.Month())) {
		return float64(months), nil
	}
	sec := func(t time.Time) int { return t.Day()*86400 + t.Hour()*3600 + t.Minute()*60 + t.Second() }
	r := float64(months) + float64(sec(a)-sec(b))/2678400
	if round {
		r = dtRoundHalfUp8(r)
	}
	return r, nil
}

// dtRoundHalfUp8 is BigDecimal.valueOf(x).setScale(8, HALF_UP): x's
// shortest decimal form rounded half away from zero.
func dtRoundHalfUp8(x float64) float64 {
	d, ok := new(big.Float).SetPrec(0).SetString(fmt.Sprint(x))
	if !ok {
		return x
	}
	r, _ := new(big.Rat).SetString(d.Text('f', -1))
	r.Mul(r, big.NewRat(100000000, 1))
	neg := r.Sign() < 0
	r.Abs(r)
	q := new(big.Int).Quo(r.Num(), r.Denom())
	rem := new(big.Rat).Sub(r, new(big.Rat).SetInt(q))
	if rem.Cmp(big.NewRat(1, 2)) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	out, _ := new(big.Rat).SetFrac(q, big.NewInt(100000000)).Float64()
	if neg {
		out = -out
	}
	return out
}

// trunc is Hive's trunc: trunc(date, fmt) gives the first day of the
// month ('MONTH', 'MON', 'MM'), quarter ('QUARTER', 'Q') or year ('YEAR',
// 'YYYY', 'YY'), NULL for another fmt; trunc(number[, scale]) truncates a
// number towards zero.
func dtTrunc(args ...any) (any, error) {
	if err := arity("trunc", args, 1, 2); err != nil {
		return nil, err
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case int, int64, int32, float64:
		scale := 0
		if len(args) == 2 {
			s, ok := toInt(args[1])
			if !ok {
				return nil, nil
			}
			scale = s
		}
		return dtTruncNumber(x, scale), nil
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("trunc of a date needs a format: trunc(date, 'MM')")
	}
	t, ok := dtParseDate(args[0])
	if !ok {
		return nil, nil
	}
	f, ok := str(args[1])
	if !ok {
		return nil, nil
	}
	switch f {
	case "MONTH", "MON", "MM":
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "QUARTER", "Q":
		t = time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	case "YEAR", "YYYY", "YY":
		t = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		return nil, nil
	}
	return dtFmtDate(t), nil
}

func dtTruncNumber(v any, scale int) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return x
		}
		f := new(big.Float).SetPrec(1024).SetFloat64(x)
		p := new(big.Float).SetPrec(1024).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil))
		if scale >= 0 {
			i, _ := f.Mul(f, p).Int(nil)
			r, _ := new(big.Rat).SetFrac(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).Float64()
			return r
		}
		i, _ := f.Quo(f, p).Int(nil)
		r, _ := new(big.Float).SetInt(i.Mul(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))).Float64()
		return r
	default:
		n, _ := toInt(x)
		if scale >= 0 {
			return n
		}
		if scale < -18 {
			return 0
		}
		p := int(math.Pow10(-scale))
		return n / p * p
	}
}

// ---- the format functions ---------------------------------------------

// dateFmtCache holds a set's compiled patterns.
type dateFmtCache struct {
	m        map[string]*datePattern
	lastKey  string
	lastPatt *datePattern
}

func (fc *dateFmtCache) get(fn, pattern string) (*datePattern, error) {
	if fc.lastPatt != nil && pattern == fc.lastKey {
		return fc.lastPatt, nil
	}
	p, ok := fc.m[pattern]
	if !ok {
		var err error
		if p, err = compileDatePattern(pattern); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		if len(fc.m) > 256 {
			clear(fc.m)
		}
		fc.m[pattern] = p
	}
	fc.lastKey, fc.lastPatt = pattern, p
	return p, nil
}

// CheckDatePattern reports whether a SimpleDateFormat pattern is one the
// date functions (from_unixtime, unix_timestamp, date_format) know.
func CheckDatePattern(pattern string) error {
	_, err := compileDatePattern(pattern)
	return err
}

// optional is the pattern at args[i], Hive's default timestamp pattern
// when absent; null is set when it is NULL.
func (fc *dateFmtCache) optional(name string, args []any, i int) (p *datePattern, null bool, err error) {
	pattern := hiveDefaultTimestamp
	if len(args) > i {
		f, ok := str(args[i])
		if !ok {
			return nil, true, nil
		}
		pattern = f
	}
	p, err = fc.get(name, pattern)
	return p, false, err
}

// fromUnixtime is Hive's from_unixtime(seconds[, fmt]): the instant in the
// configured zone, formatted (default 'yyyy-MM-dd HH:mm:ss').
func (fc *dateFmtCache) fromUnixtime(loc *time.Location) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity("from_unixtime", args, 1, 2); err != nil {
			return nil, err
		}
		p, null, err := fc.optional("from_unixtime", args, 1)
		if err != nil || null {
			return nil, err
		}
		n, ok := dtUnixSeconds(args[0])
		if !ok {
			return nil, nil
		}
		return p.format(time.Unix(int64(n), 0).In(loc)), nil
	}
}

// dtUnixSeconds reads from_unixtime's bigint argument; a double is cut to
// its whole part, text that is no integer is NULL.
func dtUnixSeconds(v any) (int, bool) {
	if f, ok := v.(float64); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return int(f), true
	}
	return toInt(v)
}

// unixTimestamp is Hive's unix_timestamp(text[, fmt]): the text parsed
// leniently (as SimpleDateFormat does) in the configured zone, in seconds;
// text that does not parse is NULL. Without arguments Hive gives the
// current time, which a reproducible transform refuses.
func (fc *dateFmtCache) unixTimestamp(loc *time.Location) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("unix_timestamp() without arguments is the current time: not allowed in a reproducible transform; pass a column")
		}
		if err := arity("unix_timestamp", args, 1, 2); err != nil {
			return nil, err
		}
		p, null, err := fc.optional("unix_timestamp", args, 1)
		if err != nil || null {
			return nil, err
		}
		s, ok := str(args[0])
		if !ok {
			return nil, nil
		}
		t, ok := p.parse(s, loc)
		if !ok {
			return nil, nil
		}
		return int(t.UnixMilli() / 1000), nil
	}
}

// dateFormat is Hive's date_format(date/timestamp, fmt) on the wall-clock
// value (no zone shift).
func (fc *dateFmtCache) dateFormat(args ...any) (any, error) {
	if err := arity("date_format", args, 2, 2); err != nil {
		return nil, err
	}
	f, ok := str(args[1])
	if !ok {
		return nil, nil
	}
	p, err := fc.get("date_format", f)
	if err != nil {
		return nil, err
	}
	t, ok := dtParseDateTime(args[0])
	if !ok {
		return nil, nil
	}
	return p.format(t), nil
}

// ---- SimpleDateFormat patterns ----------------------------------------

// dateField is one piece of a pattern: a run of one letter, or literal
// text (letter 0).
type dateField struct {
	letter byte
	n      int
	lit    string
}

type datePattern struct{ fields []dateField }

// datePatternLetters are the SimpleDateFormat letters chama knows.
var datePatternLetters = map[byte]string{
	'y': "year", 'M': "month", 'd': "day of month", 'H': "hour 0-23", 'h': "hour 1-12",
	'k': "hour 1-24", 'K': "hour 0-11", 'm': "minute", 's': "second", 'S': "millisecond",
	'E': "day name", 'a': "AM/PM", 'D': "day of year",
}

// compileDatePattern splits a SimpleDateFormat pattern. Letters a-z and
// A-Z are fields, text in '...' is literal (” is a quote), anything else
// is literal. A letter chama does not know is an error naming it.
func compileDatePattern(p string) (*datePattern, error) {
	var out []dateField
	lit := func(s string) {
		if n := len(out); n > 0 && out[n-1].letter == 0 {
			out[n-1].lit += s
			return
		}
		out = append(out, dateField{lit: s})
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				lit("'")
				i += 2
				continue
			}
			j := i + 1
			var b strings.Builder
			for {
				if j >= len(p) {
					return nil, fmt.Errorf("unterminated quote in date pattern %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(p[j])
				j++
			}
			if b.Len() > 0 {
				lit(b.String())
			}
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			if _, ok := datePatternLetters[c]; !ok {
				return nil, fmt.Errorf("date pattern %q: letter %q is not supported (known: y M d H h k K m s S E a D; quote literal text with '...')", p, string(c))
			}
			out = append(out, dateField{letter: c, n: j - i})
			i = j
		default:
			j := i + 1
			for j < len(p) && p[j] != '\'' && !(p[j] >= 'a' && p[j] <= 'z' || p[j] >= 'A' && p[j] <= 'Z') {
				j++
			}
			lit(p[i:j])
			i = j
		}
	}
	return &datePattern{fields: out}, nil
}

var (
	dtMonthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dtDayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func dtPad(b []byte, v, n int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	tmp[i] = byte('0' + v)
	for k := len(tmp) - i; k < n; k++ {
		b = append(b, '0')
	}
	return append(b, tmp[i:]...)
}

// format writes t's wall clock as SimpleDateFormat does.
func (p *datePattern) format(t time.Time) string {
	b := make([]byte, 0, 32)
	for _, f := range p.fields {
		switch f.letter {
		case 0:
			b = append(b, f.lit...)
		case 'y':
			if f.n == 2 {
				b = dtPad(b, t.Year()%100, 2)
			} else {
				b = dtPad(b, t.Year(), f.n)
			}
		case 'M':
			switch {
			case f.n >= 4:
				b = append(b, dtMonthNames[t.Month()-1]...)
			case f.n == 3:
				b = append(b, dtMonthNames[t.Month()-1][:3]...)
			default:
				b = dtPad(b, int(t.Month()), f.n)
			}
		case 'd':
			b = dtPad(b, t.Day(), f.n)
		case 'H':
			b = dtPad(b, t.Hour(), f.n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = dtPad(b, h, f.n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = dtPad(b, h, f.n)
		case 'K':
			b = dtPad(b, t.Hour()%12, f.n)
		case 'm':
			b = dtPad(b, t.Minute(), f.n)
		case 's':
			b = dtPad(b, t.Second(), f.n)
		case 'S':
			b = dtPad(b, t.Nanosecond()/1e6, f.n)
		case 'E':
			if f.n >= 4 {
				b = append(b, dtDayNames[t.Weekday()]...)
			} else {
				b = append(b, dtDayNames[t.Weekday()][:3]...)
			}
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'D':
			b = dtPad(b, t.YearDay(), f.n)
		}
	}
	return string(b)
}

func dtIsNumericField(f dateField) bool {
	switch f.letter {
	case 0, 'E', 'a':
		return false
	case 'M':
		return f.n <= 2
	}
	return true
}

// parse reads s leniently as SimpleDateFormat.parse does: a numeric field
// takes all its dtDigits (exactly n when the next field is numeric too, as
// in yyyyMMdd), leading blanks before a number are skipped, names match
// without case, text after the pattern is ignored, and out-of-range
// values roll over (month 13 is next January). Missing fields are
// 1970-01-01 00:00:00.
func (p *datePattern) parse(s string, loc *time.Location) (time.Time, bool) {
	y, mo, d, h, mi, sec, ms := 1970, 1, 1, 0, 0, 0, 0
	doy, pm, h12 := -1, -1, -1
	i := 0
	for k, f := range p.fields {
		if f.letter == 0 {
			if !strings.HasPrefix(s[i:], f.lit) {
				return time.Time{}, false
			}
			i += len(f.lit)
			continue
		}
		if dtIsNumericField(f) {
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			max := 10
			if k+1 < len(p.fields) && dtIsNumericField(p.fields[k+1]) {
				max = f.n
			}
			v, j, ok := dtDigits(s, i, 1, max)
			if !ok {
				return time.Time{}, false
			}
			n := j - i
			i = j
			switch f.letter {
			case 'y':
				if f.n <= 2 && n == 2 {
					v = dtTwoDigitYear(v)
				}
				y = v
			case 'M':
				mo = v
			case 'd':
				d = v
			case 'H':
				h, h12 = v, -1
			case 'k':
				if v == 24 {
					v = 0
				}
				h, h12 = v, -1
			case 'h':
				if v == 12 {
					v = 0
				}
				h12 = v
			case 'K':
				h12 = v
			case 'm':
				mi = v
			case 's':
				sec = v
			case 'S':
				ms = v
			case 'D':
				doy = v
			}
			continue
		}
		switch f.letter {
		case 'M':
			v, n := dtMatchName(s[i:], dtMonthNames)
			if n == 0 {
				return time.Time{}, false
			}
			mo, i = v+1, i+n
		case 'E':
			_, n := dtMatchName(s[i:], dtDayNames)
			if n == 0 {
				return time.Time{}, false
			}
			i += n
		case 'a':
			v, n := dtMatchName(s[i:], []string{"AM", "PM"})
			if n == 0 {
				return time.Time{}, false
			}
			pm, i = v, i+n
		}
	}
	if h12 >= 0 {
		h = h12
		if pm == 1 {
			h += 12
		}
	}
	if doy >= 0 {
		mo, d = 1, doy
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ms*1e6, loc), true
}

// dtMatchName matches a full name or its three-letter form, without case.
func dtMatchName(s string, names []string) (int, int) {
	for i, n := range names {
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, len(n)
		}
	}
	for i, n := range names {
		if len(n) > 3 && len(s) >= 3 && strings.EqualFold(s[:3], n[:3]) {
			return i, 3
		}
	}
	return 0, 0
}

// dtTwoDigitYear places a 2-digit year in the century that starts 80 years
// before now, as SimpleDateFormat does.
func dtTwoDigitYear(v int) int {
	start := time.Now().Year() - 80
	y := start/100*100 + v
	if y < start {
		y += 100
	}
	return y
}
