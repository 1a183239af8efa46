#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# make test: the whole suite. The two lab scenarios (make lab-test: site.yml
# and the guest proofs; make lab-faults-test: the fault suite, on a second
# lab) are by far the longest parts and each mostly waits on its QEMU's one
# TCG thread, so they start first, in the background, one host core each,
# and the checks and the container scenarios run meanwhile, at low
# priority. The labs' output goes to logs that are shown once the checks
# are done, then followed live: they never interleave. Any part failing
# fails the suite; failed checks stop the labs (lab-down).
set -uo pipefail
cd "$(dirname "$0")/.." || exit

# Every part needs these; made once here so that they do not race.
make --no-print-directory deps venv || exit

lab_log=.cache/lab-test.log
faults_log=.cache/lab-faults-test.log
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

echo "== make test: the lab scenarios start in the background (make lab-test, log $lab_log;" \
  "make lab-faults-test, log $faults_log)"
setsid make --no-print-directory lab-test >"$lab_log" 2>&1 &
lab_pid=$!
setsid make --no-print-directory lab-faults-test >"$faults_log" 2>&1 &
faults_pid=$!

stop_labs() {
  kill -TERM -- "-$lab_pid" "-$faults_pid" 2>/dev/null
  wait "$lab_pid" "$faults_pid"
  make --no-print-directory lab-down >/dev/null 2>&1
}

# The kernel's autogroups (sched_autogroup_enabled) share the CPU between
# sessions whatever the nice values inside each: the labs run in sessions
# of their own (setsid above), and with the checks in this one, niced, each
# of the three still got a third of the machine (the labs' steps before
# their side effects ran 1.5 to 2.5 times slower while the checks ran). So
# the checks get a session of their own, at the lowest autogroup weight
# (where there are no autogroups the plain nice does it): the labs, the
# long pole, then run at full speed, the checks take what CPU the labs
# leave and finish after them. Their waits on other processes are bounded
# by tests/unit/conftest_helpers.py's PATIENCE, sized for that.
setsid sh -c '{ echo 19 >/proc/self/autogroup; } 2>/dev/null; exec nice -n 10 make --no-print-directory check molecule' &
checks_pid=$!
trap 'kill -TERM -- "-$checks_pid" 2>/dev/null' INT TERM
wait "$checks_pid"
rc=$?
trap - INT TERM
if [ "$rc" -ne 0 ]; then
  echo "== make test: the checks failed (exit $rc) after $(elapsed); stopping the lab scenarios"
  stop_labs
  exit "$rc"
fi

echo "== make test: checks and container scenarios passed after $(elapsed); the fault suite's lab so far, then live:"
tail -n +1 -f --pid="$faults_pid" "$faults_log"
wait "$faults_pid"
faults_rc=$?
echo "== make test: the fault suite's lab scenario ended (exit $faults_rc) after $(elapsed)"
echo "== make test: the main lab scenario so far, then live:"
tail -n +1 -f --pid="$lab_pid" "$lab_log"
wait "$lab_pid"
lab_rc=$?
echo "== make test: the main lab scenario ended (exit $lab_rc) after $(elapsed)"
if [ "$faults_rc" -ne 0 ]; then
  echo "== make test: the fault suite's lab scenario failed (exit $faults_rc; its log is above)"
  exit "$faults_rc"
fi
exit "$lab_rc"
