#!/usr/bin/env bash
# Installs what the benchmarks compare against, from Debian's packages:
# OpenSSH's sshd (the push target), lftp and rclone (push baselines) and
# Miller (the transform baseline). Does nothing when they are all there.
set -euo pipefail
need=()
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v lftp >/dev/null || need+=(lftp)
command -v rclone >/dev/null || need+=(rclone)
command -v mlr >/dev/null || need+=(miller)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "bench: please install ${need[*]} (Debian: apt-get install -y ${need[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
