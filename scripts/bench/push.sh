#!/usr/bin/env bash
# make bench-push: chama push against `lftp mput -P N` and `rclone copy
# --transfers N`, same files (>= 1 GB of gzip files, ~100 MB each, the
# platform's realistic size), same N, same OpenSSH sshd on loopback.
# Prints each time, throughput and the ratios.
#
# Environment: CHAMA (binary, default bin/chama), BENCH_DIR (default
# /tmp/chama-bench-push; the files are generated once and reused), FILES
# (default 11), FILE_MB (default 100), N (parallel transfers, default 4),
# ROUNDS (default 1: ROUNDS rounds, each running every tool once in turn,
# chama, lftp, lftp-gcm, rclone, so the tools alternate; each figure is the
# median of the ROUNDS times), FLAKY_CUT_MB (default 30; 0 skips the
# flaky-link row), FLAKY_TIMEOUT (default 600 seconds per flaky run).
#
# Flaky link: after the clean-link rows, the same files go through
# scripts/bench/cutproxy (a TCP proxy on 127.0.0.1 in front of the same
# sshd) that cuts every connection once the client has sent FLAKY_CUT_MB MiB
# on it: chama push (same settings, primary = the proxy) against
# `lftp mput -c -P N` with lftp's own reconnect-and-resume settings, one
# invocation each, alternating per round, each under `timeout`. A tool may
# fail there: the row records its exit code, how many files arrived and how
# many match the local md5, and the ratio lftp time / chama time.
#
# The machine is shared: run it more than once and read every figure.
# chama uses N connections with one transfer each (connections_per_host=N,
# transfers_per_connection=1), so every tool has exactly N SSH sessions.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
chama=${CHAMA:-$root/bin/chama}
dir=${BENCH_DIR:-/tmp/chama-bench-push}
files=${FILES:-11}
file_mb=${FILE_MB:-100}
n=${N:-4}
rounds=${ROUNDS:-1}
flaky_mb=${FLAKY_CUT_MB:-30}
flaky_timeout=${FLAKY_TIMEOUT:-600}
date=20241212
iface=51007

[ -x "$chama" ] || { echo "bench-push: $chama missing; run make build" >&2; exit 1; }
for v in "ROUNDS=$rounds" "FLAKY_CUT_MB=$flaky_mb" "FLAKY_TIMEOUT=$flaky_timeout" "N=$n" "FILES=$files" "FILE_MB=$file_mb"; do
	[[ ${v#*=} =~ ^[0-9]+$ ]] || { echo "bench-push: $v: want a whole number" >&2; exit 1; }
done
[ "$rounds" -ge 1 ] || { echo "bench-push: ROUNDS must be >= 1" >&2; exit 1; }
sshd=$(command -v sshd || true)
[ -z "$sshd" ] && [ -x /usr/sbin/sshd ] && sshd=/usr/sbin/sshd
[ -n "$sshd" ] || { echo "bench-push: OpenSSH sshd is not installed (apt-get install -y openssh-server)" >&2; exit 1; }
have_lftp=1; command -v lftp >/dev/null || { have_lftp=0; echo "bench-push: lftp not installed (apt-get install -y lftp): skipping it"; }
have_rclone=1; command -v rclone >/dev/null || { have_rclone=0; echo "bench-push: rclone not installed (apt-get install -y rclone): skipping it"; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

mkdir -p "$dir"
out=$dir/work/out/$iface/$date
remote=$dir/remote

# 1. Packed files, generated once: random data gzipped (incompressible,
#    like the encrypted fields that keep real files at ~2x), a .verf and
#    manifest.json in pack's layout.
stamp="files=$files mb=$file_mb"
if [ "$(cat "$dir/data.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "generating $files gzip files of ~$file_mb MB in $out ..."
	rm -rf "$dir/work"
	mkdir -p "$out"
	: >"$out/a_10000_${date}_${iface}_00.verf"
	entries=""
	for i in $(seq 1 "$files"); do
		f=$(printf 'a_10000_%s_%s_00_%04d.dat.gz' "$date" "$iface" "$i")
		head -c "$((file_mb * 1024 * 1024))" /dev/urandom | gzip -1 >"$out/$f"
		bytes=$(stat -c %s "$out/$f")
		md5=$(md5sum "$out/$f" | cut -d' ' -f1)
		printf '%s|%s|0|%s|%s|%s\n' "$f" "$bytes" "$date" "$(date +%Y%m%d%H%M%S)" "$md5" >>"$out/a_10000_${date}_${iface}_00.verf"
		[ -n "$entries" ] && entries="$entries,"
		entries="$entries{\"name\":\"$f\",\"seq\":$i,\"bytes\":$bytes,\"lines\":0,\"md5\":\"$md5\"}"
	done
	cat >"$out/manifest.json" <<EOF
{"version":1,"iface":"$iface","period":"$date","resend":0,"created":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","chama":"bench","inputs":[],"rows":{"read":0,"written":0,"filtered":0,"rejected":0,"embedded_delimiters":0},
 "sets":[{"dir":"","verf":"a_10000_${date}_${iface}_00.verf","files":[$entries]}]}
EOF
	echo "$stamp" >"$dir/data.stamp"
fi
total=$(du -cb "$out"/*.gz | tail -1 | cut -f1)
nfiles=$(ls "$out"/*.gz | wc -l)
cat "$out"/*.gz >/dev/null # page cache: every tool reads from memory

# The proxy for the flaky-link row, built before anything is timed.
if [ "$flaky_mb" -gt 0 ]; then
	go build -o "$dir/cutproxy" ./scripts/bench/cutproxy
fi

# 2. sshd on a loopback port, keys in a scratch folder. The EXIT trap stops
#    sshd, the cutting proxy and a flaky-row run (whichever is running).
sshd_pid=""
proxy_pid=""
tool_pid=""
cleanup() {
	if [ -n "$tool_pid" ]; then kill "$tool_pid" 2>/dev/null || true; fi
	if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
	if [ -n "$sshd_pid" ]; then kill "$sshd_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
keys=$dir/keys
rm -rf "$keys"
mkdir -p "$keys"
chmod 700 "$keys"
ssh-keygen -q -t ed25519 -N '' -f "$keys/host" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$keys/id" >/dev/null
cp "$keys/id.pub" "$keys/authorized_keys"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 22$((RANDOM % 900 + 100)))
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
cat >"$keys/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $keys/host
AuthorizedKeysFile $keys/authorized_keys
PidFile $keys/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
"$sshd" -D -e -f "$keys/sshd_config" 2>"$keys/sshd.log" &
sshd_pid=$!
for _ in $(seq 1 100); do
	ssh-keyscan -p "$port" -t ed25519 127.0.0.1 >"$keys/known_hosts" 2>/dev/null && [ -s "$keys/known_hosts" ] && break
	sleep 0.1
done
[ -s "$keys/known_hosts" ] || { echo "bench-push: sshd did not start:" >&2; cat "$keys/sshd.log" >&2; exit 1; }
user=$(id -un)

chama_config() { # file port known_hosts: chama's config, primary 127.0.0.1:port
	cat >"$1" <<EOF
workdir: $dir/work
sources:
  none: {type: file, root: $dir}
targets:
  bench:
    primary: [{host: 127.0.0.1, port: $2}]
    user: $user
    auth: {key_file: $keys/id}
    known_hosts: $3
    dir: $remote
    connections_per_host: $n
    transfers_per_connection: 1
interfaces:
  "$iface":
    source: none
    path: ods/dt={date}
    routes: [{target: bench}]
EOF
}
chama_config "$dir/chama.yaml" "$port" "$keys/known_hosts"

clean_remote() { rm -rf "$remote"; mkdir -p "$remote"; }
check_remote() {
	local got
	got=$(ls "$remote"/*.gz 2>/dev/null | wc -l)
	[ "$got" = "$nfiles" ] || { echo "bench-push: $1 delivered $got of $nfiles files" >&2; exit 1; }
}

times=$dir/times
rm -rf "$times"
mkdir -p "$times"

timed() { # tool command...: one clean-link run, its seconds appended to $times/tool
	local name=$1 t0 t1
	shift
	clean_remote
	rm -f "$out"/delivery-*.json
	sync
	t0=$(now)
	"$@" >"$dir/$name.log" 2>&1 || { echo "bench-push: $name failed:" >&2; tail -20 "$dir/$name.log" >&2; exit 1; }
	t1=$(now)
	check_remote "$name"
	echo "$(secs "$t0" "$t1")" >>"$times/$name"
}

median() { # file: the median of the first column
	sort -g -k1,1 "$1" | awk '{v[NR] = $1} END {if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

mbs() { awk -v b="$total" -v s="$1" 'BEGIN{printf "%.1f", b/1048576/s}'; }

echo "bench-push: $nfiles files, $((total / 1048576)) MiB, N=$n, sshd $("$sshd" -V 2>&1 | head -1 || true) on 127.0.0.1:$port, $(nproc) cores (shared machine: figures are noisy)"

# 3. Clean link: ROUNDS rounds, every tool once per round in turn, so slow
#    phases of the shared machine hit each tool alike; medians count.
ssh_cmd="ssh -a -x -i $keys/id -o UserKnownHostsFile=$keys/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"
ssh_gcm="$ssh_cmd -c aes128-gcm@openssh.com"
for _ in $(seq 1 "$rounds"); do
	timed chama "$chama" --config "$dir/chama.yaml" push --date "$date"
	if [ $have_lftp = 1 ]; then
		timed lftp lftp -c "set sftp:connect-program '$ssh_cmd'; open -u $user, -p $port sftp://127.0.0.1; cd $remote; lcd $out; mput -P $n *.gz"
		timed lftp-gcm lftp -c "set sftp:connect-program '$ssh_gcm'; open -u $user, -p $port sftp://127.0.0.1; cd $remote; lcd $out; mput -P $n *.gz"
	fi
	if [ $have_rclone = 1 ]; then
		timed rclone rclone copy --transfers "$n" --include '*.gz' "$out" ":sftp,host=127.0.0.1,port=$port,user=$user,key_file=$keys/id,known_hosts_file=$keys/known_hosts:$remote"
	fi
done
of="(median of $rounds)"

t_chama=$(median "$times/chama")
echo "chama push            : ${t_chama}s  $(mbs "$t_chama") MiB/s  $of"
if [ $have_lftp = 1 ]; then
	t_lftp=$(median "$times/lftp")
	echo "lftp mput -P $n        : ${t_lftp}s  $(mbs "$t_lftp") MiB/s  $of"
	echo "ratio chama/lftp      : $(awk -v a="$t_lftp" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}') throughput (target >= 1.2x)"
	t_lftp_gcm=$(median "$times/lftp-gcm")
	echo "lftp (aes128-gcm)     : ${t_lftp_gcm}s  $(mbs "$t_lftp_gcm") MiB/s  (same cipher as chama, for reference)  $of"
	echo "ratio chama/lftp-gcm  : $(awk -v a="$t_lftp_gcm" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}')"
fi
if [ $have_rclone = 1 ]; then
	t_rclone=$(median "$times/rclone")
	echo "rclone --transfers $n  : ${t_rclone}s  $(mbs "$t_rclone") MiB/s  $of"
	echo "ratio chama/rclone    : $(awk -v a="$t_rclone" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}') throughput"
fi

# 4. Flaky link: the same files through cutproxy, which closes every
#    connection once the client has sent FLAKY_CUT_MB MiB on it. Each run
#    gets a fresh proxy (so its cut count is that run's) on a new port,
#    known to chama and ssh under the same host key as sshd's own port.
if [ "$flaky_mb" -eq 0 ]; then
	clean_remote
	exit 0
fi
cut_bytes=$((flaky_mb * 1024 * 1024))
(cd "$out" && md5sum -- *.gz) >"$dir/local.md5"

start_proxy() { # sets proxy_pid and pport; writes known_hosts-flaky and chama-flaky.yaml
	local line=""
	: >"$dir/cutproxy.out"
	"$dir/cutproxy" -listen 127.0.0.1:0 -target "127.0.0.1:$port" -cut-after "$cut_bytes" -cuts -1 >"$dir/cutproxy.out" 2>"$dir/cutproxy.log" &
	proxy_pid=$!
	for _ in $(seq 1 100); do
		line=$(head -1 "$dir/cutproxy.out")
		[ -n "$line" ] && break
		kill -0 "$proxy_pid" 2>/dev/null || break
		sleep 0.05
	done
	[[ $line =~ ^listening\ 127\.0\.0\.1:([0-9]+)$ ]] || { echo "bench-push: cutproxy did not start:" >&2; cat "$dir/cutproxy.log" >&2; exit 1; }
	pport=${BASH_REMATCH[1]}
	{
		cat "$keys/known_hosts"
		awk -v h="[127.0.0.1]:$pport" '$2 == "ssh-ed25519" {print h, $2, $3; exit}' "$keys/known_hosts"
	} >"$keys/known_hosts-flaky"
	chama_config "$dir/chama-flaky.yaml" "$pport" "$keys/known_hosts-flaky"
}

stop_proxy() { # stops the proxy (waits for its report), sets cuts to how many connections it cut
	kill -TERM "$proxy_pid" 2>/dev/null || true
	wait "$proxy_pid" 2>/dev/null || true
	proxy_pid=""
	cuts=$(sed -n 's/^cutproxy: .* \([0-9][0-9]*\) cut$/\1/p' "$dir/cutproxy.log" | tail -1)
}

verify_remote() { # prints "files md5ok": how many local files are on the remote, how many with the same md5
	local sum name got=0 ok=0
	while read -r sum name; do
		[ -f "$remote/$name" ] || continue
		got=$((got + 1))
		if [ "$(md5sum <"$remote/$name" | cut -d' ' -f1)" = "$sum" ]; then ok=$((ok + 1)); fi
	done <"$dir/local.md5"
	echo "$got $ok"
}

flaky() { # tool: one run through a fresh proxy; appends "secs exit files md5ok cuts" to $times/tool
	local name=$1 t0 t1 rc=0 cuts
	local -a cmd
	clean_remote
	rm -f "$out"/delivery-*.json
	sync
	start_proxy
	case $name in
	chama-flaky) cmd=("$chama" --config "$dir/chama-flaky.yaml" push --date "$date") ;;
	lftp-flaky) cmd=(lftp -c "set sftp:connect-program '$ssh_flaky'; $lftp_retry; open -u $user, -p $pport sftp://127.0.0.1; cd $remote; lcd $out; mput -c -P $n *.gz") ;;
	esac
	t0=$(now)
	# In the background, so that a signal to this script runs the EXIT
	# trap (which stops the tool) at once rather than after the run.
	timeout -k 10 "$flaky_timeout" "${cmd[@]}" </dev/null >"$dir/$name.log" 2>&1 &
	tool_pid=$!
	wait "$tool_pid" || rc=$?
	tool_pid=""
	t1=$(now)
	stop_proxy
	echo "$(secs "$t0" "$t1") $rc $(verify_remote) ${cuts:-?}" >>"$times/$name"
}

# lftp reconnects and resumes (mput -c) by itself within one invocation.
# Its defaults pause 15s before a reconnect (x1.5 per failed try, back to
# 15s after 300s), which would dominate this row, so the pause is a
# constant 1s, like chama's first backoff. net:max-retries counts tries in
# a row that move no data (1 = no retry); a try that moves data resets it,
# so on this link it never ends lftp's run: `timeout` bounds it.
lftp_retry="set net:max-retries 50; set net:reconnect-interval-base 1; set net:reconnect-interval-multiplier 1; set net:reconnect-interval-max 1; set net:timeout 30"
ssh_flaky="ssh -a -x -i $keys/id -o UserKnownHostsFile=$keys/known_hosts-flaky -o StrictHostKeyChecking=yes -o BatchMode=yes"

echo "flaky link: cutproxy on 127.0.0.1 closes every connection after the client sent $flaky_mb MiB; one invocation per tool and round, timeout ${flaky_timeout}s"
for _ in $(seq 1 "$rounds"); do
	flaky chama-flaky
	if [ $have_lftp = 1 ]; then flaky lftp-flaky; fi
done

complete_rounds() { awk -v n="$nfiles" '$3 == n && $4 == n {c++} END {print c + 0}' "$times/$1"; }
report() { # tool label: the median time, how many rounds completed, each round
	printf '%-25s: %ss  complete in %s of %s rounds  %s\n' "$2" "$(median "$times/$1")" "$(complete_rounds "$1")" "$rounds" "$of"
	awk -v n="$nfiles" '{printf "  round %d: %ss, exit %s%s, %s of %s files arrived, %s with the right md5, %s connections cut\n", NR, $1, $2, ($2 == 124 || $2 == 137 ? " (timed out)" : ""), $3, n, $4, $5}' "$times/$1"
}
report chama-flaky "chama push (flaky)"
if [ $have_lftp = 1 ]; then
	report lftp-flaky "lftp mput -c -P $n (flaky)"
	tf_chama=$(median "$times/chama-flaky")
	tf_lftp=$(median "$times/lftp-flaky")
	if [ "$(complete_rounds chama-flaky)" != "$rounds" ]; then
		verdict="missed: chama did not complete every round"
	elif [ "$(complete_rounds lftp-flaky)" != "$rounds" ]; then
		verdict="met: chama completed, lftp did not complete every round"
	elif awk -v c="$tf_chama" -v l="$tf_lftp" 'BEGIN{exit !(c <= l)}'; then
		verdict="met"
	else
		verdict="missed: chama took longer"
	fi
	echo "ratio lftp/chama (flaky): $(awk -v a="$tf_lftp" -v b="$tf_chama" 'BEGIN{printf "%.2fx", a/b}') time (target: chama completes, in no more than lftp's time): $verdict"
fi
clean_remote
