#!/usr/bin/env bash
# make bench-pack: chama pack against the shell pipeline it replaces, on the
# same generated day (>= 1 GB raw, >= 2,000,000 rows of 51007-like events),
# at the same gzip level. Prints both times and their ratio, the machine's
# ceiling (one core decompressing and recompressing the same data with
# klauspost/compress at that level, times the cores) and chama's fraction
# of it, and chama's peak RSS.
#
# Environment: CHAMA (the binary, default bin/chama), BENCH_DIR (default /tmp/chama-bench-pack; the generated data
# is kept there and reused), ROWS (default 2700000), LEVEL (default 6),
# LINES (default 800000), FILES_PER_HOUR (default 4), CEILING_MB (raw MiB
# the ceiling is measured over, default 384).
#
# The figures are only as steady as the machine: on a shared host, run it
# twice and read both.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
chama=${CHAMA:-$root/bin/chama}
dir=${BENCH_DIR:-/tmp/chama-bench-pack}
rows=${ROWS:-2700000}
level=${LEVEL:-6}
lines=${LINES:-800000}
fph=${FILES_PER_HOUR:-4}
ceiling_mb=${CEILING_MB:-384}
date=20241212
cores=$(nproc)

[ -x "$chama" ] || { echo "bench-pack: $chama missing; run make build" >&2; exit 1; }
mkdir -p "$dir"
tool=$dir/packtool
go build -o "$tool" ./scripts/bench/packtool

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

# 1. Data, generated once per (rows, files-per-hour).
stamp="rows=$rows fph=$fph seed=7"
if [ "$(cat "$dir/ods.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "generating $rows rows into $dir/ods ..."
	rm -f "$dir/ods.stamp"
	"$chama" gen --out "$dir/ods" --date "$date" --rows "$rows" --files-per-hour "$fph" --seed 7 | tee "$dir/gen.txt"
	echo "$stamp" >"$dir/ods.stamp"
fi
in=$dir/ods/dt=$date
mapfile -t inputs < <(find "$in" -type f -name '*.gz' ! -name '_*' | LC_ALL=C sort)
raw_bytes=$(sed -n 's/.* \([0-9]*\) raw bytes.*/\1/p' "$dir/gen.txt")
gz_bytes=$(cat "${inputs[@]}" | wc -c)
if [ "${raw_bytes:-0}" -lt 1000000000 ] || [ "$rows" -lt 2000000 ]; then
	echo "bench-pack: the data must be at least 1 GB raw and 2,000,000 rows (got $raw_bytes bytes, $rows rows); raise ROWS" >&2
	exit 1
fi

# 2. The ceiling (one core, decompress + recompress, klauspost, same
# level), measured just before chama runs, in the same conditions.
ceiling=$("$tool" ceiling -level "$level" -mb "$ceiling_mb" "${inputs[@]}")
per_core=$(echo "$ceiling" | sed -n 's/.*ceiling_bytes_per_sec_per_core=\([0-9]*\).*/\1/p')
ceil_raw=$(echo "$ceiling" | sed -n 's/.*ceiling_raw_bytes=\([0-9]*\).*/\1/p')
ceil_cpu=$(echo "$ceiling" | sed -n 's/.*ceiling_cpu_secs=\([0-9.]*\).*/\1/p')

# 3. chama pack.
cat >"$dir/chama.yaml" <<YAML
workdir: $dir/work
sources:
  ods: {type: file, root: $dir/ods}
interfaces:
  "51007":
    source: ods
    path: dt={date}/hour={hour}
    fields: 21
    lines_per_file: $lines
    gzip_level: $level
    embedded_delimiter: "replace: "
YAML
sync
t0=$(now)
"$tool" rss -- "$chama" --config "$dir/chama.yaml" pack --date "$date" 2>"$dir/chama.err" | tee "$dir/chama.out"
t1=$(now)
chama_secs=$(secs "$t0" "$t1")
rss_kib=$(sed -n 's/^peak_rss_kib=\([0-9]*\).*/\1/p' "$dir/chama.err")
chama_cpu=$(sed -n 's/^peak_rss_kib=.* cpu_secs=\([0-9.]*\).*/\1/p' "$dir/chama.err")
out=$dir/work/out/51007/$date

# 4. The shell pipeline.
sync
t0=$(now)
scripts/bench/shell-pack.sh "$in" "$dir/shell" "$level" "$lines"
t1=$(now)
shell_secs=$(secs "$t0" "$t1")

# 5. Same line counts per file, in the same order.
chama_counts=$(cut -d'|' -f3 "$out"/*.verf | tr '\n' ' ')
shell_counts=$(cut -d'|' -f3 "$dir/shell/check.txt" | tr '\n' ' ')
if [ "$chama_counts" != "$shell_counts" ]; then
	echo "bench-pack: line counts differ: chama [$chama_counts] shell [$shell_counts]" >&2
	exit 1
fi

awk -v rows="$rows" -v raw="$raw_bytes" -v gz="$gz_bytes" -v nin="${#inputs[@]}" \
	-v cs="$chama_secs" -v ss="$shell_secs" -v pc="$per_core" -v cores="$cores" \
	-v rss="$rss_kib" -v level="$level" -v counts="$chama_counts" \
	-v ccpu="$chama_cpu" -v kraw="$ceil_raw" -v kcpu="$ceil_cpu" 'BEGIN {
	ceil = pc * cores
	printf "data:     %d rows, %.2f GB raw, %.2f GB gz in %d files; gzip level %d; %d cores\n", rows, raw/1e9, gz/1e9, nin, level, cores
	printf "lines:    identical per file: %s\n", counts
	printf "chama:    %6.2f s  (%.0f MB/s raw)\n", cs, raw/cs/1e6
	printf "shell:    %6.2f s  (%.0f MB/s raw)\n", ss, raw/ss/1e6
	printf "ratio:    chama is %.2fx faster than the shell pipeline (target >= 4x)\n", ss/cs
	printf "ceiling:  %.0f MB/s per core x %d = %.0f MB/s (%.2f s for this data)\n", pc/1e6, cores, ceil/1e6, raw/ceil
	printf "fraction: chama reaches %.0f%% of the ceiling (target >= 80%%)\n", 100*(raw/cs)/ceil
	# The same comparison in CPU time, which a busy machine disturbs less:
	# CPU-seconds the ceiling needs per byte against what chama used.
	need = kcpu * raw / kraw
	printf "cpu:      chama used %.1f CPU-s; one-core decompress+recompress needs %.1f CPU-s for this data (%.0f%% efficiency); %.0f%% of %d cores busy\n", ccpu, need, 100*need/ccpu, 100*ccpu/cs/cores, cores
	printf "peak RSS: %.0f MiB (target < 512 MiB)\n", rss/1024
}' | tee "$dir/result.txt"
