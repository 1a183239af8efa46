#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the real-Xen lab's guest source: a Debian bookworm root file system as
# an uncompressed tarball, for `xen-create-image --install-method=tar` in the
# lab dom0. The tarball sits on a small ext4 disk that up.sh attaches
# read-only to the lab and mounts at /srv/xenlab (guest-bookworm.tar).
#
# Made on the host, where it is fast: under TCG xen-tools would otherwise
# debootstrap and install a kernel inside the dom0, slowly. The tree holds
# what xen-tools' hooks would install (linux-image-amd64 for pygrub,
# openssh-server, locales), so no hook has to install anything; kernel
# modules that a PV guest never loads, translations and documentation are
# left out to keep the tarball, and each untar under TCG, small.
#
# Output, in "$XENLAB_GUEST_DIR" (default: a folder under the machine's cache
# named after a hash of this script):
#   data.img        ext4, label xenlabdata, holding guest-bookworm.tar
#   versions.txt    the guest's packages, for the record
#
# Usage: build-guest.sh            build unless a complete one exists
#        build-guest.sh --print    print the folder and exit
#        build-guest.sh --force    rebuild
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

XENLAB_SUITE=bookworm
XENLAB_MIRROR=${XENLAB_MIRROR:-http://deb.debian.org/debian}
XENLAB_GUEST_PACKAGES=(
  systemd-sysv udev kmod ifupdown isc-dhcp-client iproute2
  openssh-server locales
  linux-image-amd64 initramfs-tools zstd
)
# xen-tools' hook 82-install-grub-legacy installs grub-legacy for pygrub
# (menu.lst) when the guest lacks it, from the mirror: 44 s of every build
# under TCG. With every package the hooks want already in the tree, the lab
# points xen-tools at no mirror at all (extensions/molecule/xen/molecule.yml). Installed
# after the kernel, whose postinst would otherwise run grub-legacy's
# update-grub here, where there is no /boot/grub (the hook makes menu.lst).
XENLAB_GUEST_BOOTLOADER=grub-legacy
# The kernel modules a PV guest keeps (29 of 150 MiB): its Xen front ends,
# ext4, networking, crypto. Hardware drivers, sound, wireless and other file
# systems would be untarred by every build under TCG for nothing.
XENLAB_GUEST_KEEP_MODULES='/kernel/(arch|crypto|lib|mm|virt)/|/kernel/fs/(ext4|jbd2|mbcache|autofs|fuse|overlayfs|nls|efivarfs)|/kernel/net/(ipv4|ipv6|packet|unix|core|netfilter|bridge|8021q|sched|llc|802)/|/kernel/drivers/(xen|block|char|net/xen-netfront|net/tun|net/veth|net/dummy)'

mode=${1:-build}
guest_dir=$(xenlab_guest_dir)
case "$mode" in
  --print) echo "$guest_dir"; exit 0 ;;
  --force) rm -rf "$guest_dir" ;;
  build) ;;
  *) echo "usage: $0 [--print|--force]" >&2; exit 2 ;;
esac

if [ -f "$guest_dir/.complete" ]; then
  xenlab_log "guest tarball ready: $guest_dir"
  exit 0
fi

[ "$(id -u)" = 0 ] || xenlab_die "build-guest.sh needs root (debootstrap, chroot)"
for tool in debootstrap mkfs.ext4 chroot tar; do
  command -v "$tool" >/dev/null ||
    xenlab_die "missing tool: $tool (apt-get install debootstrap e2fsprogs)"
done

mkdir -p "$(dirname "$guest_dir")"
work=$(mktemp -d "$(dirname "$guest_dir")/guest-build.XXXXXX")
root="$work/root"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
xenlab_log "guest: debootstrap $XENLAB_SUITE from $XENLAB_MIRROR"
debootstrap --variant=minbase --include=ca-certificates \
  "$XENLAB_SUITE" "$root" "$XENLAB_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 40 "$work/debootstrap.log" >&2
  xenlab_die "guest debootstrap failed"
}
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount -t sysfs sys "$root/sys" && mounted+=("$root/sys")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

xenlab_log "guest: apt-get install ${XENLAB_GUEST_PACKAGES[*]} $XENLAB_GUEST_BOOTLOADER"
chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 apt-get update -q >"$work/apt.log" 2>&1
chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
  apt-get install -y -q --no-install-recommends "${XENLAB_GUEST_PACKAGES[@]}" >>"$work/apt.log" 2>&1 || {
  tail -n 60 "$work/apt.log" >&2
  xenlab_die "apt-get install in the guest chroot failed"
}
chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
  apt-get install -y -q --no-install-recommends "$XENLAB_GUEST_BOOTLOADER" >>"$work/apt.log" 2>&1 || {
  tail -n 60 "$work/apt.log" >&2
  xenlab_die "apt-get install $XENLAB_GUEST_BOOTLOADER in the guest chroot failed"
}
# A small initramfs that loads exactly what a PV guest needs to mount its
# root. Debian's default (MODULES=most) unpacks to 130 MiB: a 128M guest
# crashed in a loop before reaching it, and every guest spent seconds of
# emulated CPU decompressing it. The drivers are loaded by the initramfs
# itself, not left to udev's coldplug: under TCG a guest now and then came
# up without them, waited for /dev/xvda2 and ignored shutdown requests.
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
printf '%s\n' xen-blkfront xen-netfront ext4 crc32c_generic >>"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u >>"$work/apt.log" 2>&1 || {
  tail -n 20 "$work/apt.log" >&2
  xenlab_die "update-initramfs in the guest chroot failed"
}
chroot "$root" dpkg-query -W -f "\${Package} \${Version}\n" >"$work/versions.txt"
chroot "$root" apt-get clean

kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
[ -n "$kver" ] || xenlab_die "no kernel modules in the guest tree"
find "$root/lib/modules/$kver/kernel" -name '*.ko*' | { grep -Ev "$XENLAB_GUEST_KEEP_MODULES" || true; } | xargs -r rm -f
rm -f "$root/lib/modules/$kver/kernel/lib"/test_*.ko*
find "$root/lib/modules/$kver/kernel" -depth -type d -empty -delete
# KVM's modules, never loaded in a PV guest: 3.5 MiB.
rm -rf "$root/lib/modules/$kver/kernel/arch/x86/kvm"
chroot "$root" depmod -a "$kver"
# Translations, udev's hwdb (sources and the compiled hwdb.bin: a PV
# guest's devices need no vendor database; udev does without it), and the
# locale sources (locales' postinst has run; the hooks only set LANG=C):
# 73 MiB that every build would untar under TCG.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/lib/udev/hwdb.d/* "$root"/usr/lib/udev/hwdb.bin \
  "$root"/usr/share/i18n/locales/* \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
# The lab's xen-tools mirror is a closed port (lab/inventory): apt in the
# hooks should give up at once, not retry with back-off (9 s a build).
printf 'Acquire::Retries "0";\n' >"$root/etc/apt/apt.conf.d/99xenlab-no-retries"
# xen-tools makes the guest's SSH host keys unique per guest (hook
# 70-install-ssh); none may ship in the tarball.
rm -f "$root"/etc/ssh/ssh_host_*

for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
  umount "${mounted[$i]}"
done
mounted=()
rm -f "$root/usr/sbin/policy-rc.d"

mkdir -p "$work/data" "$work/out"
tar --numeric-owner -C "$root" -cf "$work/data/guest-bookworm.tar" .
tar_mib=$(($(stat -c %s "$work/data/guest-bookworm.tar") / 1048576))
xenlab_log "guest: tarball ${tar_mib} MiB, packing it into data.img"
mkfs.ext4 -q -F -L xenlabdata -m 0 -d "$work/data" "$work/out/data.img" "$((tar_mib + tar_mib / 10 + 64))M"
mv "$work/versions.txt" "$work/out/"
touch "$work/out/.complete"
rm -rf "$guest_dir"
mv "$work/out" "$guest_dir"
find "$(dirname "$guest_dir")" -mindepth 1 -maxdepth 1 -name 'guest-*' \
  ! -path "$guest_dir" ! -name 'guest-build.*' -exec rm -rf {} +
xenlab_log "guest tarball built in $(($(date +%s) - start))s: $guest_dir"
