#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Build the real-Xen lab's dom0 disk: Debian bookworm with Xen 4.17 and GRUB,
# booting the way a real dom0 does (BIOS -> GRUB -> Xen -> dom0 kernel), so
# that what the collection writes to /etc/default/grub takes effect on reboot.
#
# 1. debootstrap into a folder, apt-get install the packages in a chroot;
# 2. pack the folder into an ext4 partition of a partitioned disk file
#    (mkfs.ext4 -d and sfdisk on files: no loop devices, no mounts);
# 3. boot that disk once in QEMU with a plain Linux kernel, where Debian's
#    own grub-install and update-grub install the bootloader, then power off.
#
# Output, in "$XENLAB_IMAGE_DIR" (default: a folder under the machine's cache
# named after a hash of this script, so that an edit here builds a new one):
#   dom0.qcow2            the boot disk (MBR, one ext4 partition)
#   id_ed25519{,.pub}     the key that root's authorized_keys holds
#   versions.txt          what was installed, for the record
#   firstboot.log         the console of step 3
#
# Usage: build-image.sh            build unless a complete image exists
#        build-image.sh --print    print the image folder and exit
#        build-image.sh --force    rebuild
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

# Everything that goes into the image is set here, so that the hash of this
# file names the image.
XENLAB_SUITE=bookworm
XENLAB_MIRROR=${XENLAB_MIRROR:-http://deb.debian.org/debian}
XENLAB_SECURITY_MIRROR=${XENLAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
XENLAB_DISK_MIB=16384
# Xen is in the image so that the lab boots a dom0 from the start; the
# collection's xen_hypervisor role finds it installed, writes its GRUB and
# toolstack settings and reboots into them. The HVM device model and
# firmware (qemu-system-xen, seabios), lvm2 and nftables (the xen_network
# role's NAT mode) are here for the same reason: the roles install them when
# HVM, LVM or NAT is wanted, and dpkg under TCG would cost minutes of every
# CI run (nftables alone about 50 s); the roles find them installed. The
# roles' apt step stays proven live by the converge, which installs
# xen-tools and bridge-utils.
XENLAB_PACKAGES=(
  systemd-sysv udev kmod dbus ifupdown isc-dhcp-client iproute2 iputils-ping
  openssh-server python3 python3-apt sudo
  linux-image-amd64 initramfs-tools zstd grub-pc
  xen-system-amd64
  qemu-system-xen seabios lvm2 nftables
)
# QEMU's default NIC address; the lab names that NIC eth0 as in the guide.
XENLAB_MAC=52:54:00:12:34:56
# The second NIC (up.sh: on a QEMU hub of its own, so nothing it sends
# leaves the VM) is eth1, the guide's second network for xenbr1.
XENLAB_MAC1=52:54:00:12:34:57

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
for tool in debootstrap mkfs.ext4 sfdisk qemu-img qemu-system-x86_64 ssh-keygen chroot; do
  command -v "$tool" >/dev/null ||
    xenlab_die "missing tool: $tool (apt-get install debootstrap e2fsprogs fdisk qemu-utils qemu-system-x86 openssh-client)"
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
LABEL=dom0root	/	ext4	errors=remount-ro	0	1
EOF
# The NICs are eth0 and eth1 whatever the kernel command line says (the collection may
# replace the dom0's), so that SSH comes back after its reboot.
cat >"$root/etc/systemd/network/10-xenlab-eth0.link" <<EOF
[Match]
MACAddress=$XENLAB_MAC

[Link]
Name=eth0
EOF
cat >"$root/etc/systemd/network/10-xenlab-eth1.link" <<EOF
[Match]
MACAddress=$XENLAB_MAC1

[Link]
Name=eth1
EOF
cat >"$root/etc/network/interfaces" <<'EOF'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF
# Consoles on the first serial port (the lab's console.log): GRUB, Xen
# (com1) and, through Xen, the dom0 (hvc0). The collection's own drop-in
# (zz-kuutorvaja-xen.cfg) sorts after this one and wins where both set a
# variable.
cat >"$root/etc/default/grub.d/xenlab.cfg" <<'EOF'
GRUB_TIMEOUT=1
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
GRUB_CMDLINE_LINUX_XEN_REPLACE="console=hvc0 earlyprintk=xen"
GRUB_CMDLINE_XEN_DEFAULT="console=com1 com1=115200,8n1"
EOF
# Runs once, in step 3: Debian's own tools install GRUB on the real disk, and
# the initramfs is rebuilt with only the modules this machine needs (a
# smaller file for GRUB to load at every boot). After that, packages that
# ask for a new initramfs (bridge-utils, for one) get none: under TCG a
# rebuild in the dom0 takes longer than the rest of a converge, and the lab's
# kernel never changes.
cat >"$root/usr/local/sbin/xenlab-firstboot" <<'EOF'
#!/bin/sh
# xenlab image build, step 3: install GRUB on the boot disk, then power off.
trap 'echo XENLAB-FIRSTBOOT-FAILED >/dev/ttyS0; systemctl poweroff' EXIT
set -e
echo 'grub-pc grub-pc/install_devices multiselect /dev/vda' | debconf-set-selections
grub-install /dev/vda
echo MODULES=dep >/etc/initramfs-tools/conf.d/xenlab.conf
update-initramfs -u
sed -i 's/^update_initramfs=.*/update_initramfs=no/' /etc/initramfs-tools/update-initramfs.conf
update-grub
systemctl disable xenlab-firstboot.service
rm -f /etc/systemd/system/xenlab-firstboot.service /usr/local/sbin/xenlab-firstboot
sync
trap - EXIT
echo XENLAB-FIRSTBOOT-OK >/dev/ttyS0
systemctl poweroff
EOF
chmod 0755 "$root/usr/local/sbin/xenlab-firstboot"
cat >"$root/etc/systemd/system/xenlab-firstboot.service" <<'EOF'
[Unit]
Description=xenlab image build: install GRUB
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xenlab-firstboot
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
chroot "$root" systemctl enable xenlab-firstboot.service >/dev/null 2>&1
# Periodic apt jobs would hold the dpkg lock while Ansible runs.
for unit in apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

ssh-keygen -q -t ed25519 -N '' -C xenlab -f "$work/id_ed25519"
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"

chroot "$root" dpkg-query -W -f "\${Package} \${Version}\n" >"$work/versions.txt"

out="$work/out"
mkdir -p "$out"
kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd=$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
  xenlab_die "no vmlinuz/initrd in $root/boot: $(ls "$root/boot")"
fi
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd.img"
mv "$work/id_ed25519" "$work/id_ed25519.pub" "$work/versions.txt" "$out/"

for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
  umount "${mounted[$i]}"
done
mounted=()
rm -f "$root/usr/sbin/policy-rc.d"

xenlab_log "packing the root file system into a ${XENLAB_DISK_MIB} MiB disk"
mkfs.ext4 -q -F -L dom0root -d "$root" "$work/part.ext4" "$((XENLAB_DISK_MIB - 1))M"
truncate -s "${XENLAB_DISK_MIB}M" "$work/disk.raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$work/disk.raw"
dd if="$work/part.ext4" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$work/part.ext4"
qemu-img convert -O qcow2 "$work/disk.raw" "$out/dom0.qcow2"
rm -f "$work/disk.raw"

xenlab_log "first boot: grub-install and update-grub inside the image"
timeout 900 qemu-system-x86_64 \
  -machine pc -accel tcg,thread=multi -cpu max -m 1024 -smp 2 \
  -display none -vga none -nodefaults -no-user-config -no-reboot \
  -serial "file:$out/firstboot.log" \
  -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
  -append "root=LABEL=dom0root rw console=ttyS0,115200" \
  -drive "file=$out/dom0.qcow2,if=virtio,format=qcow2" -nic none ||
  xenlab_die "first boot did not power off cleanly; console: $out/firstboot.log"
grep -q XENLAB-FIRSTBOOT-OK "$out/firstboot.log" || {
  tail -n 40 "$out/firstboot.log" >&2
  xenlab_die "grub-install/update-grub failed in the first boot"
}

touch "$out/.complete"
rm -rf "$image_dir"
mv "$out" "$image_dir"
# Images of earlier versions of this script are of no more use.
find "$(dirname "$image_dir")" -mindepth 1 -maxdepth 1 -name 'image-*' \
  ! -path "$image_dir" -exec rm -rf {} +
xenlab_log "image built in $(($(date +%s) - start))s: $image_dir"
