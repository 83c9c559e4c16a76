#!/usr/bin/env bash
# The DuckDB reference of `make bench-transform` (run at the end of
# scripts/bench/transform.sh, or on its own): the reduced 51007 spec
# (testdata/transform/bench51007_reduced.yaml: the same ODS table and
# filter, the 35 output columns that need no user agent, IP region or
# mobile decryption) run by chama and, as one SQL statement, by DuckDB
# (scripts/bench/duckdb, its own cgo Go module with DuckDB's bundled
# library) over the same generated \x01 text, alternately, ROUNDS times
# each, with as many DuckDB threads as chama workers. Three paths:
#
#   parquet  chama transform --layer ads   | COPY ... (FORMAT PARQUET)   (Snappy both)
#   text     transform.Stream -> \x01 lines | COPY ... (FORMAT CSV, \x01, no quoting)
#            (scripts/bench/textsink: pack's hook and line building, no gzip)
#   pack     chama pack (from: transform,   | the same CSV, COMPRESSION gzip
#            \x01 out, gzip -6)               (miniz, DuckDB's fixed level)
#
# Figures: medians of wall and CPU (user+sys) seconds, rows per CPU second
# (input rows / CPU seconds) and chama/DuckDB. The outputs are checked:
# the same row count and order-free row checksum in both Parquet outputs,
# the same sorted lines on the text and pack paths (DuckDB does not keep
# input order; chama does).
#
# Environment: as transform.sh (CHAMA, BENCH_DIR, ROWS, WORKERS, FILES),
# ROUNDS (default 3). Skipped with a note when cgo has no C compiler.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
chama=${CHAMA:-$root/bin/chama}
dir=${BENCH_DIR:-/tmp/chama-bench-transform}
rows=${ROWS:-2000000}
workers=${WORKERS:-$(nproc)}
files=${FILES:-8}
rounds=${ROUNDS:-3}
date=20241212
hour=07

cc=$(go env CC)
if [ "$(CGO_ENABLED=1 go env CGO_ENABLED)" != 1 ] || ! command -v "${cc:-gcc}" >/dev/null 2>&1; then
	echo "bench-transform: no C compiler (${cc:-gcc}) for cgo: DuckDB reference skipped (apt-get install -y gcc)"
	exit 0
fi
[ -x "$chama" ] || { echo "bench-transform: $chama missing; run make build" >&2; exit 1; }
mkdir -p "$dir"

# The same data as transform.sh (reused when it is there).
stamp="rows=$rows files=$files seed=11"
if [ "$(cat "$dir/ods.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "generating $rows rows into $dir/ods ..."
	rm -f "$dir/ods.stamp"
	"$chama" gen --out "$dir/ods" --date "$date" --hours "$hour" --rows "$rows" --files-per-hour "$files" --plain --no-marker --seed 11
	echo "$stamp" >"$dir/ods.stamp"
fi
mapfile -t inputs < <(find "$dir/ods/dt=$date/hour=$hour" -type f ! -name '_*' ! -name '.*' | LC_ALL=C sort)

echo "building the DuckDB reference (scripts/bench/duckdb, cgo) ..."
ddb=$dir/duckdb-ref
if ! (cd scripts/bench/duckdb && CGO_ENABLED=1 go build -o "$ddb" .) >"$dir/duckdb-build.txt" 2>&1; then
	echo "bench-transform: scripts/bench/duckdb does not build: DuckDB reference skipped"
	sed 's/^/  /' "$dir/duckdb-build.txt" | tail -5
	exit 0
fi
sink=$dir/textsink
CGO_ENABLED=0 go build -o "$sink" ./scripts/bench/textsink
work=$dir/work-reduced
sed -e "s#{{WORK}}#$work#" -e "s#{{ROOT}}#$dir/ods#" -e "s#{{WORKERS}}#$workers#" \
	testdata/transform/bench51007_reduced.yaml >"$dir/reduced.yaml"
"$chama" --config "$dir/reduced.yaml" config validate >/dev/null

# timed NAME CMD...: runs CMD, appends "wall user sys" to $dir/NAME.times.
timed() {
	local name=$1
	shift
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >"$dir/$name.out" 2>"$dir/$name.err"; } 2>>"$dir/$name.times" ||
		{ echo "bench-transform: $name failed:" >&2; tail -5 "$dir/$name.err" >&2; exit 1; }
}
run_one() {
	case $1 in
	chama-parquet) timed "$1" "$chama" --config "$dir/reduced.yaml" transform --date "$date$hour" --layer ads --iface 51007 ;;
	chama-text) timed "$1" "$sink" -config "$dir/reduced.yaml" -date "$date$hour" -iface 51007 -out "$dir/reduced-chama.txt" ;;
	chama-pack) timed "$1" "$chama" --config "$dir/reduced.yaml" pack --date "$date$hour" --iface 51007 ;;
	duckdb-parquet) timed "$1" "$ddb" -threads "$workers" -format parquet -out "$dir/reduced-duckdb.parquet" "${inputs[@]}" ;;
	duckdb-text) timed "$1" "$ddb" -threads "$workers" -format text -out "$dir/reduced-duckdb.txt" "${inputs[@]}" ;;
	duckdb-pack) timed "$1" "$ddb" -threads "$workers" -format textgz -out "$dir/reduced-duckdb.txt.gz" "${inputs[@]}" ;;
	esac
}

rm -f "$dir"/{chama,duckdb}-{parquet,text,pack}.times
for ((r = 1; r <= rounds; r++)); do
	for path in parquet text pack; do
		# Alternate who goes first, so that drift on the shared host
		# does not always land on the same side.
		if ((r % 2)); then order="chama duckdb"; else order="duckdb chama"; fi
		for who in $order; do
			echo "round $r/$rounds: $who $path ..."
			run_one "$who-$path"
		done
	done
done

# The outputs must agree.
agree=yes
pq_chama=$(find "$work/stage/ads/51007/$date$hour" -name 'part-*.parquet' | LC_ALL=C sort | sed "s/.*/'&'/" | paste -sd,)
# Parquet: row counts and an order-free checksum of every row (the
# values as text: chama stages its bigint outputs as strings).
pq_sum() { echo "(SELECT count(*) || ' ' || sum(hash(to_json(t)::VARCHAR)::HUGEINT) FROM (SELECT COLUMNS(*)::VARCHAR FROM read_parquet([$1])) t)"; }
check=$("$ddb" -threads "$workers" -query "SELECT $(pq_sum "$pq_chama"), $(pq_sum "'$dir/reduced-duckdb.parquet'")" | tail -1 | tr -d '"')
read -r pq_c pq_ch pq_d pq_dh <<<"$check"
[ "$pq_c" = "$pq_d" ] && [ "$pq_ch" = "$pq_dh" ] || agree=no
compare() { # NAME CHAMA-CAT DUCKDB-CAT: sorted lines must be identical
	local name=$1
	eval "$2" | LC_ALL=C sort -S 512M >"$dir/cmp-chama.txt"
	eval "$3" | LC_ALL=C sort -S 512M >"$dir/cmp-duckdb.txt"
	local lc ld
	lc=$(wc -l <"$dir/cmp-chama.txt")
	ld=$(wc -l <"$dir/cmp-duckdb.txt")
	if cmp -s "$dir/cmp-chama.txt" "$dir/cmp-duckdb.txt"; then
		echo "$name: $lc lines each, identical once sorted"
	else
		agree=no
		echo "$name: DIFFERENT ($lc chama lines, $ld DuckDB lines); first differing sorted lines (\\x01 shown as |):"
		diff "$dir/cmp-chama.txt" "$dir/cmp-duckdb.txt" | head -8 | tr '\001' '|' | cut -c1-400
	fi
	rm -f "$dir/cmp-chama.txt" "$dir/cmp-duckdb.txt"
}
cmp_text=$(compare "text" "cat '$dir/reduced-chama.txt'" "cat '$dir/reduced-duckdb.txt'")
cmp_pack=$(compare "pack" "zcat '$work/out/51007/$date$hour/'*.dat.gz" "zcat '$dir/reduced-duckdb.txt.gz'")

# median COL FILE: the median of column COL (1 wall, 2 user, 3 sys, 4 cpu).
median() {
	awk -v c="$1" '{ v = (c == 4) ? $2 + $3 : $c; print v }' "$2" | sort -g |
		awk '{ a[NR] = $1 } END { printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo
echo "bench-transform, DuckDB reference: reduced 51007 spec (35 columns, no UA/IP/AES), $rows rows, $workers workers/threads, medians of $rounds alternating runs"
printf '  %-8s %-7s %8s %8s %15s %10s\n' path tool wall cpu "rows/CPU s" chama/duckdb
for path in parquet text pack; do
	cc=$(median 4 "$dir/chama-$path.times")
	dc=$(median 4 "$dir/duckdb-$path.times")
	printf '  %-8s %-7s %7ss %7ss %15s\n' "$path" chama "$(median 1 "$dir/chama-$path.times")" "$cc" \
		"$(awk -v r="$rows" -v c="$cc" 'BEGIN{printf "%.0f", r/c}')"
	printf '  %-8s %-7s %7ss %7ss %15s %9sx\n' "" duckdb "$(median 1 "$dir/duckdb-$path.times")" "$dc" \
		"$(awk -v r="$rows" -v c="$dc" 'BEGIN{printf "%.0f", r/c}')" "$(awk -v a="$cc" -v b="$dc" 'BEGIN{printf "%.2f", b/a}')"
done
echo "  (text: chama's transform.Stream + pack's line building, no gzip; pack: chama pack gzip -6 vs DuckDB CSV gzip)"
echo "  target: chama >= 1.5x DuckDB's rows per CPU second on the Parquet and the text/pack paths"
echo "  outputs: parquet: $pq_c chama rows, $pq_d DuckDB rows; row checksums $([ "$pq_ch" = "$pq_dh" ] && echo equal || echo "DIFFER ($pq_ch, $pq_dh)")"
echo "  outputs: $cmp_text"
echo "  outputs: $cmp_pack"
if [ "$agree" = yes ]; then echo "  outputs agree"; else echo "  OUTPUTS DIFFER (see above)"; exit 1; fi
