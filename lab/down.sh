#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Stop the real-Xen lab started by up.sh and drop its throw-away disk.
# Stopping a lab that is not running is not an error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

pidfile="$XENLAB_STATE/qemu.pid"
if [ -s "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid"
    fi
    xenlab_log "stopped QEMU (pid $pid)"
  fi
fi
rm -f "$pidfile" "$XENLAB_STATE/dom0.qcow2" "$XENLAB_STATE/lvm.img" "$XENLAB_STATE/ssh.env"
