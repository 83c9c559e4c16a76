// Package hivesql translates one Hive SELECT statement into chama's layer
// spec: the table it reads, its WHERE as a filter and its select list as
// named expressions, each an expr-lang string that etl/funcs.Compile
// compiles to Hive semantics like any expression written in YAML.
//
// The statement is parsed with vitess's MySQL parser
// (vitess.io/vitess/go/vt/sqlparser), whose SELECT syntax is Hive's for the
// subset chama supports (backticks, RLIKE/REGEXP, CASE, IF, BETWEEN, IN).
// Two Hive spellings MySQL's grammar lacks are rewritten before parsing,
// token by token, leaving everything else as written:
//
//   - CAST(x AS INT|BIGINT|STRING|BOOLEAN): MySQL casts to SIGNED or CHAR
//     only, so the type name becomes `CHAR CHARACTER SET chama_<type>`
//     and the translation reads the type back from that charset;
//   - date_add(d, n) and date_sub(d, n): MySQL wants an INTERVAL, so the
//     function name is backquoted, which makes it a plain function call.
//
// Positions in messages are those of the statement as written.
package hivesql

import (
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// Column is one entry of the select list: an output name and its expression.
type Column struct {
	Name string
	Expr string
	// Star marks a `*` (or `t.*`) entry: every column of the table, in
	// the table's order; Name and Expr are empty.
	Star bool
	// Ref marks a plain column reference (`col` or `col AS name`): Expr
	// is the column's name.
	Ref bool
}

// Query is a translated SELECT.
type Query struct {
	From    string   // the table after FROM
	Filter  string   // the WHERE condition ("" when absent)
	Columns []Column // the select list, in order
	Joins   []Join   // the dimension lookups, left to right
	// Bare are the column names written without a table, outside the
	// dimensions' own expressions (set when there are joins): Hive
	// resolves them against every table, so config checks that each is a
	// column of the FROM table and of no joined dimension.
	Bare []string
}

// Error is a statement that cannot be translated, with the 1-based line
// and column in the statement of the construct it names (0 when unknown).
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (at %d:%d)", e.Msg, e.Line, e.Col)
}

// token is one token of the statement as written.
type token struct {
	typ  int
	val  string // as the tokenizer gives it (unquoted)
	raw  string // as written
	pos  int    // byte offset in the statement
	next int    // offset just past it
}

// translator holds the statement and its tokens, for positions.
type translator struct {
	sql    string
	toks   []token
	alias  string // the FROM alias, or the table name
	table  string
	parser *sqlparser.Parser
	// idPrefix starts each join's lookup ID; joinList are the joins read
	// so far; dimNames, when set, are the qualifiers of a dimension-only
	// expression (ON's tests of the dim, a subquery's WHERE).
	idPrefix string
	joinList []*Join
	ready    map[string]bool // joins whose ON has been read, by alias
	dimNames []string
	// onJoin is the join whose ON is being read (its tests of the dim
	// may use only what a subquery selects); onIdx the token index of its
	// ON, for positions.
	onJoin *Join
	onIdx  int
	bare   map[string]bool
}

// Translate parses one SELECT statement and translates it.
func Translate(sql string) (*Query, error) { return TranslateIn(sql, "") }

// TranslateIn is Translate for a layer table whose lookups are named
// idPrefix+alias (config: "ads.51010.").
func TranslateIn(sql, idPrefix string) (*Query, error) {
	p, err := sqlparser.New(sqlparser.Options{})
	if err != nil {
		return nil, err
	}
	t := &translator{sql: sql, parser: p, idPrefix: idPrefix, ready: map[string]bool{}, bare: map[string]bool{}, onIdx: -1}
	t.tokenize()
	if err := t.refuseTokens(); err != nil {
		return nil, err
	}
	rewritten, edits := t.prepass()
	stmt, err := p.Parse(rewritten)
	if err != nil {
		return nil, t.parseError(err, edits)
	}
	return t.statement(stmt)
}

// tokenize scans the statement as written, keeping each token's offset.
func (t *translator) tokenize() {
	tk := t.parser.NewStringTokenizer(t.sql)
	for {
		start := tk.Pos
		typ, val := tk.Scan()
		if typ == 0 {
			return
		}
		end := tk.Pos
		// The scan began at the previous token's end: skip the blanks
		// and comments before this token.
		pos := start
		for pos < end && strings.ContainsRune(" \t\r\n", rune(t.sql[pos])) {
			pos++
		}
		for pos < end && (strings.HasPrefix(t.sql[pos:], "--") || strings.HasPrefix(t.sql[pos:], "#") || strings.HasPrefix(t.sql[pos:], "/*")) {
			if strings.HasPrefix(t.sql[pos:], "/*") {
				if i := strings.Index(t.sql[pos:], "*/"); i >= 0 {
					pos += i + 2
				} else {
					break
				}
			} else if i := strings.IndexByte(t.sql[pos:], '\n'); i >= 0 {
				pos += i + 1
			} else {
				break
			}
			for pos < end && strings.ContainsRune(" \t\r\n", rune(t.sql[pos])) {
				pos++
			}
		}
		if end > len(t.sql) {
			end = len(t.sql)
		}
		t.toks = append(t.toks, token{typ: typ, val: val, raw: t.sql[pos:end], pos: pos, next: end})
		if typ == sqlparser.LEX_ERROR {
			return
		}
	}
}

// lineCol is the 1-based line and column of a byte offset.
func (t *translator) lineCol(off int) (int, int) {
	off = min(max(off, 0), len(t.sql))
	before := t.sql[:off]
	line := strings.Count(before, "\n") + 1
	col := len([]rune(before[strings.LastIndexByte(before, '\n')+1:])) + 1
	return line, col
}

// errAt is an error at byte offset off (no position when off < 0).
func (t *translator) errAt(off int, format string, a ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, a...)}
	if off >= 0 {
		e.Line, e.Col = t.lineCol(off)
	}
	return e
}

// find is the offset of the first token written as one of words
// (case-insensitive) at or after token index from, or -1.
func (t *translator) find(from int, words ...string) int {
	for i := max(from, 0); i < len(t.toks); i++ {
		for _, w := range words {
			if strings.EqualFold(t.toks[i].raw, w) {
				return t.toks[i].pos
			}
		}
	}
	return -1
}

// findIdx is like find but returns the token index.
func (t *translator) findIdx(from int, words ...string) int {
	for i := max(from, 0); i < len(t.toks); i++ {
		for _, w := range words {
			if strings.EqualFold(t.toks[i].raw, w) {
				return i
			}
		}
	}
	return -1
}

// refuseTokens refuses the spellings whose MySQL meaning is not Hive's.
func (t *translator) refuseTokens() error {
	for _, k := range t.toks {
		switch k.raw {
		case "||":
			return t.errAt(k.pos, "|| is string concatenation in Hive and OR in the parser: write concat(a, b) or OR")
		case ";":
			return t.errAt(k.pos, "one SELECT statement, without ;")
		}
	}
	return nil
}

// hiveCasts are the Hive CAST types MySQL's grammar lacks, rewritten as a
// marker charset of CHAR.
var hiveCasts = map[string]string{"INT": "int", "INTEGER": "int", "BIGINT": "bigint", "STRING": "string", "BOOLEAN": "boolean"}

const castMark = "chama_"

// edit replaces the statement's bytes [pos, pos+n) with text.
type edit struct {
	pos, n int
	text   string
}

// prepass rewrites the Hive spellings MySQL's grammar lacks (see the
// package comment) and returns the text to parse with the edits made.
func (t *translator) prepass() (string, []edit) {
	var edits []edit
	for i, k := range t.toks {
		prev, next := "", ""
		if i > 0 {
			prev = t.toks[i-1].raw
		}
		if i+1 < len(t.toks) {
			next = t.toks[i+1].raw
		}
		if typ, ok := hiveCasts[strings.ToUpper(k.raw)]; ok && strings.EqualFold(prev, "as") && next == ")" {
			edits = append(edits, edit{k.pos, len(k.raw), "CHAR CHARACTER SET " + castMark + typ})
		}
		if (strings.EqualFold(k.raw, "date_add") || strings.EqualFold(k.raw, "date_sub")) && next == "(" {
			edits = append(edits, edit{k.pos, len(k.raw), "`" + strings.ToLower(k.raw) + "`"})
		}
	}
	var b strings.Builder
	at := 0
	for _, e := range edits {
		b.WriteString(t.sql[at:e.pos])
		b.WriteString(e.text)
		at = e.pos + e.n
	}
	b.WriteString(t.sql[at:])
	return b.String(), edits
}

// parseError rewrites vitess's "syntax error at position N near 'x'"
// with the line and column of the statement as written, and names the
// Hive constructs MySQL's grammar rejects.
func (t *translator) parseError(err error, edits []edit) error {
	msg := err.Error()
	if i := strings.Index(msg, "syntax error"); i >= 0 {
		msg = msg[i:]
	}
	var pos int
	var near string
	if n, _ := fmt.Sscanf(msg, "syntax error at position %d", &pos); n == 1 {
		if i := strings.Index(msg, " near '"); i >= 0 {
			near = strings.TrimSuffix(msg[i+len(" near '"):], "'")
		}
		// pos is one past the end of the offending token in the
		// rewritten text: map it back to the statement as written.
		end, d := pos-1, 0
		for _, e := range edits {
			start := e.pos + d
			if end < start+len(e.text) {
				if end > start {
					end = start + e.n
				}
				break
			}
			d += len(e.text) - e.n
		}
		end -= d
		off, raw := len(t.sql), ""
		for _, k := range t.toks {
			if k.next <= end {
				off, raw = k.pos, k.raw
			}
		}
		if end >= len(t.sql) && near == "" {
			return t.errAt(len(t.sql), "syntax error at the end of the statement")
		}
		switch {
		case strings.EqualFold(near, "lateral"):
			return t.errAt(off, "LATERAL VIEW is not supported")
		case near == "[":
			return t.errAt(off, "[] is not supported in a SELECT: write get(list, i) or map_get(m, key)")
		case strings.EqualFold(near, "as") || hiveCasts[strings.ToUpper(near)] != "":
			return t.errAt(off, "syntax error near %q (CAST takes INT, BIGINT, DOUBLE, STRING or BOOLEAN)", near)
		case near == "":
			return t.errAt(off, "syntax error near %q", raw)
		}
		return t.errAt(off, "syntax error near %q", near)
	}
	return &Error{Msg: msg}
}
