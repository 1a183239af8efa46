#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# make test: the whole suite. The lab's scenario (make lab-test) is by far
# the longest part and mostly waits on QEMU's one TCG thread, so it starts
# first, in the background, and the checks and the container scenarios run
# meanwhile, niced, on the machine's other core. The lab's output goes to a log that
# is shown once they are done, then followed live: the two never interleave.
# Either failing fails the suite; failed checks stop the lab (lab-down).
set -uo pipefail
cd "$(dirname "$0")/.." || exit

# Both halves need these; made once here so that they do not race.
make --no-print-directory deps venv || exit

lab_log=.cache/lab-test.log
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

echo "== make test: the lab scenario starts in the background (make lab-test; log $lab_log)"
# Its own session, so that a failed check can stop all of it.
setsid make --no-print-directory lab-test >"$lab_log" 2>&1 &
lab_pid=$!

# Niced: the lab's TCG thread keeps its core, and the lab stays the critical path.
nice -n 10 make --no-print-directory check molecule
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "== make test: the checks failed (exit $rc) after $(elapsed); stopping the lab scenario"
  kill -TERM -- "-$lab_pid" 2>/dev/null
  wait "$lab_pid"
  make --no-print-directory lab-down >/dev/null 2>&1
  exit "$rc"
fi

echo "== make test: checks and container scenarios passed after $(elapsed); the lab scenario so far, then live:"
tail -n +1 -f --pid="$lab_pid" "$lab_log"
wait "$lab_pid"
rc=$?
echo "== make test: the lab scenario ended (exit $rc) after $(elapsed)"
exit "$rc"
