# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Part of the ``kuutorvaja.xen.xen_image`` backend: a guest from a golden image, the fast path next to xen-create-image.

Private to the kuutorvaja.xen collection: no API promise to other code.

A golden image is a guest's root disk kept as a file: one bare ext2/3/4
filesystem (as xen-tools makes them), e.g. the ``disk.img`` of a guest that
xen-tools built once and that was then shut down. :class:`GoldenImageBuild`
copies it sparsely, grows it to the guest's size, makes the swap image, and
then does offline what xen-tools' hooks do for a new guest (host name,
network, fstab, fresh SSH host keys, a new machine id), and writes the guest
config in the layout xen-create-image writes. No package is installed and
nothing runs inside the guest, so the copy is most of the cost.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import (
    ext_filesystem_size,
    parse_layout,
    read_head,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError, refuse_if_in_use, xen_tools_layout
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import Loop, SshKeygen
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_disk import DiskGrower
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import build_settings, render_guest_config
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import run_operations

MIB = 1024 * 1024
# The host key types OpenSSH's sshd reads by default (xen-tools' hook
# 70-install-ssh lets the guest's openssh-server make these).
HOST_KEY_TYPES = ("rsa", "ecdsa", "ed25519")
_IN_USE = "a copy of a disk in use is not a consistent filesystem"


def source_filesystem_bytes(path):
    """Size of the ext filesystem that makes up the golden image ``path``; refuse anything else."""
    if not os.path.isfile(path):
        raise GuestError("install_source=%s is not a file (install_method=image wants a golden disk image)" % path)
    head = read_head(path)
    layout = parse_layout(head)
    if layout["kind"] != "filesystem" or layout["filesystem"] != "ext":
        raise GuestError(
            "install_source=%s holds %s, not one bare ext2/3/4 filesystem (a xen-tools guest's disk.img)"
            % (path, "a partition table" if layout["kind"] == "partitioned" else layout["filesystem"] or "no known filesystem")
        )
    return ext_filesystem_size(head, "install_source=%s" % path)


def config_settings(spec):
    """The guest config xen-create-image would write for ``spec``, as xen_guest_config settings (every NIC a vif)."""
    return build_settings(xen_tools_layout(
        spec.hostname, spec.disk_paths, spec.disk_vdevs, spec.memory_mib, spec.vcpus, spec.nics,
        kernel=spec.kernel, initrd=spec.initrd, boot=spec.boot))


def write_config(spec):
    """Write :func:`config_settings` to the guest's config path, atomically (no managed header, as xen-tools writes none)."""
    text = render_guest_config(config_settings(spec), boot=spec.boot, header=False)
    write_atomically(spec.config_path, text.encode("utf-8"), 0o644)


def nic_stanzas(ifname, nic):
    """The ifupdown stanzas of one NIC, as xen-tools' hook writes eth0's: DHCP, or static with its aliases IFNAME:N."""
    if not nic["ip"]:
        return ["auto %s" % ifname, "iface %s inet dhcp" % ifname]
    lines = []
    for index, address in enumerate(nic["ip"]):
        name = ifname if index == 0 else "%s:%d" % (ifname, index)
        lines += ([""] if index else []) + ["auto %s" % name, "iface %s inet static" % name, " address %s" % address]
        if nic["netmask"]:
            lines.append(" netmask %s" % nic["netmask"])
        if nic["gateway"] and index == 0:
            lines.append(" gateway %s" % nic["gateway"])
    return lines


def network_interfaces(spec):
    """The guest's whole /etc/network/interfaces: as xen-tools' hook 40-setup-networking writes it, plus every further NIC.

    The hook (xen-tools 4.9, ``common/40-setup-networking-deb``) replaces
    the file with one that has no ``source /etc/network/interfaces.d/*``
    line, so a file in interfaces.d would never be read: the NICs after
    eth0 go into this file, ethI for NIC I.
    """
    lines = ["# This file describes the network interfaces available on your system",
             "# and how to activate them. For more information, see interfaces(5).",
             "",
             "auto lo",
             "iface lo inet loopback"]
    for index, nic in enumerate(spec.nics):
        lines += [""] + nic_stanzas("eth%d" % index, nic)
    return "\n".join(lines) + "\n"


def interfaces_op(spec):
    """The offline operation that writes :func:`network_interfaces` into the guest."""
    return dict(action="write", path="/etc/network/interfaces", content=network_interfaces(spec), mode="0644")


def guest_system_files(spec, host_keys):
    """Offline operations that make the copied system this guest (``host_keys``: name -> (private, public))."""
    fqdn, short = spec.hostname, spec.hostname.split(".")[0]
    hosts_line = "%s\t%s" % (spec.ip[0], fqdn if fqdn == short else "%s %s" % (fqdn, short)) if spec.ip else \
        "127.0.1.1\t%s" % (fqdn if fqdn == short else "%s %s" % (fqdn, short))
    # ext4 mounts ext2 and ext3 too; the golden image may be either.
    fstab = ["/dev/%s / ext4 errors=remount-ro 0 1" % spec.disk_vdevs[0]]
    fstab += ["/dev/%s none swap sw 0 0" % vdev for vdev in spec.disk_vdevs[1:]]
    fstab.append("proc /proc proc defaults 0 0")
    ops = [
        dict(action="write", path="/etc/hostname", content=short + "\n", mode="0644"),
        dict(action="write", path="/etc/hosts", mode="0644",
             content="127.0.0.1\tlocalhost\n%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" % hosts_line),
        dict(action="write", path="/etc/fstab", content="\n".join(fstab) + "\n", mode="0644"),
        dict(action="directory", path="/etc/network", mode="0755"),
        interfaces_op(spec),
        # Empty: systemd gives the guest its own machine id on its first boot.
        dict(action="write", path="/etc/machine-id", content="", mode="0444"),
        dict(action="directory", path="/etc/ssh", mode="0755"),
    ]
    if spec.nameserver:
        ops.append(dict(action="write", path="/etc/resolv.conf", mode="0644",
                        content="".join("nameserver %s\n" % n for n in spec.nameserver)))
    for kind in sorted(host_keys):
        private, public = host_keys[kind]
        ops.append(dict(action="write", path="/etc/ssh/ssh_host_%s_key" % kind, content=private, mode="0600",
                        owner=0, group=0, secret=True))
        ops.append(dict(action="write", path="/etc/ssh/ssh_host_%s_key.pub" % kind, content=public, mode="0644",
                        owner=0, group=0))
    return ops


class GoldenImageBuild:
    """Make one guest's disks and config from a golden image (the caller handles markers and rollback)."""

    def __init__(self, module, runner, domains, disk_users):
        self.module = module
        self.runner = runner
        self.domains = domains
        # ``disk_users(path)``: the live domains with that file or device as a
        # disk (the toolstack's disk_users), to refuse copying one in use.
        self.disk_users = disk_users

    def check(self, spec):
        """Refuse, before anything is made: a source that is no golden image, in use, or bigger than ``size``."""
        if spec.lvm:
            raise GuestError("install_method=image makes file-backed disks; give dir, not lvm")
        fs_bytes = source_filesystem_bytes(spec.install_source)
        if fs_bytes > spec.size_mib * MIB:
            raise GuestError(
                "size=%dM is smaller than the golden image's filesystem (%dM in %s); filesystems are not shrunk"
                % (spec.size_mib, -(-fs_bytes // MIB), spec.install_source)
            )
        refuse_if_in_use(spec.install_source, self.disk_users(spec.install_source),
                         "copy it as a golden image (%s)" % _IN_USE)
        devices = Loop(self.runner).attachments(spec.install_source)
        if devices:
            raise GuestError("install_source=%s is attached to %s (mounted somewhere?); detach it first (%s)"
                             % (spec.install_source, ", ".join(devices), _IN_USE))
        for tool in ("cp", "e2fsck", "resize2fs", "mkswap", "ssh-keygen", "losetup", "mount"):
            self.runner.which(tool)

    def copy_argv(self, spec):
        """The copy of the golden image: holes stay holes for a sparse image."""
        sparse = "always" if spec.image == "sparse" else "never"
        return ["cp", "--sparse=%s" % sparse, spec.install_source, spec.disk_paths[0]]

    def run(self, spec, extra_ops=()):
        """Copy, grow, make swap, customise, write the config; return a summary like xen-tools'."""
        os.makedirs(spec.domain_dir, exist_ok=True)
        self.runner.run(self.copy_argv(spec))
        DiskGrower(self.module, self.runner, self.domains, disk_users=self.disk_users).ensure(spec.hostname, spec.disk_paths[0], spec.size_mib * MIB)
        if not spec.noswap:
            self.make_swap(spec)
        keys, fingerprints = self.host_keys(spec)
        run_operations(self.runner, spec.disk_paths[0], guest_system_files(spec, keys) + list(extra_ops))
        write_config(spec)
        return dict(hostname=spec.hostname, distribution=spec.dist, mac=spec.mac,
                    ip="dhcp" if spec.dhcp else spec.ip[0],
                    ssh_fingerprints=fingerprints)

    def make_swap(self, spec):
        """The swap image, sparse or fully written as ``image`` says, then mkswap."""
        path = spec.disk_paths[1]
        with open(path, "wb") as handle:
            if spec.image == "full":
                chunk = b"\0" * MIB
                for _mib in range(spec.swap_mib):
                    handle.write(chunk)
            else:
                handle.truncate(spec.swap_mib * MIB)
        self.runner.run(["mkswap", "-f", path])

    def host_keys(self, spec):
        """Fresh SSH host keys for the guest and their fingerprints (made in a private temporary directory)."""
        work = tempfile.mkdtemp(prefix="kuutorvaja-xen-keys-")
        try:
            keys, fingerprints = {}, []
            keygen = SshKeygen(self.runner)
            for kind in HOST_KEY_TYPES:
                base = os.path.join(work, "ssh_host_%s_key" % kind)
                keygen.host_key(kind, base, "root@%s" % spec.hostname)
                with open(base) as private, open(base + ".pub") as public:
                    keys[kind] = (private.read(), public.read())
                fingerprints.append(keygen.fingerprint(base + ".pub"))
            return keys, fingerprints
        finally:
            shutil.rmtree(work, ignore_errors=True)
