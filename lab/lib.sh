# shellcheck shell=bash
# Shared settings and helpers of the real-Xen lab scripts (sourced, not run).

XENLAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XENLAB_REPO=$(cd "$XENLAB_HOME/.." && pwd)
# Built images outlive a clone: CI runs in a fresh clone on the same machine.
XENLAB_CACHE=${XENLAB_CACHE:-/var/cache/kuutorvaja-xenlab}
# One running lab per clone.
XENLAB_STATE=${XENLAB_STATE:-$XENLAB_REPO/.cache/xenlab}

xenlab_log() { printf 'xenlab: %s\n' "$*" >&2; }
xenlab_die() { printf 'xenlab: error: %s\n' "$*" >&2; exit 1; }

# The image folder, named after the build script's hash: editing what goes
# into the image builds a new one.
xenlab_image_dir() {
  if [ -n "${XENLAB_IMAGE_DIR:-}" ]; then
    echo "$XENLAB_IMAGE_DIR"
    return
  fi
  local hash
  hash=$(sha256sum "$XENLAB_HOME/build-image.sh" | cut -c1-12)
  echo "$XENLAB_CACHE/image-$hash"
}

# The guest tarball's folder, named after build-guest.sh's hash.
xenlab_guest_dir() {
  if [ -n "${XENLAB_GUEST_DIR:-}" ]; then
    echo "$XENLAB_GUEST_DIR"
    return
  fi
  local hash
  hash=$(sha256sum "$XENLAB_HOME/build-guest.sh" | cut -c1-12)
  echo "$XENLAB_CACHE/guest-$hash"
}
