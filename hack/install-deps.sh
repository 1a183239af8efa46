#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian packages the suite and the lab need, when missing.
# Needs root for apt-get; without root it only lists what is missing.
# grub-pc-bin, xorriso and mtools: grub-mkrescue makes the HVM test's CD image
# (tests/integration/hvm.yml).
set -euo pipefail
packages=(python3-venv git make rsync qemu-system-x86 qemu-utils debootstrap
  podman runc fdisk e2fsprogs openssh-client xz-utils shellcheck
  grub-pc-bin xorriso mtools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: apt-get install ${missing[*]}"
apt-get update -qq
log=$(mktemp)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$log" 2>&1 \
  || { tail -40 "$log"; exit 1; }
rm -f "$log"
