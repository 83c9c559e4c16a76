#!/usr/bin/env bash
# Compares two `make demo` output trees (copy ./demo aside before and after
# a change) file by file and byte by byte. What legitimately differs
# between two runs is masked first: wall-clock stamps, the loopback port of
# the in-process SFTP server, the run id, freshly generated keys and the
# SQLite ledger's pages (its rows carry timestamps), and the chama
# version (git describe) each manifest records. Everything else,
# including every data file, must be identical.
#
#	scripts/demo-compare.sh /tmp/demo-before ./demo
set -euo pipefail
a=${1:?usage: demo-compare.sh BEFORE AFTER}
b=${2:?usage: demo-compare.sh BEFORE AFTER}

norm() {
	sed -E \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)?/<time>/g' \
		-e 's/\|[0-9]{14}\|/|<time>|/g' \
		-e 's/[0-9]{8}T[0-9]{6}Z-[0-9a-f]+/<run>/g' \
		-e 's/127\.0\.0\.1:[0-9]+/127.0.0.1:<port>/g' \
		-e 's/port: [0-9]+/port: <port>/g' \
		-e 's/"chama": "[^"]*"/"chama": "<version>"/g' \
		-e 's/"(took|secs|elapsed|duration)[a-z_]*": *[0-9.e+-]+/"\1": <n>/g' \
		"$1"
}

list() { (cd "$1" && find . -type f | LC_ALL=C sort); }
if ! diff <(list "$a") <(list "$b"); then
	echo "demo-compare: the file lists differ (< $a, > $b)" >&2
	exit 1
fi
bad=0 same=0 masked=0
while read -r f; do
	if cmp -s "$a/$f" "$b/$f"; then
		same=$((same + 1))
		continue
	fi
	case $f in
	./keys/* | *.db) masked=$((masked + 1)); continue ;;
	esac
	if diff <(norm "$a/$f") <(norm "$b/$f") >/dev/null; then
		masked=$((masked + 1))
	else
		echo "differs: $f"
		diff <(norm "$a/$f") <(norm "$b/$f") | head -10 || true
		bad=$((bad + 1))
	fi
done < <(list "$a")
echo "demo-compare: $same files identical, $masked identical after masking times/ports/keys, $bad differ"
[ "$bad" = 0 ]
