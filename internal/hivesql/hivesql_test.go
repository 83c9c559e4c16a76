package hivesql

import (
	"reflect"
	"strings"
	"testing"

	"github.com/chama-data/chama/etl/funcs"
)

// TestTranslateExpr: each supported construct, as the one output column
// of `SELECT <sql> AS x FROM t`, and the expr string it becomes.
func TestTranslateExpr(t *testing.T) {
	set := (&funcs.Shared{}).NewSet()
	for _, c := range []struct{ sql, want string }{
		{`a`, `a`},
		{`t.a`, `a`},
		{"`a`", `a`},
		{`'x'`, `"x"`},
		{`"x"`, `"x"`},
		{`'it''s "q" \\ \t'`, `"it's \"q\" \\ \t"`},
		{`12`, `12`},
		{`1.5`, `1.5`},
		{`NULL`, `nil`},
		{`true`, `true`},
		{`a = 1`, `a == 1`},
		{`a <> 1`, `a != 1`},
		{`a != 1`, `a != 1`},
		{`a < 1`, `a < 1`},
		{`a <= 1`, `a <= 1`},
		{`a > 1`, `a > 1`},
		{`a >= 1`, `a >= 1`},
		{`a + b * 2`, `a + (b * 2)`},
		{`(a + b) * 2`, `(a + b) * 2`},
		{`a - b / 2 % 3`, `a - ((b / 2) % 3)`},
		{`-a`, `-a`},
		{`- -a`, `-(-a)`},
		{`NOT NOT a`, `!!a`},
		{`a = 1 AND b = 2 OR NOT c = 3`, `((a == 1) && (b == 2)) || !(c == 3)`},
		{`a && b`, `a && b`},
		{`NOT a * 2 > 1`, `!((a * 2) > 1)`},
		{`a IN ('x', 'y')`, `a in ["x", "y"]`},
		{`a NOT IN (1, 2)`, `!(a in [1, 2])`},
		{`a IS NULL`, `is_null(a)`},
		{`a IS NOT NULL`, `!is_null(a)`},
		{`isnull(a)`, `is_null(a)`},
		{`isnotnull(a)`, `!is_null(a)`},
		{`a LIKE 'x%'`, `like(a, "x%")`},
		{`a NOT LIKE 'x%'`, `!like(a, "x%")`},
		{`a RLIKE '^\\d+$'`, `regexp_like(a, "^\\d+$")`},
		{`a REGEXP 'x'`, `regexp_like(a, "x")`},
		{`a NOT RLIKE 'x'`, `!regexp_like(a, "x")`},
		{`NOT a RLIKE 'x'`, `!regexp_like(a, "x")`},
		{`a BETWEEN 1 AND 2`, `a >= 1 && a <= 2`},
		{`a NOT BETWEEN 1 AND 2`, `!(a >= 1 && a <= 2)`},
		{`CASE WHEN a = 1 THEN 'x' WHEN a IS NULL THEN NULL ELSE 'z' END`, `(a == 1) ? "x" : ((is_null(a)) ? nil : "z")`},
		{`CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END`, `(a == 1) ? "one" : ((a == 2) ? "two" : nil)`},
		{`CASE WHEN a > 0 THEN a + 1 ELSE b * 2 END`, `(a > 0) ? (a + 1) : (b * 2)`},
		{`IF(a = 1, 'y', 'n')`, `if(a == 1, "y", "n")`},
		{`CAST(a AS INT)`, `int(a)`},
		{`cast(a as integer)`, `int(a)`},
		{`CAST(a AS BIGINT)`, `bigint(a)`},
		{`CAST(a AS DOUBLE)`, `double(a)`},
		{`CAST(a AS STRING)`, `string(a)`},
		{`CAST(a AS BOOLEAN)`, `boolean(a)`},
		{`cast(cast(a as int) as string)`, `string(int(a))`},
		{`CONCAT(a, '-', UPPER(b))`, `concat(a, "-", upper(b))`},
		{`get_json_object(a, '$.WT_es')`, `get_json_object(a, "$.WT_es")`},
		{`substr(a, 1, 2)`, `substr(a, 1, 2)`},
		{`substring(a, 2)`, `substr(a, 2)`},
		{`trim(a)`, `trim(a)`},
		{`ltrim(a)`, `ltrim(a)`},
		{`rtrim(a)`, `rtrim(a)`},
		{`locate('x', a, 2)`, `locate("x", a, 2)`},
		{`regexp_like(a, 'x')`, `regexp_like(a, "x")`},
		{`regexp_replace(a, 'x', 'y')`, `regexp_replace(a, "x", "y")`},
		{`date_add(a, 1)`, `date_add(a, 1)`},
		{`DATE_SUB(a, 1)`, `date_sub(a, 1)`},
		{`no_such_fn(a)`, `no_such_fn(a)`},
	} {
		q, err := Translate("SELECT " + c.sql + " AS x FROM t")
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if len(q.Columns) != 1 || q.Columns[0].Expr != c.want {
			t.Errorf("%s:\n got %+v\nwant %s", c.sql, q.Columns, c.want)
			continue
		}
		// The translation is a valid chama expression.
		if _, err := set.Compile(c.want, []string{"a", "b", "c"}); err != nil && c.sql != "no_such_fn(a)" {
			t.Errorf("%s: %s does not compile: %v", c.sql, c.want, err)
		}
	}
}

// TestTranslateStatement: FROM, WHERE and the select list.
func TestTranslateStatement(t *testing.T) {
	q, err := Translate("SELECT *, e.event_id, mc_ev AS ev, e.*, nvl(os, '') AS os\n  FROM events e\n WHERE e.data_source_id IN ('3000101')")
	if err != nil {
		t.Fatal(err)
	}
	want := &Query{From: "events", Filter: `data_source_id in ["3000101"]`, Columns: []Column{
		{Star: true},
		{Name: "event_id", Expr: "event_id", Ref: true},
		{Name: "ev", Expr: "mc_ev", Ref: true},
		{Star: true},
		{Name: "os", Expr: `nvl(os, "")`},
	}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got %+v\nwant %+v", q, want)
	}
	q, err = Translate("select a from events where x = 1 -- note\n")
	if err != nil || q.From != "events" || q.Filter != "x == 1" {
		t.Errorf("got %+v, %v", q, err)
	}
}

// TestTranslateJoin: a dimension lookup, as a table or a subquery; its
// columns become dim_value calls on its keys.
func TestTranslateJoin(t *testing.T) {
	q, err := TranslateIn(`SELECT e.event_id, d.interface AS iface, upper(d.domain) AS dom
  FROM events e
  JOIN (SELECT DISTINCT domain, interface FROM dim_domain_interface_di WHERE interface = '51010') d
    ON e.domain = d.domain
 WHERE e.x = 1`, "ads.51010.")
	if err != nil {
		t.Fatal(err)
	}
	want := &Query{From: "events", Filter: "x == 1", Columns: []Column{
		{Name: "event_id", Expr: "event_id", Ref: true},
		{Name: "iface", Expr: `dim_value("ads.51010.d", "interface", domain)`},
		{Name: "dom", Expr: `upper(dim_value("ads.51010.d", "domain", domain))`},
	}, Joins: []Join{{Dim: "dim_domain_interface_di", Alias: "d", ID: "ads.51010.d", Keys: []Key{{Col: "domain", Expr: "domain"}},
		Where: `interface == "51010"`, Distinct: true, Project: []string{"domain", "interface"}}}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got  %+v\nwant %+v", q, want)
	}
	q, err = TranslateIn("SELECT E.id, D.v AS v, n FROM events e JOIN dim D ON e.k = d.k WHERE x = 1", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"n", "x"}; !reflect.DeepEqual(q.Bare, want) || q.Columns[1].Expr != `dim_value("D", "v", k)` {
		t.Errorf("case-insensitive aliases, bare names: %+v", q)
	}
	q, err = TranslateIn(`SELECT events.*, m.city FROM events LEFT OUTER JOIN mapping m ON lower(events.host) = m.host AND m.kind = 'a' AND m.on_ = 1
  JOIN regions ON regions.city = m.city AND regions.prov = events.prov`, "dwd.x.")
	if err != nil {
		t.Fatal(err)
	}
	want = &Query{From: "events", Columns: []Column{{Star: true}, {Name: "city", Expr: `dim_value("dwd.x.m", "city", lower(host))`}},
		Joins: []Join{
			{Dim: "mapping", Alias: "m", ID: "dwd.x.m", Left: true, Keys: []Key{{Col: "host", Expr: "lower(host)"}}, Where: `(kind == "a") && (on_ == 1)`},
			{Dim: "regions", Alias: "regions", ID: "dwd.x.regions", Keys: []Key{{Col: "city", Expr: `dim_value("dwd.x.m", "city", lower(host))`}, {Col: "prov", Expr: "prov"}}},
		}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got  %+v\nwant %+v", q, want)
	}
}

// TestTranslateRefused: each refusal, its message and its position.
func TestTranslateRefused(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SELECT a FROM t, d", "FROM a, b is a cross join, not supported: write JOIN ... ON (at 1:16)"},
		{"SELECT a FROM t RIGHT JOIN d ON t.x = d.x", "RIGHT JOIN is not supported (a dimension lookup is JOIN or LEFT JOIN, the dimension on the right) (at 1:17)"},
		{"SELECT a FROM t NATURAL JOIN d", "natural join is not supported (JOIN and LEFT JOIN ... ON are) (at 1:17)"},
		{"SELECT a FROM t CROSS JOIN d", "JOIN needs ON <table column> = d.<column> (a cross join is not supported) (at 1:23)"},
		{"SELECT a FROM t JOIN d USING (x)", "JOIN ... USING is not supported: write ON t.col = d.col (at 1:24)"},
		{"SELECT a FROM t JOIN d ON x = d.x", "qualify the columns of ON (t.col = d.col) in x = d.x (at 1:27)"},
		{"SELECT a FROM t JOIN d ON t.x > d.x", "ON t.x > d.x: a join compares a column of d with an expression over t (a key), or tests d's columns alone; move other conditions to WHERE (at 1:24)"},
		{"SELECT a FROM t JOIN d ON d.y = 'k'", "ON needs a key: t.<column> = d.<column> (at 1:24)"},
		{"SELECT a FROM t JOIN d ON t.x = d.x AND t.y = 1", "ON t.y = 1: a join compares a column of d with an expression over t (a key), or tests d's columns alone; move other conditions to WHERE (at 1:24)"},
		{"SELECT a FROM t e JOIN d e ON e.x = e.x", "e names two tables: give the join an alias (at 1:17)"},
		{"SELECT a FROM t JOIN (SELECT x FROM d) ON t.x = x", `syntax error near "ON" (at 1:40)`},
		{"SELECT a FROM t JOIN (SELECT upper(x) AS x FROM d) s ON t.x = s.x", "a joined subquery selects plain columns (upper(x) as x): compute in the outer SELECT (at 1:23)"},
		{"SELECT a FROM t JOIN (SELECT x FROM d GROUP BY x) s ON t.x = s.x", "a joined subquery is one SELECT [DISTINCT] col, ... FROM dim [WHERE ...]: no GROUP BY, ORDER BY, LIMIT or WITH (at 1:23)"},
		{"SELECT * FROM t JOIN d ON t.x = d.x", "with a JOIN, Hive's * includes the dimension's columns too: write t.* and name the dimension's columns (at 1:8)"},
		{"SELECT t.*, d.* FROM t JOIN d ON t.x = d.x", "d.*: name the dimension's columns (d.col AS name) (at 1:13)"},
		{"SELECT a FROM t JOIN (SELECT y FROM d) s ON t.x = s.x", "ON t.x = s.x: the subquery s does not select x (at 1:42)"},
		{"SELECT e.a FROM t e JOIN d d1 ON e.x = d1.x\n  JOIN d d2 ON e.x = d2.x AND e.n = 1", "ON e.n = 1: a join compares a column of d2 with an expression over e (a key), or tests d2's columns alone; move other conditions to WHERE (at 2:13)"},
		{"SELECT e.a FROM t e JOIN d d1 ON e.x = d1.x\n  JOIN d d2 ON e.x = d2.x AND x = 1", "qualify the columns of ON (e.col = d2.col) in x = 1 (at 2:31)"},
		{"SELECT e.a FROM t e LEFT JOIN d ON e.x = d.x AND e.n = 1", "ON e.n = 1: in a LEFT JOIN a condition on e keeps its rows with NULLs where it is false; chama's lookups do not support that (moving it to WHERE would drop those rows instead) (at 1:33)"},
		{"SELECT e.a FROM t e JOIN (SELECT k FROM d) s ON e.k = s.k AND s.v = 'x'", "s.v: the subquery s does not select v (at 1:63)"},
		{"SELECT e.a FROM t e JOIN (SELECT DISTINCT zz.k FROM d x) s ON e.k = s.k", "zz.k: the subquery reads x only (at 1:43)"},
		{"SELECT s.y AS y FROM t JOIN (SELECT x FROM d) s ON t.x = s.x", "s.y: the subquery s does not select y (at 1:8)"},
		{"SELECT a FROM t JOIN (SELECT x FROM d WHERE t.k = 1) s ON t.x = s.x", "t.k: only the dimension's own columns can be used here (at 1:15)"},
		{"SELECT upper(a) FROM t", "give the expression a name with AS: upper(a)"},
		{"SELECT a FROM t GROUP BY a", "GROUP BY is not supported (a layer maps rows one to one) (at 1:17)"},
		{"SELECT a FROM t HAVING a > 1", "HAVING is not supported (at 1:17)"},
		{"SELECT a FROM t\nORDER BY a", "ORDER BY is not supported (output order is input order) (at 2:1)"},
		{"SELECT a FROM t LIMIT 10", "LIMIT is not supported (at 1:17)"},
		{"SELECT DISTINCT a FROM t", "DISTINCT is not supported (at 1:8)"},
		{"SELECT a FROM t LATERAL VIEW explode(x) v AS y", "LATERAL VIEW is not supported (at 1:17)"},
		{"SELECT a FROM t UNION ALL SELECT a FROM u", "UNION is not supported: one SELECT per layer (at 1:17)"},
		{"WITH x AS (SELECT a FROM t) SELECT a FROM x", "WITH (common table expressions) is not supported (at 1:1)"},
		{"SELECT a FROM (SELECT a FROM t) s", "subqueries are not supported (but as a joined dimension) (at 1:16)"},
		{"SELECT a FROM t WHERE a IN (SELECT b FROM u)", "subqueries are not supported (at 1:29)"},
		{"SELECT a FROM t WHERE EXISTS (SELECT b FROM u)", "subqueries are not supported (at 1:31)"},
		{"SELECT row_number() OVER (PARTITION BY a) AS r FROM t", "window functions (OVER) are not supported (at 1:21)"},
		{"SELECT sum(a) OVER (PARTITION BY b) AS r FROM t", "window functions (OVER) are not supported (at 1:15)"},
		{"SELECT count(*) AS n FROM t", "aggregate function count(*) is not supported (a layer maps rows one to one)"},
		{"SELECT a || b AS c FROM t", "|| is string concatenation in Hive and OR in the parser: write concat(a, b) or OR (at 1:10)"},
		{"SELECT a[1] AS c FROM t", "[] is not supported in a SELECT: write get(list, i) or map_get(m, key) (at 1:9)"},
		{"SELECT CAST(a AS DECIMAL(10,2)) AS c FROM t", "CAST to DECIMAL(10, 2) is not supported (INT, BIGINT, DOUBLE, STRING, BOOLEAN are) (at 1:8)"},
		{"SELECT a DIV 2 AS c FROM t", "operator div is not supported (in a div 2)"},
		{"SELECT a <=> b AS c FROM t", "operator <=> is not supported (at 1:10)"},
		{"SELECT x.a FROM t e", "x is not the table of FROM (e) (at 1:8)"},
		{"SELECT a FROM db.t", "FROM db.t: name the table only (t) (at 1:14)"},
		{"SELECT 1 AS a", "FROM <table> is missing"},
		{"SELECT a, b AS a FROM t", "the select list names a twice"},
		{"SELECT a FROM t;", "one SELECT statement, without ; (at 1:16)"},
		{"SELECT a FROM t WHERE", "syntax error at the end of the statement (at 1:22)"},
		{"SELECT a FROM t\nWHERE a = = 1", "syntax error near \"=\" (at 2:11)"},
		{"SELECT CAST(a AS INT FROM t", `syntax error near "INT" (CAST takes INT, BIGINT, DOUBLE, STRING or BOOLEAN) (at 1:18)`},
		{"SELECT CAST(a AS INT) AS b, CAST(c AS STRING) AS d, e = = 1 AS f FROM t", `syntax error near "=" (at 1:57)`},
		{"SELECT a, * FROM t", `syntax error near "*" (at 1:11)`},
		{"INSERT INTO t VALUES (1)", "only a SELECT statement is supported (at 1:1)"},
		{"SELECT x'41' AS h FROM t", "literal X'41' is not supported (strings and numbers are)"},
	} {
		_, err := Translate(c.sql)
		if err == nil {
			t.Errorf("%s: no error, want %s", c.sql, c.want)
			continue
		}
		if got := err.Error(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", strings.ReplaceAll(c.sql, "\n", `\n`), got, c.want)
		}
	}
}
