#!/usr/bin/env bash
# The shell pipeline that `chama pack` replaces, kept as the benchmark's
# baseline: decompress the inputs in parallel, join them in sorted order,
# swap the \x01 delimiter for '|', split every N lines, gzip the pieces in
# parallel, then write a check file (name|bytes|lines|md5).
#
#   shell-pack.sh IN_DIR OUT_DIR [LEVEL] [LINES]
#
# IN_DIR holds the period's *.gz part files (searched recursively, read in
# sorted path order, as chama does). OUT_DIR is emptied of earlier pieces.
set -euo pipefail
in=${1:?usage: shell-pack.sh IN_DIR OUT_DIR [LEVEL] [LINES]}
out=${2:?usage: shell-pack.sh IN_DIR OUT_DIR [LEVEL] [LINES]}
level=${3:-6}
lines=${4:-800000}
jobs=$(nproc)

mkdir -p "$out"
raw="$out/raw"
rm -rf "$raw"
mkdir -p "$raw"
rm -f "$out"/piece_* "$out"/check.txt

# 1. decompress every input in parallel, each to its own numbered file.
find "$in" -type f -name '*.gz' ! -name '_*' | LC_ALL=C sort | awk '{printf "%s\t%06d\n", $0, NR}' >"$raw/list"
cut -f1,2 "$raw/list" | xargs -P "$jobs" -L 1 sh -c 'gzip -dc "$0" >"'"$raw"'/$1.txt"'

# 2. join in order, swap the delimiter, cut every $lines lines.
cut -f2 "$raw/list" | sed "s|^|$raw/|; s|\$|.txt|" | xargs cat | tr '\001' '|' |
	split -l "$lines" -a 4 -d --additional-suffix=.dat - "$out/piece_"
rm -rf "$raw"

# 3. count the lines of each piece, then gzip the pieces in parallel.
for f in "$out"/piece_*.dat; do printf '%s %s\n' "$(basename "$f").gz" "$(wc -l <"$f")"; done >"$out/lines.txt"
ls "$out"/piece_*.dat | xargs -P "$jobs" -n 1 gzip -"$level" -n

# 4. the check file: name|bytes|lines|md5.
while read -r name n; do
	printf '%s|%s|%s|%s\n' "$name" "$(stat -c %s "$out/$name")" "$n" "$(md5sum <"$out/$name" | cut -d' ' -f1)"
done <"$out/lines.txt" >"$out/check.txt"
rm -f "$out/lines.txt"
