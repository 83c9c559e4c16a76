#!/usr/bin/env bash
# Architecture figures for a before/after comparison: largest files, longest
# functions, the share of functions over cognitive complexity 60 (gocognit,
# pinned), and the internal import graph. Product code only: tests, scripts
# and generated test servers are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
GOCOGNIT=github.com/uudashr/gocognit/cmd/gocognit@v1.3.0

go run ./scripts/archstats -n 15 .

dirs=$(go list -f '{{.Dir}}' ./... | grep -v '/scripts/')
files=$(for d in $dirs; do ls "$d"/*.go 2>/dev/null | grep -v '_test.go$' || true; done)
all=$(go run "$GOCOGNIT" $files 2>/dev/null | wc -l)
over=$( (go run "$GOCOGNIT" -over 60 $files 2>/dev/null || true) | wc -l)
echo
echo "cognitive complexity: $over of $all functions over 60 ($(awk -v o="$over" -v a="$all" 'BEGIN{printf "%.2f", 100*o/a}')%)"
go run "$GOCOGNIT" -top 10 $files 2>/dev/null | sed 's/^/  /'

echo
echo "import graph (chama packages only)"
mod=$(go list -m)
go list -f '{{.ImportPath}} {{join .Imports " "}}' ./... | grep -v "^$mod/scripts/" | while read -r pkg imps; do
	own=$(for i in $imps; do case $i in "$mod"/*) echo -n " ${i#"$mod"/}";; esac; done)
	echo "  ${pkg#"$mod"/}:${own:- -}"
done
