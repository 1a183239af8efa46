#!/usr/bin/env bash
# Build the real-Xen lab's dom0 image: Debian bookworm with Xen 4.17, made by
# debootstrap into a folder and packed into an ext4 file system image (no loop
# devices, no partition table, no bootloader: QEMU loads Xen and the dom0
# kernel directly, see up.sh).
#
# Output, in "$XENLAB_IMAGE_DIR" (default: a folder under the machine's cache
# named after a hash of this script and its inputs, so that an edit rebuilds):
#   dom0.qcow2            the root file system (ext4, whole disk, no partitions)
#   xen                   the hypervisor, decompressed (QEMU's multiboot loader
#                         cannot read xen.gz)
#   vmlinuz, initrd.img   the dom0 kernel and its initramfs
#   id_ed25519{,.pub}     the key that root's authorized_keys holds
#   versions.txt          what was installed, for the record
#
# Usage: build-image.sh            build unless a complete image exists
#        build-image.sh --print    print the image folder and exit
#        build-image.sh --force    rebuild
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/xen/lib.sh
. "$here/lib.sh"

# Everything that goes into the image is set here, so that the hash of this
# file names the image.
XENLAB_SUITE=bookworm
XENLAB_MIRROR=${XENLAB_MIRROR:-http://deb.debian.org/debian}
XENLAB_SECURITY_MIRROR=${XENLAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
XENLAB_DISK_SIZE=16G
# Xen itself is in the image because QEMU boots the hypervisor from the first
# boot on; the collection's dom0 role finds it installed and adds the rest.
XENLAB_PACKAGES=(
  systemd-sysv udev kmod dbus ifupdown isc-dhcp-client iproute2 iputils-ping
  openssh-server python3 python3-apt sudo
  linux-image-amd64 initramfs-tools zstd
  xen-system-amd64
)

mode=${1:-build}
image_dir=$(xenlab_image_dir)
case "$mode" in
  --print) echo "$image_dir"; exit 0 ;;
  --force) rm -rf "$image_dir" ;;
  build) ;;
  *) echo "usage: $0 [--print|--force]" >&2; exit 2 ;;
esac

if [ -f "$image_dir/.complete" ]; then
  xenlab_log "image ready: $image_dir"
  exit 0
fi

[ "$(id -u)" = 0 ] || xenlab_die "build-image.sh needs root (debootstrap, chroot)"
for tool in debootstrap mkfs.ext4 qemu-img ssh-keygen chroot; do
  command -v "$tool" >/dev/null || xenlab_die "missing tool: $tool (apt-get install debootstrap e2fsprogs qemu-utils openssh-client)"
done

mkdir -p "$(dirname "$image_dir")"
work=$(mktemp -d "$(dirname "$image_dir")/build.XXXXXX")
root="$work/root"
mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m=${mounted[$i]}
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
xenlab_log "debootstrap $XENLAB_SUITE from $XENLAB_MIRROR into $root"
debootstrap --variant=minbase --include=ca-certificates \
  "$XENLAB_SUITE" "$root" "$XENLAB_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 40 "$work/debootstrap.log" >&2
  xenlab_die "debootstrap failed"
}

for fs in proc sys dev dev/pts; do
  case "$fs" in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sys "$root/sys" ;;
    dev) mount --bind /dev "$root/dev" ;;
    dev/pts) mount --bind /dev/pts "$root/dev/pts" ;;
  esac
  mounted+=("$root/$fs")
done

# Services must not start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

cat >"$root/etc/apt/sources.list" <<EOF
deb $XENLAB_MIRROR $XENLAB_SUITE main
deb $XENLAB_MIRROR $XENLAB_SUITE-updates main
deb $XENLAB_SECURITY_MIRROR $XENLAB_SUITE-security main
EOF

xenlab_log "apt-get install in the chroot: ${XENLAB_PACKAGES[*]}"
chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 apt-get update -q >"$work/apt.log" 2>&1
chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
  apt-get install -y -q --no-install-recommends "${XENLAB_PACKAGES[@]}" >>"$work/apt.log" 2>&1 || {
  tail -n 60 "$work/apt.log" >&2
  xenlab_die "apt-get install in the chroot failed"
}
chroot "$root" apt-get clean

# Identity and boot configuration of the dom0.
echo dom0 >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	dom0
EOF
cat >"$root/etc/fstab" <<'EOF'
/dev/vda	/	ext4	errors=remount-ro	0	1
EOF
# net.ifnames=0 on the kernel command line keeps the guide's eth0 name.
cat >"$root/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF
# Periodic apt jobs would hold the dpkg lock while Ansible runs.
for unit in apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

ssh-keygen -q -t ed25519 -N '' -C xenlab -f "$work/id_ed25519"
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"

chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$work/versions.txt"

# Kernel, initramfs and hypervisor are loaded by QEMU from outside the disk.
out="$work/out"
mkdir -p "$out"
xen_gz=$(find "$root/boot" -maxdepth 1 -name 'xen-*-amd64.gz' | sort -V | tail -n 1)
kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd=$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)
[ -n "$xen_gz" ] && [ -n "$kernel" ] && [ -n "$initrd" ] ||
  xenlab_die "no xen/vmlinuz/initrd in $root/boot: $(ls "$root/boot")"
gzip -dc "$xen_gz" >"$out/xen"
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
mv "$work/id_ed25519" "$work/id_ed25519.pub" "$work/versions.txt" "$out/"

for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
  umount "${mounted[$i]}"
done
mounted=()
rm -f "$root/usr/sbin/policy-rc.d"

xenlab_log "packing the root file system (${XENLAB_DISK_SIZE})"
mkfs.ext4 -q -F -L dom0root -d "$root" "$work/root.ext4" "$XENLAB_DISK_SIZE"
qemu-img convert -O qcow2 "$work/root.ext4" "$out/dom0.qcow2"
rm -f "$work/root.ext4"

touch "$out/.complete"
rm -rf "$image_dir"
mv "$out" "$image_dir"
xenlab_log "image built in $(($(date +%s) - start))s: $image_dir"
