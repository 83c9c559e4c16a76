#!/usr/bin/env bash
# make bench-day: how soon a day is complete after its last hour lands.
# On one generated day of 51007-like rows (24 hourly partitions), two
# interfaces read the same partitions:
#   H  hourly_pack: true   hours 00..22 are packed beforehand (as they land);
#                          timed: pack hour 23, then assemble the day
#                          (.verf written) -- the "tail" after hour 23 is ready
#   D  whole-day split     timed: pack the whole day at once after hour 23
# Prints both times and their ratio (target: the hourly tail under 1/10 of
# the whole-day pack), and checks both sets hold the same lines.
#
# Environment: CHAMA (the binary, default bin/chama), BENCH_DIR (default
# /tmp/chama-bench-day; the generated data is kept there and reused), ROWS
# (default 2700000: the whole-day pack should take 20 s or more), LEVEL
# (default 6), LINES (default 800000), FILES_PER_HOUR (default 4).
#
# The figures are only as steady as the machine: on a shared host, run it
# twice and read both.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
chama=${CHAMA:-$root/bin/chama}
dir=${BENCH_DIR:-/tmp/chama-bench-day}
rows=${ROWS:-2700000}
level=${LEVEL:-6}
lines=${LINES:-800000}
fph=${FILES_PER_HOUR:-4}
date=20241212

[ -x "$chama" ] || { echo "bench-day: $chama missing; run make build" >&2; exit 1; }
mkdir -p "$dir"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

# 1. Data, generated once per (rows, files-per-hour).
stamp="rows=$rows fph=$fph seed=11"
if [ "$(cat "$dir/ods.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "generating $rows rows into $dir/ods ..."
	rm -f "$dir/ods.stamp"
	"$chama" gen --out "$dir/ods" --date "$date" --rows "$rows" --files-per-hour "$fph" --seed 11 | tee "$dir/gen.txt"
	echo "$stamp" >"$dir/ods.stamp"
fi

# 2. A fresh workdir for each run (only the bench's own scratch folder).
work=$dir/work
if [ -d "$work" ]; then
	find "$work" -depth \( -type f -o -type d -empty \) -delete
fi
cat >"$dir/chama.yaml" <<YAML
workdir: $work
sources:
  ods: {type: file, root: $dir/ods}
interfaces:
  H:
    source: ods
    path: dt={date}/hour={hour}
    hourly_pack: true
    fields: 21
    lines_per_file: $lines
    gzip_level: $level
    embedded_delimiter: "replace: "
  D:
    source: ods
    path: dt={date}/hour={hour}
    fields: 21
    lines_per_file: $lines
    gzip_level: $level
    embedded_delimiter: "replace: "
YAML
c() { "$chama" --config "$dir/chama.yaml" "$@"; }

# 3. Hourly mode: hours 00..22 as they land (not part of the tail).
sync
t0=$(now)
c pack --date "$date" --hours 00-22 --iface H >"$dir/hours.out" 2>"$dir/hours.err"
t1=$(now)
hours_secs=$(secs "$t0" "$t1")

# 4. Hour 23 is ready: pack it, assemble the day.
sync
t0=$(now)
c pack --date "${date}23" --iface H 2>"$dir/h23.err" | tee "$dir/h23.out"
t1=$(now)
c pack --date "$date" --iface H 2>"$dir/assemble.err" | tee "$dir/assemble.out"
t2=$(now)
h23_secs=$(secs "$t0" "$t1")
asm_secs=$(secs "$t1" "$t2")
tail_secs=$(secs "$t0" "$t2")
hverf=$(ls "$work/out/H/$date"/*.verf)

# 5. Whole-day mode: the day at once after hour 23.
sync
t0=$(now)
c pack --date "$date" --iface D 2>"$dir/day.err" | tee "$dir/day.out"
t1=$(now)
day_secs=$(secs "$t0" "$t1")
dverf=$(ls "$work/out/D/$date"/*.verf)

# 6. Same lines: the hourly set has one short file per hour, the
# whole-day set only its last one.
hl=$(cut -d'|' -f3 "$hverf" | paste -sd+ | bc)
dl=$(cut -d'|' -f3 "$dverf" | paste -sd+ | bc)
hf=$(wc -l <"$hverf")
df=$(wc -l <"$dverf")
if [ "$hl" != "$dl" ] || [ "$hl" != "$rows" ]; then
	echo "bench-day: line totals differ: hourly $hl, whole day $dl, generated $rows" >&2
	exit 1
fi
links=$(find "$work/out/H/$date" -name '*.dat.gz' -links +1 | wc -l)

awk -v rows="$rows" -v hf="$hf" -v df="$df" -v links="$links" -v hs="$hours_secs" \
	-v h23="$h23_secs" -v asm="$asm_secs" -v tail="$tail_secs" -v day="$day_secs" -v level="$level" -v lines="$lines" 'BEGIN {
	printf "data:        %d rows in 24 hourly partitions; lines_per_file %d, gzip level %d\n", rows, lines, level
	printf "sets:        hourly %d files (%d hard-linked from hour chunks), whole day %d files; same %d lines\n", hf, links, df, rows
	printf "hours 00-22: %6.2f s packed beforehand, hour by hour (not in the tail)\n", hs
	printf "hourly tail: %6.2f s from hour 23 ready to day assembled + .verf (pack hour 23 %.2f s + assemble %.2f s)\n", tail, h23, asm
	printf "whole day:   %6.2f s packing the day at once after hour 23\n", day
	printf "ratio:       hourly tail is %.3f of the whole-day time (%.1fx faster; target < 0.1)\n", tail/day, day/tail
}' | tee "$dir/result.txt"
