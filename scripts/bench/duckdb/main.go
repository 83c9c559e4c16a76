// Command duckdb is the DuckDB reference of `make bench-transform`: it runs
// the reduced 51007 spec (testdata/transform/bench51007_reduced.yaml, the
// part of testdata/transform/bench51007.yaml that DuckDB can express: no
// user agent, IP region or AES columns) as one SQL statement over the same
// generated \x01 text, and writes the result as Parquet or as \x01 text
// (plain, or gzip for the pack path), with as many threads as chama has
// workers. It prints the rows written, wall seconds and its own CPU
// seconds (getrusage(RUSAGE_SELF): every DuckDB thread).
//
// It is its own Go module (cgo, DuckDB's bundled library) so that chama's
// build (CGO_ENABLED=0, `go build ./...`) never sees it:
//
//	cd scripts/bench/duckdb && CGO_ENABLED=1 go build -o /tmp/ddb . &&
//	/tmp/ddb -threads 2 -format parquet -out /tmp/x.parquet /data/dt=20241212/hour=07/part-*
//
// -sql prints the statement; -query runs any SQL and prints its rows (for
// checking a function's edge cases).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// odsColumns are the ODS table's columns in file order (bench51007.yaml's
// transform.ods.events), all read as VARCHAR.
var odsColumns = []string{
	"event_id", "device_id", "mc_ev", "server_time", "client_time", "user_key",
	"user_value", "session_id", "package", "channel", "data_source_id", "domain",
	"ip", "user_agent", "sdk_version", "latitude", "longitude", "attributes",
	"province", "dt", "hour",
}

// urlParamRE is chama's url_param(s, key) as a regexp: the value of the
// first key=value pair after the first '?', pairs split on '&', '#' and
// any later '?'. regexp_extract gives "" where url_param gives null; the
// spec wraps both in empty_null, so the two agree.
func urlParamRE(key string) string {
	return `^[^?]*\?(?:[^&#?]*[&#?])*?` + key + `=([^&#?]*)`
}

// badEscapeRE finds a '%' not followed by two hex digits.
const badEscapeRE = `%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)`

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// reducedSQL is the reduced 51007 spec as a SELECT over files. Each line
// of the output list is the chama expression it stands for.
func reducedSQL(files []string) string {
	qf := make([]string, len(files))
	for i, f := range files {
		qf[i] = quote(f)
	}
	cols := make([]string, len(odsColumns))
	for i, c := range odsColumns {
		cols[i] = quote(c) + ": 'VARCHAR'"
	}
	return `
WITH ods AS (
	SELECT * FROM read_csv([` + strings.Join(qf, ", ") + `],
		delim = chr(1), header = false, quote = '', escape = '', nullstr = '\N',
		auto_detect = false, strict_mode = true, hive_partitioning = false, columns = {` + strings.Join(cols, ", ") + `})
	-- filter: data_source_id in ["2000001", "2000002", "2000003", "2000010", "2000020"]
	WHERE data_source_id IN ('2000001', '2000002', '2000003', '2000010', '2000020')
), j AS (
	-- attrs: strip_chars(attributes, "\n\r\t|"); get_json_object(attrs, "$.WT_x") x4,
	-- one parse a row. get_json_object gives null for malformed JSON,
	-- json_extract_string raises an error: json_valid guards it.
	SELECT *, CASE WHEN json_valid(attrs) THEN json_extract_string(attrs, ['$.WT_et', '$.WT_es', '$.WT_ti', '$.WT_vtid']) END AS jv
	FROM (SELECT *, translate(attributes, chr(10) || chr(13) || chr(9) || '|', '') AS attrs FROM ods)
), d AS (
	-- wt_es: url_decode(get_json_object(attrs, "$.WT_es")). chama's url_decode is
	-- java.net.URLDecoder's: '+' is a space and a truncated or non-hex escape
	-- gives null. DuckDB's keeps '+' and such escapes as they are, so the
	-- '+' are replaced first and the bad escapes are found with a regexp.
	SELECT *, jv[1] AS wt_et,
		CASE WHEN regexp_matches(jv[2], '` + badEscapeRE + `') THEN NULL ELSE url_decode(replace(jv[2], '+', ' ')) END AS wt_es,
		jv[3] AS wt_ti, jv[4] AS wt_vtid FROM j
), e AS (
	SELECT *,
		nullif(substring(regexp_extract(wt_es, ` + quote(urlParamRE("pageId")) + `, 1), 1, 19), '') AS page_id,
		nullif(substring(regexp_extract(wt_es, ` + quote(urlParamRE("channelId")) + `, 1), 1, 12), '') AS channel_id
	FROM d
)
SELECT
	event_id, device_id, mc_ev,
	CAST(server_time AS BIGINT) AS server_time, CAST(client_time AS BIGINT) AS client_time,
	user_key, session_id, package, channel, data_source_id, domain, ip, user_agent,
	sdk_version, latitude, longitude, province, dt, hour,
	wt_et, wt_es, wt_ti, wt_vtid, page_id, channel_id,
	CASE WHEN user_key = '$basic_userId' THEN '1' ELSE '0' END AS is_login,
	CASE WHEN contains(mc_ev, '210315_QYCS') THEN '1' ELSE '0' END AS is_qycs,
	split_part(mc_ev, '_', 1) AS event_group,
	CAST(length(user_agent) AS BIGINT) AS ua_len,
	concat_ws(',', nullif(latitude, ''), nullif(longitude, '')) AS lat_lng,
	coalesce(page_id, channel_id, 'none') AS page_key,
	substring(dt, 1, 8) AS day,
	trim(domain, ' ') AS domain_trim,
	split_part(sdk_version, '.', 1) AS sdk_major,
	'app' AS source_group
FROM e`
}

func cpuSecs() (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds()
}

func main() {
	threads := flag.Int("threads", 0, "DuckDB threads (chama's workers); 0: DuckDB's default")
	format := flag.String("format", "parquet", "parquet, text (\\x01 plain) or textgz (\\x01 gzip)")
	out := flag.String("out", "", "output file")
	printSQL := flag.Bool("sql", false, "print the statement and exit")
	query := flag.String("query", "", "run this SQL, print its rows and exit")
	flag.Parse()
	if err := run(*threads, *format, *out, *printSQL, *query, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "duckdb:", err)
		os.Exit(1)
	}
}

func run(threads int, format, out string, printSQL bool, query string, files []string) error {
	start := time.Now()
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	// One connection: SET applies to it.
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if threads > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
			return err
		}
	}
	if query != "" {
		return printRows(ctx, db, query)
	}
	if len(files) == 0 {
		return fmt.Errorf("no input files")
	}
	sel := reducedSQL(files)
	if printSQL {
		fmt.Println(sel)
		return nil
	}
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	var opts string
	switch format {
	case "parquet":
		// chama stages Snappy Parquet; so does DuckDB by default.
		opts = "FORMAT PARQUET, COMPRESSION snappy"
	case "text", "textgz":
		// The pack path's lines: columns joined by the delimiter, null as an
		// empty value, nothing quoted or escaped.
		opts = "FORMAT CSV, DELIMITER chr(1), HEADER false, QUOTE '', ESCAPE '', NULLSTR ''"
		if format == "textgz" {
			opts += ", COMPRESSION gzip"
		} else {
			opts += ", COMPRESSION none"
		}
	default:
		return fmt.Errorf("-format %q: want parquet, text or textgz", format)
	}
	res, err := db.ExecContext(ctx, "COPY ("+sel+") TO "+quote(out)+" ("+opts+")")
	if err != nil {
		return err
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	u, s := cpuSecs()
	fmt.Printf("rows=%d wall=%.3f cpu=%.3f user=%.3f sys=%.3f threads=%d format=%s\n", rows, wall, u+s, u, s, threads, format)
	return nil
}

func printRows(ctx context.Context, db *sql.DB, q string) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(cols, "\t"))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprintf("%q", fmt.Sprint(v))
			}
		}
		fmt.Println(strings.Join(parts, "\t"))
	}
	return rows.Err()
}
