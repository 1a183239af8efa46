#!/usr/bin/env bash
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# Boot the real-Xen lab: Xen 4.17 with a Debian bookworm PV dom0, inside QEMU.
#
# The machine boots its disk as a real dom0 does: BIOS, GRUB, Xen, the dom0
# kernel, so a change the collection makes to GRUB's settings holds after its
# reboot. The dom0 runs from a throw-away qcow2 overlay on the built image
# (build-image.sh); SSH reaches it through a port forwarded on 127.0.0.1
# only. When the dom0 answers `xl list`, one line of JSON on stdout says how
# to reach it:
#   {"address": "127.0.0.1", "port": N, "user": "root", "identity_file": "..."}
#
# With --reuse, a lab of this clone that is already up and answers `xl list`
# is kept: only its JSON line is printed (make lab boots it first, with its
# progress on the terminal, then Molecule's create step reuses it).
#
# Settings (environment): XENLAB_MEM (MiB, default 4096), XENLAB_CPUS (2),
# XENLAB_SSH_PORT (default: a free port), XENLAB_ACCEL (tcg or kvm; default
# tcg), XENLAB_TCG_THREAD (single or multi, default single),
# XENLAB_BOOT_TIMEOUT (seconds, default 1200), XENLAB_STATE (run folder,
# default .cache/xenlab), XENLAB_PCAP (a file: every frame between the dom0
# and QEMU's user network is written there, for network faults).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

mem=${XENLAB_MEM:-4096}
cpus=${XENLAB_CPUS:-2}
accel=${XENLAB_ACCEL:-tcg}
boot_timeout=${XENLAB_BOOT_TIMEOUT:-1200}
tcg_thread=${XENLAB_TCG_THREAD:-single}
pcap_args=()
if [ -n "${XENLAB_PCAP:-}" ]; then
  pcap_args=(-object "filter-dump,id=d0,netdev=n0,file=$XENLAB_PCAP")
fi

case "$accel" in
  # max without SMAP and LA57: the model the recorded Xen 4.17 fixtures ran
  # on. Without XSAVE (so without AVX): with it, the dom0's processes saw
  # their data corrupted while a guest booted (README.md has the figures).
  # Without RDTSCP: TCG's SVM gives Xen no next-RIP for its intercept, so a
  # PVH or HVM guest's first RDTSCP crashed it ("SVM Insn len emulation
  # failed ... 0f 01 f9"); without the flag their kernels never use it.
  tcg) accel_args=(-accel "tcg,thread=$tcg_thread" -cpu "max,-smap,-la57,-xsave,-rdtscp") ;;
  kvm) accel_args=(-accel kvm -cpu host) ;;
  *) xenlab_die "XENLAB_ACCEL must be tcg or kvm, not '$accel'" ;;
esac
case "$tcg_thread" in
  single | multi) ;;
  *) xenlab_die "XENLAB_TCG_THREAD must be single or multi, not '$tcg_thread'" ;;
esac

reuse=false
case "${1:-}" in
  --reuse) reuse=true ;;
  "") ;;
  *) xenlab_die "usage: up.sh [--reuse]" ;;
esac

mkdir -p "$XENLAB_STATE"
pidfile="$XENLAB_STATE/qemu.pid"
console="$XENLAB_STATE/console.log"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  if [ "$reuse" = true ] && [ -s "$XENLAB_STATE/ssh.env" ]; then
    # shellcheck source=/dev/null
    . "$XENLAB_STATE/ssh.env"
    if ssh -i "$XENLAB_SSH_KEY" -p "$XENLAB_SSH_PORT" -o BatchMode=yes -o ConnectTimeout=10 \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      root@127.0.0.1 xl list >/dev/null 2>&1; then
      xenlab_log "reusing the running lab (pid $(cat "$pidfile")), ssh on 127.0.0.1:$XENLAB_SSH_PORT; console: $console"
      printf '{"address": "127.0.0.1", "port": %s, "user": "root", "identity_file": "%s"}\n' \
        "$XENLAB_SSH_PORT" "$XENLAB_SSH_KEY"
      exit 0
    fi
  fi
  xenlab_die "a lab is already running (pid $(cat "$pidfile")); stop it with down.sh"
fi

# Two labs may boot at once (make test runs two): one builds what is not
# cached yet while the other waits for it, then both reuse it.
mkdir -p "$XENLAB_CACHE"
exec 9>"$XENLAB_CACHE/.build.lock"
flock 9
xenlab_log "stage 1/3: the dom0 image (cached; a build takes about 5 minutes)"
"$here/build-image.sh" 9>&-
xenlab_log "stage 2/3: the guest tarball (cached; a build takes about 1.5 minutes)"
"$here/build-guest.sh" 9>&-
exec 9>&-
image_dir=$(xenlab_image_dir)
guest_dir=$(xenlab_guest_dir)

port=${XENLAB_SSH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
disk="$XENLAB_STATE/dom0.qcow2"
rm -f "$disk" "$console"
qemu-img create -q -f qcow2 -F qcow2 -b "$image_dir/dom0.qcow2" "$disk"
# A blank disk for LVM (tests/integration/lvm.yml makes its PV and volume
# group): a sparse raw file, thrown away by down.sh like the overlay. The
# dom0 finds it by its serial, /dev/disk/by-id/virtio-xenlab-lvm, whatever
# its /dev/vdX. Its PCI slot is pinned after the others': QEMU places
# -device ones before the -drive if=virtio ones, and SeaBIOS, booting the
# first disk in slot order, then found this blank one and stopped there.
lvm_disk="$XENLAB_STATE/lvm.img"
[ -e "$lvm_disk" ] || truncate -s 4G "$lvm_disk"

xenlab_log "stage 3/3: booting Xen (accel $accel, ${mem} MiB, $cpus CPUs), ssh on 127.0.0.1:$port;" \
  "serial console: $console (tail -f it to watch; under TCG the boot takes 1 to 2 minutes)"
qemu-system-x86_64 \
  -name xenlab \
  -machine pc "${accel_args[@]}" -m "$mem" -smp "$cpus" \
  -display none -vga none -nodefaults -no-user-config \
  -serial "file:$console" \
  -drive "file=$disk,if=virtio,format=qcow2,cache=unsafe" -boot c \
  -drive "file=$guest_dir/data.img,if=virtio,format=raw,readonly=on" \
  -drive "file=$lvm_disk,if=none,id=lvm,format=raw,cache=unsafe" \
  -device virtio-blk-pci,drive=lvm,serial=xenlab-lvm,addr=0x10 \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 "${pcap_args[@]}" \
  -netdev hubport,id=n1,hubid=1 \
  -device virtio-net-pci,netdev=n1,mac=52:54:00:12:34:57 \
  -pidfile "$pidfile" -daemonize

cat >"$XENLAB_STATE/ssh.env" <<EOF
XENLAB_SSH_PORT=$port
XENLAB_SSH_KEY=$image_dir/id_ed25519
EOF

ssh_args=(-i "$image_dir/id_ed25519" -p "$port" -o BatchMode=yes -o ConnectTimeout=10
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1)
start=$(date +%s)
next_note=$((start + 60))
until ssh "${ssh_args[@]}" xl list >/dev/null 2>&1; do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    tail -n 40 "$console" >&2 || true
    xenlab_die "QEMU exited during boot; console: $console"
  fi
  if [ $(($(date +%s) - start)) -ge "$boot_timeout" ]; then
    tail -n 40 "$console" >&2 || true
    xenlab_die "dom0 did not answer 'xl list' over SSH within ${boot_timeout}s; console: $console"
  fi
  if [ "$(date +%s)" -ge "$next_note" ]; then
    xenlab_log "still booting ($(($(date +%s) - start))s); last console line: $(tail -n 1 "$console" 2>/dev/null | tr -d '\r' | cut -c1-100)"
    next_note=$((next_note + 60))
  fi
  sleep 5
done
xenlab_log "dom0 up on Xen after $(($(date +%s) - start))s"
# The guest tarball's disk (build-guest.sh), read-only at /srv/xenlab, also
# after the reboots the collection makes.
ssh "${ssh_args[@]}" sh -e <<'EOF' ||
mkdir -p /srv/xenlab
grep -q xenlabdata /etc/fstab || echo 'LABEL=xenlabdata /srv/xenlab ext4 ro,nofail 0 0' >>/etc/fstab
mountpoint -q /srv/xenlab || mount /srv/xenlab
EOF
  xenlab_die "could not mount the guest tarball disk at /srv/xenlab in the dom0"
printf '{"address": "127.0.0.1", "port": %s, "user": "root", "identity_file": "%s"}\n' \
  "$port" "$image_dir/id_ed25519"
