#!/usr/bin/env bash
# make bench-push: chama push against `lftp mput -P N` and `rclone copy
# --transfers N`, same files (>= 1 GB of gzip files, ~100 MB each, the
# platform's realistic size), same N, same OpenSSH sshd on loopback.
# Prints each time, throughput and the ratios.
#
# Environment: CHAMA (binary, default bin/chama), BENCH_DIR (default
# /tmp/chama-bench-push; the files are generated once and reused), FILES
# (default 11), FILE_MB (default 100), N (parallel transfers, default 4),
# ROUNDS (default 1: each tool runs ROUNDS times, the best time counts).
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
date=20241212
iface=51007

[ -x "$chama" ] || { echo "bench-push: $chama missing; run make build" >&2; exit 1; }
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

# 2. sshd on a loopback port, keys in a scratch folder.
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
trap 'kill $sshd_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
	ssh-keyscan -p "$port" -t ed25519 127.0.0.1 >"$keys/known_hosts" 2>/dev/null && [ -s "$keys/known_hosts" ] && break
	sleep 0.1
done
[ -s "$keys/known_hosts" ] || { echo "bench-push: sshd did not start:" >&2; cat "$keys/sshd.log" >&2; exit 1; }
user=$(id -un)

cat >"$dir/chama.yaml" <<EOF
workdir: $dir/work
sources:
  none: {type: file, root: $dir}
targets:
  bench:
    primary: [{host: 127.0.0.1, port: $port}]
    user: $user
    auth: {key_file: $keys/id}
    known_hosts: $keys/known_hosts
    dir: $remote
    connections_per_host: $n
    transfers_per_connection: 1
interfaces:
  "$iface":
    source: none
    path: ods/dt={date}
    routes: [{target: bench}]
EOF

clean_remote() { rm -rf "$remote"; mkdir -p "$remote"; }
check_remote() {
	local got
	got=$(ls "$remote"/*.gz 2>/dev/null | wc -l)
	[ "$got" = "$nfiles" ] || { echo "bench-push: $1 delivered $got of $nfiles files" >&2; exit 1; }
}

best() { # tool command...: runs ROUNDS times, prints the best seconds
	local name=$1 b="" t0 t1 s
	shift
	for _ in $(seq 1 "$rounds"); do
		clean_remote
		rm -f "$out"/delivery-*.json
		sync
		t0=$(now)
		"$@" >"$dir/$name.log" 2>&1 || { echo "bench-push: $name failed:" >&2; tail -20 "$dir/$name.log" >&2; exit 1; }
		t1=$(now)
		check_remote "$name"
		s=$(secs "$t0" "$t1")
		if [ -z "$b" ] || awk -v s="$s" -v b="$b" 'BEGIN{exit !(s<b)}'; then b=$s; fi
	done
	echo "$b"
}

mbs() { awk -v b="$total" -v s="$1" 'BEGIN{printf "%.1f", b/1048576/s}'; }

echo "bench-push: $nfiles files, $((total / 1048576)) MiB, N=$n, sshd $("$sshd" -V 2>&1 | head -1 || true) on 127.0.0.1:$port, $(nproc) cores (shared machine: figures are noisy)"

t_chama=$(best chama "$chama" --config "$dir/chama.yaml" push --date "$date")
echo "chama push            : ${t_chama}s  $(mbs "$t_chama") MiB/s"

if [ $have_lftp = 1 ]; then
	ssh_cmd="ssh -a -x -i $keys/id -o UserKnownHostsFile=$keys/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes"
	t_lftp=$(best lftp lftp -c "set sftp:connect-program '$ssh_cmd'; open -u $user, -p $port sftp://127.0.0.1; cd $remote; lcd $out; mput -P $n *.gz")
	echo "lftp mput -P $n        : ${t_lftp}s  $(mbs "$t_lftp") MiB/s"
	echo "ratio chama/lftp      : $(awk -v a="$t_lftp" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}') throughput (target >= 1.2x)"
	ssh_gcm="$ssh_cmd -c aes128-gcm@openssh.com"
	t_lftp_gcm=$(best lftp-gcm lftp -c "set sftp:connect-program '$ssh_gcm'; open -u $user, -p $port sftp://127.0.0.1; cd $remote; lcd $out; mput -P $n *.gz")
	echo "lftp (aes128-gcm)     : ${t_lftp_gcm}s  $(mbs "$t_lftp_gcm") MiB/s  (same cipher as chama, for reference)"
	echo "ratio chama/lftp-gcm  : $(awk -v a="$t_lftp_gcm" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}')"
fi
if [ $have_rclone = 1 ]; then
	t_rclone=$(best rclone rclone copy --transfers "$n" --include '*.gz' "$out" ":sftp,host=127.0.0.1,port=$port,user=$user,key_file=$keys/id,known_hosts_file=$keys/known_hosts:$remote")
	echo "rclone --transfers $n  : ${t_rclone}s  $(mbs "$t_rclone") MiB/s"
	echo "ratio chama/rclone    : $(awk -v a="$t_rclone" -v b="$t_chama" 'BEGIN{printf "%.2fx", a/b}') throughput"
fi
clean_remote
