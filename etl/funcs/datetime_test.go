package funcs

import (
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

func shanghaiSet(t *testing.T) *Set {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return (&Shared{Loc: loc}).NewSet()
}

func TestDateFuncs(t *testing.T) {
	s := shanghaiSet(t)
	runCases(t, s, []fcase{
		// from_unixtime
		{`from_unixtime(0)`, nil, "1970-01-01 08:00:00"},
		{`from_unixtime(x)`, x(1237519801), "2009-03-20 11:30:01"},
		{`from_unixtime(x, "yyyyMMdd")`, x(1323308943), "20111208"},
		{`from_unixtime(x, "yyyy-MM-dd'T'HH:mm:ss.SSS")`, x(0), "1970-01-01T08:00:00.000"},
		{`from_unixtime(x, "yy/M/d h:m a EEE")`, x(1483000631), "16/12/29 4:37 PM Thu"},
		{`from_unixtime(x, "MMM MMMM EEEE D")`, x(1483000631), "Dec December Thursday 364"},
		{`from_unixtime(x, "'it''s' yyyy")`, x(0), "it's 1970"},
		{`from_unixtime(x)`, x(nil), nil},
		{`from_unixtime(x)`, x("abc"), nil},
		{`from_unixtime(x, nil)`, x(0), nil},
		// unix_timestamp
		{`unix_timestamp(x)`, x("2009-03-20 11:30:01"), 1237519801},
		{`unix_timestamp(x)`, x("2015-12-07"), nil},
		{`unix_timestamp(x)`, x("2015-12-07 13:01"), nil},
		{`unix_timestamp(x)`, x("2015-12-07 13:01:03.999 tail"), 1449464463},
		{`unix_timestamp(x, "yyyy-MM-dd")`, x("2009-03-20"), 1237478400},
		{`unix_timestamp(x, "yyyyMMdd HH:mm:ss")`, x("20111207 13:01:03"), 1323234063},
		{`unix_timestamp(x, "yyyy-MM-dd")`, x("2009-02-30"), 1235923200}, // lenient: 2009-03-02
		{`unix_timestamp(x, "yyyy-MM-dd")`, x("2009-3-2"), 1235923200},
		{`unix_timestamp(x, "dd/MMM/yyyy:HH:mm:ss")`, x("10/Oct/2000:13:55:36"), 971157336},
		{`unix_timestamp(x)`, x(nil), nil},
		{`unix_timestamp(x, "yyyy")`, x("abc"), nil},
		// to_date and friends
		{`to_date(x)`, x("2009-07-30 04:17:52"), "2009-07-30"},
		{`to_date(x)`, x(" 2009-7-3 "), "2009-07-03"},
		{`to_date(x)`, x("2009-02-29"), nil},
		{`to_date(x)`, x("2009-07-300"), nil},
		{`to_date(x)`, x("garbage"), nil},
		{`date_add(x, 1)`, x("2008-12-31"), "2009-01-01"},
		{`date_add(x, -1)`, x("2024-03-01 10:00:00"), "2024-02-29"},
		{`date_sub(x, 1)`, x("2008-12-31"), "2008-12-30"},
		{`date_add(x, nil)`, x("2008-12-31"), nil},
		{`datediff(x, "2009-03-01")`, x("2009-03-02"), 1},
		{`datediff("2009-02-27", x)`, x("2009-03-01 23:59:59"), -2},
		{`datediff(x, "1700-01-01")`, x("2300-01-01"), 219145},
		{`year(x)`, x("1970-01-01 00:00:00"), 1970},
		{`month(x)`, x("2011-08-08"), 8},
		{`day(x)`, x("2011-12-24"), 24},
		{`dayofmonth(x)`, x("2011-12-24 10:00:00"), 24},
		{`quarter(x)`, x("2015-04-08"), 2},
		{`dayofweek(x)`, x("2024-12-12"), 5},
		{`hour(x)`, x("2009-07-30 12:58:59"), 12},
		{`hour(x)`, x("12:58:59"), 12},
		{`minute(x)`, x("2009-07-30 12:58:59"), 58},
		{`second(x)`, x("2009-07-30 12:58:59.5"), 59},
		{`hour(x)`, x("2009-07-30 24:00:00"), nil},
		{`weekofyear(x)`, x("2008-02-20"), 8},
		{`weekofyear(x)`, x("1980-12-31 12:59:59"), 1},
		{`last_day(x)`, x("2024-02-10"), "2024-02-29"},
		{`last_day(x)`, x("2023-02-10 01:02:03"), "2023-02-28"},
		{`add_months(x, 1)`, x("2009-08-31"), "2009-09-30"},
		{`add_months(x, 1)`, x("2009-02-28"), "2009-03-31"},
		{`add_months(x, -13)`, x("2024-01-15"), "2022-12-15"},
		{`add_months(x, 2, "yyyyMMdd")`, x("2024-01-15"), "20240315"},
		{`months_between(x, "1996-10-30")`, x("1997-02-28 10:30:00"), 3.94959677},
		{`months_between(x, "2024-01-31")`, x("2024-02-29"), 1.0},
		{`months_between(x, "2024-03-15")`, x("2024-01-15"), -2.0},
		{`trunc(x, "MM")`, x("2015-03-17 15:00:00"), "2015-03-01"},
		{`trunc(x, "YEAR")`, x("2015-03-17"), "2015-01-01"},
		{`trunc(x, "Q")`, x("2015-08-17"), "2015-07-01"},
		{`trunc(x, "mm")`, x("2015-03-17"), nil},
		{`trunc(x, 1)`, x(1.99), 1.9},
		{`trunc(x, -2)`, x(1234), 1200},
		{`date_format(x, "y")`, x("2015-04-08"), "2015"},
		{`date_format(x, "yyyy-MM-dd HH:mm:ss.SSS")`, x("2015-04-08 10:30:45.123456"), "2015-04-08 10:30:45.123"},
		{`date_format(x, "EEEE")`, x("2024-02-29"), "Thursday"},
		{`date_format(x, "yyyy")`, x("bad"), nil},
	})
}

func TestDatePatternErrors(t *testing.T) {
	s := shanghaiSet(t)
	for _, c := range []struct{ code, want string }{
		{`from_unixtime(0, "yyyy-MM-dd Q")`, `letter "Q"`},
		{`date_format("2024-01-01", "yyyy-ww")`, `letter "w"`},
		{`unix_timestamp("x", "'open")`, "unterminated quote"},
		{`unix_timestamp()`, "not allowed in a reproducible transform"},
	} {
		p, err := expr.Compile(c.code, s.Options()...)
		if err != nil {
			t.Fatalf("compile %s: %v", c.code, err)
		}
		_, err = expr.Run(p, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.code, err, c.want)
		}
	}
	if err := CheckDatePattern("yyyy-MM-dd'T'HH:mm:ss.SSS"); err != nil {
		t.Error(err)
	}
}

func TestDatePatternCacheAndUTC(t *testing.T) {
	s := newSet() // no zone: UTC
	runCases(t, s, []fcase{
		{`from_unixtime(0)`, nil, "1970-01-01 00:00:00"},
		{`unix_timestamp("1970-01-02 00:00:00")`, nil, 86400},
		{`from_unixtime(86400, "yyyy")`, nil, "1970"},
		{`from_unixtime(86400, "yyyy")`, nil, "1970"},
	})
}
