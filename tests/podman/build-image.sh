#!/bin/sh
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the local base image for the Molecule scenarios with debootstrap.
# No container registry is reachable, so the image is made from a minimal
# Debian tree and imported. Skipped when the image already exists.
#
# Usage: tests/podman/build-image.sh [release] [mirror]
set -eu

release="${1:-bookworm}"
mirror="${2:-http://deb.debian.org/debian}"
image="localhost/debian-${release}:molecule"
here="$(cd "$(dirname "$0")" && pwd)"

CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
export CONTAINERS_CONF

if podman image exists "$image"; then
    echo "$image exists; nothing to do (podman rmi $image to rebuild)"
    exit 0
fi

work="$(mktemp -d /var/tmp/molecule-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT INT TERM

debootstrap --variant=minbase \
    --include=python3,systemd-sysv,iproute2,procps \
    "$release" "$work/root" "$mirror"
# Keep apt's lists so the scenarios can install packages straight away.
tar -C "$work/root" -cf "$work/root.tar" .
podman import --change 'CMD ["/sbin/init"]' "$work/root.tar" "$image"
echo "built $image"
