#!/usr/bin/env bash
# Look for data corruption inside the running lab's dom0 while guests start.
#
# Twice in CI a module's code reached the dom0's python corrupted soon after a
# guest had started (issue 5). Each round here starts GUEST (xl create from
# /etc/xen/GUEST.cfg) and meanwhile
#   - pipes a random payload over SSH into the dom0's python, which hashes it
#     (the path a pipelined Ansible module takes), several times;
#   - keeps 64 MiB of random bytes resident in a dom0 python process and
#     re-hashes them every second (anonymous memory going bad);
# then destroys the guest. Prints one line per round and a summary; exits 1
# when any hash differed.
#
# Usage: lab/integrity-probe.sh [ROUNDS (default 10)] [GUEST (default kxlab1)]
# PROBE_PAYLOAD_MIB (default 4), PROBE_PIPES (per round, default 6) and
# PROBE_WATCH_S (how long the memory watcher runs per round, default 60).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-10}
guest=${2:-kxlab1}
payload_mib=${PROBE_PAYLOAD_MIB:-4}
pipes=${PROBE_PIPES:-6}
watch_s=${PROBE_WATCH_S:-60}
ssh_dom0() { "$here/ssh.sh" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c "$((payload_mib * 1024 * 1024))" /dev/urandom >"$work/payload"
want=$(sha256sum "$work/payload" | cut -d' ' -f1)
hash_stdin='import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
# Resident memory watcher: hashes the same buffer every second for $1 s and
# prints how many times the hash differed from the first one.
watch_memory='import hashlib, os, sys, time
buf = bytearray(os.urandom(64 << 20)); first = hashlib.sha256(buf).digest(); bad = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    time.sleep(1)
    bad += hashlib.sha256(buf).digest() != first
print(bad)'

ssh_dom0 test -f "/etc/xen/$guest.cfg" || { echo "no /etc/xen/$guest.cfg in the lab dom0" >&2; exit 2; }
total_bad_pipe=0 total_bad_mem=0 total_pipes=0
for round in $(seq 1 "$rounds"); do
  start=$(date +%s)
  ssh_dom0 "xl destroy $guest >/dev/null 2>&1; true"
  ssh_dom0 python3 -c "'$watch_memory'" "$watch_s" >"$work/mem" &
  mem_pid=$!
  ssh_dom0 xl create -q "/etc/xen/$guest.cfg" >"$work/create" 2>&1 &
  create_pid=$!
  bad_pipe=0
  for _ in $(seq 1 "$pipes"); do
    got=$(ssh_dom0 python3 -c "'$hash_stdin'" <"$work/payload" || echo failed)
    [ "$got" = "$want" ] || bad_pipe=$((bad_pipe + 1))
  done
  create_rc=0
  wait "$create_pid" || create_rc=$?
  wait "$mem_pid" || true
  bad_mem=$(cat "$work/mem")
  total_pipes=$((total_pipes + pipes))
  total_bad_pipe=$((total_bad_pipe + bad_pipe))
  total_bad_mem=$((total_bad_mem + ${bad_mem:-1}))
  echo "round $round: xl create rc=$create_rc, piped payloads bad $bad_pipe/$pipes," \
    "resident memory re-hashes bad ${bad_mem:-?}, $(($(date +%s) - start)) s"
done
ssh_dom0 "xl destroy $guest >/dev/null 2>&1; true"
echo "integrity-probe: $rounds rounds, ${payload_mib} MiB payloads: $total_bad_pipe/$total_pipes piped payloads bad," \
  "$total_bad_mem resident memory re-hashes bad"
[ "$total_bad_pipe" -eq 0 ] && [ "$total_bad_mem" -eq 0 ]
