# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared settings and helpers of the real-Xen lab scripts (sourced, not run).

XENLAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XENLAB_REPO=$(cd "$XENLAB_HOME/.." && pwd)
# Built images outlive a clone: CI runs in a fresh clone on the same machine.
XENLAB_CACHE=${XENLAB_CACHE:-/var/cache/kuutorvaja-xenlab}
# One running lab per clone.
XENLAB_STATE=${XENLAB_STATE:-$XENLAB_REPO/.cache/xenlab}

# Log lines carry the time since the first lab script of this run started
# (up.sh's children inherit XENLAB_T0), so a long stage shows how long it ran.
XENLAB_T0=${XENLAB_T0:-$(date +%s)}
export XENLAB_T0
xenlab_log() {
  local t=$(($(date +%s) - XENLAB_T0))
  printf 'xenlab [%d:%02d]: %s\n' $((t / 60)) $((t % 60)) "$*" >&2
}
xenlab_die() { printf 'xenlab: error: %s\n' "$*" >&2; exit 1; }

# A cached build's folder, named after the hash of the script that makes
# it ($2): editing what goes into the build makes a new one. $3, when set,
# overrides it.
xenlab_cached_dir() {
  if [ -n "${3:-}" ]; then
    echo "$3"
    return
  fi
  local hash
  hash=$(sha256sum "$XENLAB_HOME/$2" | cut -c1-12)
  echo "$XENLAB_CACHE/$1-$hash"
}

# The dom0 image (build-image.sh) and the guest tarball (build-guest.sh).
xenlab_image_dir() { xenlab_cached_dir image build-image.sh "${XENLAB_IMAGE_DIR:-}"; }
xenlab_guest_dir() { xenlab_cached_dir guest build-guest.sh "${XENLAB_GUEST_DIR:-}"; }
