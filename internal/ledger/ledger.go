// Package ledger is chama's run ledger: one row per stage run (pull,
// transform, pack, push, verify) of an interface and period, with its
// counts, target host, times, status and error. Status, the volume and
// deadline reports and the next run read it.
//
// It lives in an embedded SQLite database at <workdir>/ledger.db
// (modernc.org/sqlite, pure Go, so the binary stays static), or in
// PostgreSQL when several interface machines share one ledger
// (ledger.driver: postgres, with the connection string in the env var
// that ledger.dsn_env names). Both have the same table.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
)

// Stages that record runs.
const (
	StagePull      = "pull"
	StageTransform = "transform"
	StagePack      = "pack"
	StagePush      = "push"
	StageVerify    = "verify"
)

// Stages in pipeline order.
var Stages = []string{StagePull, StageTransform, StagePack, StagePush, StageVerify}

// Statuses of a run.
const (
	Running  = "running"   // started, not finished (or the process died)
	OK       = "ok"        // done
	Failed   = "failed"    // failed
	Partial  = "partial"   // partly done, safe to retry (exit 3)
	NotReady = "not_ready" // input not ready (exit 4)
	// Busy: refused because another run of the stage and period held its
	// lock; it changed nothing, and status shows the other run instead.
	Busy = "busy"
)

// Run names one stage run. Period is the period as processed
// ("20241212" or "2024121207"); Hour is "HH" when the run covers one hour
// (an hour chunk of a day, or an hourly period) and "" for a whole day.
// Target is the route's target for push and remote verify.
type Run struct {
	RunID  string
	Stage  string
	Iface  string
	Period string
	Hour   string
	Target string
}

// Result is how a run ended.
type Result struct {
	RowsIn   int64
	RowsOut  int64
	Rejected int64
	Filtered int64
	Files    int64
	Bytes    int64
	Host     string // target host (push) or source host (pull)
	Status   string // OK, Failed, Partial, NotReady
	Err      string
}

// Row is one ledger row as read back.
type Row struct {
	ID int64
	Run
	Result
	Day      string // YYYYMMDD of the period
	Machine  string // the interface machine that ran it
	PID      int    // its process id there
	Started  time.Time
	Finished time.Time // zero while running
}

// Duration is how long a finished run took (0 while running).
func (r Row) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// Ledger is an open ledger database.
type Ledger struct {
	db      *sql.DB
	driver  string
	machine string
	// secrets are texts no error may show (the PostgreSQL DSN and its
	// password): scrub replaces them.
	secrets []string
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Open opens the ledger the config names, creating its table if needed.
// No message names the DSN of a PostgreSQL ledger, only the variable
// that holds it ("the DSN in $CHAMA_LEDGER_DSN").
func Open(cfg *config.Config) (*Ledger, error) {
	switch cfg.Ledger.Driver {
	case "", "sqlite":
		return OpenSQLite(workdir.New(cfg.Workdir).Ledger())
	case "postgres":
		name := cfg.Ledger.DSNEnv
		if !config.IsEnvName(name) {
			// Most likely the DSN itself: never echo it.
			return nil, fmt.Errorf("ledger: %w", config.BadEnvName("ledger.dsn_env"))
		}
		dsn := os.Getenv(name)
		if dsn == "" {
			return nil, fmt.Errorf("ledger: driver postgres but the env var %s (ledger.dsn_env) is empty", name)
		}
		return openPostgres(dsn, "the DSN in $"+name)
	}
	return nil, fmt.Errorf("ledger: unknown driver %q", cfg.Ledger.Driver)
}

// sqlitePragmas are the connection settings of every SQLite ledger.
const sqlitePragmas = "_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// sqliteDSN is the modernc.org/sqlite data source name of the database
// file path: a file: URI of the absolute path, percent-encoded, so that
// a '?', '#' or '%' in a folder name is part of the name (SQLite and the
// driver would otherwise end the name there and read the rest as
// parameters), followed by the ledger's pragmas.
func sqliteDSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x -> /C:/x (https://www.sqlite.org/uri.html)
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: sqlitePragmas}
	return u.String(), nil
}

// OpenSQLite opens (or creates) a SQLite ledger file. Several chama
// processes may write it at once: WAL mode and a busy timeout let them
// take turns.
func OpenSQLite(path string) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	if fs := sharedFS(filepath.Dir(path)); fs != "" {
		// SQLite's locks do not hold across machines there: a shared
		// ledger is PostgreSQL's job.
		return nil, fmt.Errorf("ledger %s: the workdir is on %s, where SQLite is unsafe (its locks do not hold across machines): keep the workdir on a local disk, or use the shared PostgreSQL ledger (ledger.driver: postgres)", path, fs)
	}
	dsn, err := sqliteDSN(path)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return open(&Ledger{db: db, driver: "sqlite"}, path)
}

// OpenPostgres opens a PostgreSQL ledger. No part of the DSN is ever
// logged or put in an error.
func OpenPostgres(dsn string) (*Ledger, error) {
	return openPostgres(dsn, "the DSN")
}

// openPostgres opens the ledger at dsn; where says where the DSN came
// from, for messages ("the DSN in $CHAMA_LEDGER_DSN").
//
// pgx puts a DSN it cannot parse in its error with the password masked,
// as far as it can tell where the password ends: a raw '@', '/', '?' or
// '#' in it moves that border, and the rest of the password was shown,
// also as a host or database name in connection errors. So: an
// ambiguous URL is refused, a parse error is reported without pgx's
// text, and the DSN and password are scrubbed from any later error.
func openPostgres(dsn, where string) (*Ledger, error) {
	what := "postgres (" + where + ")"
	if ambiguousURL(dsn) {
		return nil, fmt.Errorf("ledger %s: the URL has a raw '@', or a '/', '?' or '#' before its '@', so where the password ends is unclear: percent-encode them in the password and database name (@ %%40, / %%2F, ? %%3F, # %%23); the DSN is not printed", what)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: cannot be parsed as a PostgreSQL URL or key=value connection string; the DSN and the parser's message (which may quote it) are not printed", what)
	}
	l := &Ledger{db: stdlib.OpenDB(*cfg), driver: "postgres", secrets: []string{dsn}}
	if cfg.Password != "" {
		l.secrets = append(l.secrets, cfg.Password)
	}
	return open(l, what)
}

// ambiguousURL reports whether a postgres:// URL has an '@' whose place
// does not say where the user info ends: more than one '@', or a '/', '?'
// or '#' before it.
func ambiguousURL(dsn string) bool {
	rest, ok := strings.CutPrefix(dsn, "postgres://")
	if !ok {
		rest, ok = strings.CutPrefix(dsn, "postgresql://")
	}
	if !ok {
		return false
	}
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return false
	}
	return strings.Count(rest, "@") > 1 || strings.ContainsAny(rest[:at], "/?#")
}

// scrub returns err, or an error of the same text with every secret
// replaced when the text holds one. (A secret shorter than 4 bytes is
// left alone: replacing every "a" would make the message unreadable,
// and the driver does not print a password it parsed.)
func (l *Ledger) scrub(err error) error {
	if err == nil || len(l.secrets) == 0 {
		return err
	}
	msg := err.Error()
	clean := msg
	for _, s := range l.secrets {
		if len(s) >= 4 {
			clean = strings.ReplaceAll(clean, s, "xxxxx")
		}
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func open(l *Ledger, what string) (*Ledger, error) {
	db := l.db
	l.Now = time.Now
	l.machine, _ = os.Hostname()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := l.migrate(ctx)
		if err == nil {
			return l, nil
		}
		// Processes opening a new SQLite ledger at once (switching it to
		// WAL, creating the table) can get SQLITE_BUSY straight away,
		// busy timeout or not: try again until the deadline.
		if !isBusy(err) || ctx.Err() != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: %w", what, l.scrub(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond):
		}
	}
}

// isBusy: SQLite's "database is locked".
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Machine is the host name this ledger records runs under.
func (l *Ledger) Machine() string { return l.machine }

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// schema is the same table for both drivers; only the id column's
// auto-increment is spelled differently.
const schema = `CREATE TABLE IF NOT EXISTS chama_runs (
	id %s,
	run_id TEXT NOT NULL,
	stage TEXT NOT NULL,
	iface TEXT NOT NULL,
	period TEXT NOT NULL,
	day TEXT NOT NULL,
	hour TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	host TEXT NOT NULL DEFAULT '',
	machine TEXT NOT NULL DEFAULT '',
	pid BIGINT NOT NULL DEFAULT 0,
	rows_in BIGINT NOT NULL DEFAULT 0,
	rows_out BIGINT NOT NULL DEFAULT 0,
	rejected BIGINT NOT NULL DEFAULT 0,
	filtered BIGINT NOT NULL DEFAULT 0,
	files BIGINT NOT NULL DEFAULT 0,
	bytes BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	err TEXT NOT NULL DEFAULT '',
	started_at TEXT NOT NULL,
	finished_at TEXT NOT NULL DEFAULT ''
)`

func (l *Ledger) migrate(ctx context.Context) error {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if l.driver == "postgres" {
		id = "BIGSERIAL PRIMARY KEY"
	}
	qs := []string{
		fmt.Sprintf(schema, id),
		`CREATE INDEX IF NOT EXISTS chama_runs_day ON chama_runs (day, iface, stage)`,
		leaseSchema,
	}
	if l.driver != "postgres" {
		for _, q := range qs {
			if _, err := l.db.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	// Several machines may open a fresh shared ledger at once, and
	// PostgreSQL's CREATE ... IF NOT EXISTS is not safe against a
	// concurrent twin (duplicate key in its catalog): take turns under a
	// transaction-scoped advisory lock.
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return err
	}
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// migrateLock is the advisory lock key of the schema migration ("chama").
const migrateLock int64 = 0x6368616d61

// rebind turns ? placeholders into $n for PostgreSQL.
func (l *Ledger) rebind(q string) string {
	if l.driver != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// timeFormat is fixed-width UTC, so text order is time order in both
// databases.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(timeFormat, s)
	return t
}

func (r Run) check() error {
	if r.Stage == "" || r.Iface == "" || len(r.Period) < 8 {
		return fmt.Errorf("ledger: a run needs stage, iface and period (got %q %q %q)", r.Stage, r.Iface, r.Period)
	}
	return nil
}

// Start records that a run began; Finish completes the same row.
func (l *Ledger) Start(ctx context.Context, r Run) (int64, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	var id int64
	err := l.db.QueryRowContext(ctx, l.rebind(`INSERT INTO chama_runs
		(run_id, stage, iface, period, day, hour, target, machine, pid, status, started_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		r.RunID, r.Stage, r.Iface, r.Period, r.Period[:8], r.Hour, r.Target, l.machine, os.Getpid(), Running, ts(l.Now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger: start %s %s %s: %w", r.Stage, r.Iface, r.Period, l.scrub(err))
	}
	return id, nil
}

// Finish records how run id ended. An empty status is OK when Err is
// empty and Failed otherwise.
func (l *Ledger) Finish(ctx context.Context, id int64, res Result) error {
	if res.Status == "" {
		res.Status = OK
		if res.Err != "" {
			res.Status = Failed
		}
	}
	out, err := l.db.ExecContext(ctx, l.rebind(`UPDATE chama_runs SET
		rows_in = ?, rows_out = ?, rejected = ?, filtered = ?, files = ?, bytes = ?,
		host = ?, status = ?, err = ?, finished_at = ? WHERE id = ?`),
		res.RowsIn, res.RowsOut, res.Rejected, res.Filtered, res.Files, res.Bytes,
		res.Host, res.Status, res.Err, ts(l.Now()), id)
	if err != nil {
		return fmt.Errorf("ledger: finish run %d: %w", id, l.scrub(err))
	}
	if n, _ := out.RowsAffected(); n != 1 {
		return fmt.Errorf("ledger: finish run %d: no such run", id)
	}
	return nil
}

// Query selects rows; empty fields match everything.
type Query struct {
	Days   []string // YYYYMMDD
	Ifaces []string
	Stages []string
}

// Rows returns the matching rows, oldest first.
func (l *Ledger) Rows(ctx context.Context, q Query) ([]Row, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("day", q.Days)
	in("iface", q.Ifaces)
	in("stage", q.Stages)
	sqlq := `SELECT id, run_id, stage, iface, period, day, hour, target, host, machine, pid,
		rows_in, rows_out, rejected, filtered, files, bytes, status, err, started_at, finished_at
		FROM chama_runs`
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += " ORDER BY id"
	rs, err := l.db.QueryContext(ctx, l.rebind(sqlq), args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: query: %w", l.scrub(err))
	}
	defer rs.Close()
	var out []Row
	for rs.Next() {
		var r Row
		var st, fin string
		if err := rs.Scan(&r.ID, &r.RunID, &r.Stage, &r.Iface, &r.Period, &r.Day, &r.Hour, &r.Target, &r.Host, &r.Machine, &r.PID,
			&r.RowsIn, &r.RowsOut, &r.Rejected, &r.Filtered, &r.Files, &r.Bytes, &r.Status, &r.Err, &st, &fin); err != nil {
			return nil, fmt.Errorf("ledger: read: %w", l.scrub(err))
		}
		r.Started, r.Finished = parseTS(st), parseTS(fin)
		out = append(out, r)
	}
	return out, l.scrub(rs.Err())
}
