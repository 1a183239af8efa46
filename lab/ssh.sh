#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Run a command in the lab's dom0 (or open a shell there) over SSH.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

[ -s "$XENLAB_STATE/ssh.env" ] || xenlab_die "no lab is running (start one with up.sh)"
# shellcheck source=/dev/null
. "$XENLAB_STATE/ssh.env"
exec ssh -i "$XENLAB_SSH_KEY" -p "$XENLAB_SSH_PORT" -o BatchMode=yes \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
  root@127.0.0.1 "$@"
