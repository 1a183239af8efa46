# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dom0's disk and image tools, one wrapper each.

Private to the kuutorvaja.xen collection: no API promise to other code.

:class:`Loop` (losetup), :class:`Mounts` (mount, umount, /proc/self/mountinfo
and the one loop-mount teardown), :class:`ExtFs` (e2fsck, resize2fs and the
superblock), :class:`Lvm` (lvremove), :class:`SshKeygen` and
:class:`XenCreateImage` (its argv, run and summary). Every command goes
through the module's
:class:`~ansible_collections.kuutorvaja.xen.plugins.module_utils.command.CommandRunner`
as an argv list, never through a shell.
"""

from __future__ import annotations

import os
import re
import time

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import (
    EXT_SUPERBLOCK_END,
    ext_filesystem_size,
    read_head,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError

MOUNTINFO = "/proc/self/mountinfo"
# Every mount this collection makes is of a guest's filesystem, which the
# guest's root controls: its device nodes must not reach the dom0's devices,
# its set-id bits grant nothing and nothing in it runs on the dom0.
GUEST_MOUNT_OPTIONS = ("nodev", "nosuid", "noexec")


class Loop:
    """``losetup``: which loop devices hold a file, attach, detach."""

    def __init__(self, runner):
        self.runner = runner

    def attachments(self, path):
        """Loop devices that currently hold ``path`` (``losetup -j``)."""
        _rc, out, _err = self.runner.run(["losetup", "-j", path], check_rc=False)
        return [line.split(":", 1)[0] for line in out.splitlines() if line.strip()]

    def attach(self, path, read_only=False, offset=None, sizelimit=None):
        """Attach ``path`` to a free loop device (at ``offset`` for a partition); return the device."""
        argv = ["losetup", "--find", "--show"]
        if read_only:
            argv.append("--read-only")
        if offset is not None:
            argv += ["--offset", str(offset), "--sizelimit", str(sizelimit)]
        argv.append(path)
        return self.runner.run(argv)[1].strip()

    def detach(self, device):
        """Detach ``device``."""
        self.runner.run(["losetup", "-d", device])


def _unescape_mount_path(text):
    """Undo the octal escapes (``\\040`` for a space) of a /proc mountinfo path."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """``(mount point, source)`` of every line of /proc/self/mountinfo, in mount order."""
    mounts = []
    for line in (text or "").splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) > dash + 2:
            mounts.append((_unescape_mount_path(fields[4]), _unescape_mount_path(fields[dash + 2])))
    return mounts


class Mounts:
    """``mount`` and ``umount``, the mount table, and the one teardown of a loop mount."""

    umount_attempts = 5

    def __init__(self, runner, mountinfo=None, sleep=time.sleep):
        self.runner = runner
        self.mountinfo = mountinfo or MOUNTINFO
        self.sleep = sleep

    def table(self):
        """``(mount point, source)`` pairs of the dom0's mounts now, in mount order."""
        try:
            with open(self.mountinfo) as handle:
                return parse_mountinfo(handle.read())
        except OSError:
            return []

    @staticmethod
    def mount_argv(device, point, options=None):
        """``mount -o [options,]nodev,nosuid,noexec device point``: a guest's filesystem, whatever the caller asks."""
        # The guest's options come last (the last of two contradicting ones wins); their opposites go.
        opposite = set(o[2:] for o in GUEST_MOUNT_OPTIONS)
        wanted = [o for o in (options or "").split(",") if o and o not in GUEST_MOUNT_OPTIONS and o not in opposite]
        wanted += list(GUEST_MOUNT_OPTIONS)
        return ["mount", "-o", ",".join(wanted), device, point]

    def mount(self, device, point, options=None):
        """Mount ``device`` on ``point`` (always nodev,nosuid,noexec, plus ``options``); raise on failure."""
        self.runner.run(self.mount_argv(device, point, options))

    def try_mount(self, device, point, options=None):
        """Like :meth:`mount`, but return whether it worked."""
        return self.runner.run(self.mount_argv(device, point, options), check_rc=False)[0] == 0

    def umount(self, point):
        """Unmount ``point``, retrying a busy one a few times; return the error text, or '' when done."""
        err = ""
        for attempt in range(self.umount_attempts):
            rc, _out, err = self.runner.run(["umount", point], check_rc=False)
            if rc == 0:
                return ""
            self.sleep(0.5 * (attempt + 1))
        return "umount %s failed: %s" % (point, (err or "").strip())

    def teardown(self, points, devices, loop):
        """Unmount ``points`` (last mounted first), detach ``devices``, remove the emptied points.

        The one way every backend undoes a loop mount: after a normal offline
        access and after a killed build alike. Returns the errors met (empty
        when all went); a device is detached and a point removed only once
        nothing is mounted there any more.
        """
        errors = []
        for point in reversed(points):
            error = self.umount(point)
            if error:
                errors.append(error)
        still = set(point for point, _source in self.table())
        if errors and not any(p in still for p in points):
            # A umount may take a propagated copy elsewhere with it: the outcome counts, not each call.
            errors = []
        if errors:
            return errors
        for device in devices:
            try:
                loop.detach(device)
            except CommandError as exc:
                errors.append(str(exc))
        for point in points:
            try:
                os.rmdir(point)
            except FileNotFoundError:
                pass
            except OSError as exc:
                errors.append("could not remove %s: %s" % (point, exc))
        return errors

    def release_images(self, paths, loop):
        """Unmount and detach whatever holds the image files ``paths`` through a loop device.

        Every mount of such a device, and every mount below one (a killed
        xen-create-image leaves /proc and /dev/pts bound inside the new disk),
        is unmounted, the devices detached and the emptied mount points
        removed. Returns the top mount points released; raises
        :class:`GuestError` when something stays mounted.
        """
        devices = []
        for path in paths:
            if os.path.isfile(path):
                devices += loop.attachments(path)
        if not devices:
            return []
        mounts = self.table()
        tops = [point for point, source in mounts if source in devices]
        inside = [point for point, _source in mounts
                  if any(point == top or point.startswith(top.rstrip("/") + "/") for top in tops)]
        errors = self.teardown(inside, [], loop)
        left = [point for point, source in self.table() if source in devices]
        if left:
            raise GuestError("could not unmount %s, left mounted by an interrupted build of %s; unmount it by hand (%s)"
                             % (", ".join(left), ", ".join(paths), "; ".join(errors) or "busy"))
        # mount -o loop detaches on umount (autoclear); a device set up by
        # losetup is still there. Ask again: a freed device may already be
        # someone else's.
        for path in paths:
            for device in loop.attachments(path):
                loop.detach(device)
        return tops


class ExtFs:
    """An ext2/3/4 filesystem in an image file: its size, ``e2fsck`` and ``resize2fs``."""

    def __init__(self, runner):
        self.runner = runner

    @staticmethod
    def size(path):
        """Size in bytes of the ext filesystem at the start of ``path`` (from its superblock)."""
        return ext_filesystem_size(read_head(path, EXT_SUPERBLOCK_END), path)

    def fsck(self, path):
        """``e2fsck -f -y``; exit 1 (errors fixed) is success, 2+ is not."""
        try:
            self.runner.run(["e2fsck", "-f", "-y", path])
        except CommandError as exc:
            if exc.rc != 1:
                raise GuestError("e2fsck -f -y %s failed (rc=%s); not resizing: %s" % (path, exc.rc, (exc.stderr or exc.stdout).strip()))

    def resize(self, path):
        """``resize2fs -p``: grow the filesystem to fill its file."""
        self.runner.run(["resize2fs", "-p", path])


class Lvm:
    """LVM logical volumes."""

    def __init__(self, runner):
        self.runner = runner

    def remove(self, path):
        """``lvremove -f``: remove the logical volume at ``path``."""
        self.runner.run(["lvremove", "-f", path])


class SshKeygen:
    """``ssh-keygen``: host keys and their fingerprints."""

    def __init__(self, runner):
        self.runner = runner

    def host_key(self, kind, base, comment):
        """Make a key pair of ``kind`` without passphrase at ``base`` and ``base.pub``."""
        self.runner.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", base])

    def fingerprint(self, public):
        """The fingerprint line of the public key file ``public``."""
        return self.runner.run(["ssh-keygen", "-l", "-f", public])[1].strip()


# --------------------------------------------------------------------------
# xen-tools
# --------------------------------------------------------------------------

XEN_TOOLS_LOG_DIR = "/var/log/xen-tools"
# xen-create-image runs in a mount namespace of its own. It loop-mounts the
# new disk and binds /proc into it; on a systemd host (shared propagation)
# that bind joins /proc's peer group, so concurrent builds stack proc mounts
# on one another (and on /proc) and fail at "umount .../proc: target is
# busy", leaving their mounts behind. Private, its mounts cannot spread, and
# they go away with the build, also when it is killed.
PRIVATE_MOUNTS = ["unshare", "--mount", "--propagation", "private", "--"]
# Lines that may carry a password: never returned, never quoted.
_SECRET_RE = re.compile(r"(root password\s*:|--password=|password\s*=)", re.IGNORECASE)
_SUMMARY_KEYS = {
    "hostname": "hostname",
    "distribution": "distribution",
    "mac address": "mac",
    "ip address(es)": "ip",
}


def redact(text):
    """Drop every line of ``text`` that may carry a password."""
    return "\n".join(
        "[line removed: may contain a password]" if _SECRET_RE.search(line) else line
        for line in (text or "").splitlines()
    )


def parse_summary(text):
    """Parse xen-tools' closing "Installation Summary" into a dict.

    Returns ``{}`` when there is no summary (a failed run). The root password
    line is never returned.
    """
    lines = (text or "").splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.strip() == "Installation Summary")
    except ValueError:
        return {}
    result = {"ssh_fingerprints": {}}
    for line in lines[start + 1:]:
        if ":" not in line or line.strip().startswith("---"):
            continue
        key, _sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "root password":
            continue
        if key == "ssh fingerprint":
            match = re.match(r"^(\S+)\s+\((.+)\)$", value)
            if match:
                result["ssh_fingerprints"][match.group(2)] = match.group(1)
            continue
        if key in _SUMMARY_KEYS:
            result[_SUMMARY_KEYS[key]] = value
    if "mac" in result:
        result["mac"] = result["mac"].lower()
    if "ip" in result:
        result["ip"] = result["ip"].split() if result["ip"] != "dynamic" else "dynamic"
    return result


class XenCreateImage:
    """xen-tools' ``xen-create-image``: its argv for a guest spec, the run, its summary and log."""

    def __init__(self, runner, log_dir=None):
        self.runner = runner
        self.log_dir = log_dir or XEN_TOOLS_LOG_DIR

    def require(self):
        """Fail the module when xen-create-image or unshare is missing."""
        self.runner.which("xen-create-image")
        self.runner.which(PRIVATE_MOUNTS[0])

    @staticmethod
    def argv(spec, force=False):
        """The ``xen-create-image`` argv for ``spec`` (a ``XenImageSpec``); never carries a password.

        ``--nopasswd --genpass=0`` keep the run non-interactive whatever
        /etc/xen-tools/xen-tools.conf says (the guide sets ``passwd = 1``);
        ``--noboot``, ``--nohosts`` and ``--noaccounts`` keep the build from
        touching anything but the guest; ``--nokeep`` lets xen-tools roll back
        its own failures too.
        """
        pv = not spec.pygrub
        # (option, value) in xen-tools' order: None or "" leaves an option
        # out, True writes a bare flag.
        options = [
            ("hostname", spec.hostname), ("dist", spec.dist), ("install-method", spec.install_method),
            ("install-source", spec.install_source), ("mirror", spec.mirror), ("arch", spec.arch),
            ("lvm", spec.lvm), ("dir", None if spec.lvm else spec.dir),
            ("size", "%dM" % spec.size_mib), ("memory", "%dM" % spec.memory_mib), ("vcpus", spec.vcpus),
            ("noswap", spec.noswap or None), ("swap", None if spec.noswap else "%dM" % spec.swap_mib),
            ("fs", spec.fs), ("image", spec.image), ("dhcp", spec.dhcp or None),
        ]
        if not spec.dhcp:
            options += [("ip", ip) for ip in spec.ip]
            options += [("gateway", spec.gateway), ("netmask", spec.netmask),
                        ("nameserver", " ".join(spec.nameserver) or None)]
        options += [("mac", spec.mac), ("bridge", spec.bridge), ("nopygrub" if pv else "pygrub", True),
                    ("kernel", spec.kernel if pv else None), ("initrd", spec.initrd if pv else None),
                    ("role", ",".join(spec.roles) or None)]
        argv = ["xen-create-image"]
        for name, value in options:
            if value is True:
                argv.append("--" + name)
            elif value is not None and value != "":
                argv.append("--%s=%s" % (name, value))
        argv += [
            "--output=%s" % spec.config_dir,
            "--extension=.cfg",
            "--nopasswd",
            "--genpass=0",
            "--noboot",
            "--nohosts",
            "--noaccounts",
            "--nokeep",
            "--verbose",
        ]
        if force:
            argv.append("--force")
        return argv

    def run(self, argv):
        """Run ``argv`` (from :meth:`argv`) in a private mount namespace; return the parsed summary."""
        _rc, out, _err = self.runner.run(PRIVATE_MOUNTS + argv)
        return parse_summary(out)

    def log_tail(self, hostname, lines=25):
        """The last ``lines`` lines of xen-tools' log for ``hostname``, redacted."""
        path = os.path.join(self.log_dir, hostname + ".log")
        try:
            with open(path, "r", errors="replace") as handle:
                tail = handle.read().splitlines()[-lines:]
        except OSError:
            return ""
        return redact("\n".join(tail))
