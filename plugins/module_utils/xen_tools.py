# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen-tools (``xen-create-image``) as an idempotent image builder.

:class:`XenImageSpec` holds the desired guest image with defaults filled in
and units normalised; :func:`build_create_argv` turns it into one argv list;
:func:`parse_summary` reads xen-tools' closing "Installation Summary";
:class:`ImageManager` decides present/absent and does the work, cleaning up
after a failed or interrupted build.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_image import loop_attachments
from ansible_collections.kuutorvaja.xen.plugins.module_utils.golden_image import GoldenImageBuild
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_fs import run_operations
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_common import (
    GuestError,
    derive_mac,
    normalize_mac,
    refuse_if_running,
    size_mib,
    validate_abs_path,
    validate_guest_name,
)

# "image" is ours (golden_image.py): a copy of a golden disk image, no xen-create-image.
INSTALL_METHODS = ("debootstrap", "cdebootstrap", "tar", "copy", "rinse", "image")
FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
XEN_TOOLS_SHARE = "/usr/share/xen-tools"
XEN_TOOLS_LOG_DIR = "/var/log/xen-tools"
STATE_DIR = "/var/lib/kuutorvaja-xen/builds"
MOUNTINFO = "/proc/self/mountinfo"
# xen-create-image runs in a mount namespace of its own. It loop-mounts the
# new disk and binds /proc into it; on a systemd host (shared propagation)
# that bind joins /proc's peer group, so concurrent builds stack proc mounts
# on one another (and on /proc) and fail at "umount .../proc: target is
# busy", leaving their mounts behind. Private, its mounts cannot spread, and
# they go away with the build, also when it is killed.
PRIVATE_MOUNTS = ["unshare", "--mount", "--propagation", "private", "--"]
AUTOSTART_DIR = "/etc/xen/auto"
# Lines that may carry a password: never returned, never quoted.
_SECRET_RE = re.compile(r"(root password\s*:|--password=|password\s*=)", re.IGNORECASE)


def redact(text):
    """Drop every line of ``text`` that may carry a password."""
    return "\n".join(
        "[line removed: may contain a password]" if _SECRET_RE.search(line) else line
        for line in (text or "").splitlines()
    )


@dataclass
class XenImageSpec:
    """A desired xen-tools guest image, validated and normalised."""

    hostname: str
    dist: str
    install_method: str = "debootstrap"
    install_source: str = None
    mirror: str = None
    dir: str = None
    lvm: str = None
    size_mib: int = 4096
    swap_mib: int = 128
    noswap: bool = False
    fs: str = "ext4"
    image: str = "sparse"
    # The seed's 512M: a debootstrapped bookworm guest's stock initramfs does
    # not fit in 256M (xen_image's documentation).
    memory_mib: int = 512
    vcpus: int = 1
    dhcp: bool = False
    ip: list = field(default_factory=list)
    gateway: str = None
    netmask: str = None
    nameserver: list = field(default_factory=list)
    mac: str = None
    bridge: str = None
    pygrub: bool = True
    kernel: str = None
    initrd: str = None
    roles: list = field(default_factory=list)
    arch: str = None
    config_dir: str = "/etc/xen"

    @property
    def config_path(self):
        """Where xen-tools writes the guest config."""
        return os.path.join(self.config_dir, self.hostname + ".cfg")

    @property
    def disk_paths(self):
        """Root disk first, then swap (if any), as xen-tools names them."""
        if self.lvm:
            paths = ["/dev/%s/%s-disk" % (self.lvm, self.hostname)]
            if not self.noswap:
                paths.append("/dev/%s/%s-swap" % (self.lvm, self.hostname))
            return paths
        base = os.path.join(self.dir, "domains", self.hostname)
        paths = [os.path.join(base, "disk.img")]
        if not self.noswap:
            paths.append(os.path.join(base, "swap.img"))
        return paths

    @property
    def disk_vdevs(self):
        """The device of each of ``disk_paths`` in the config xen-tools writes: root xvda2 beside swap xvda1, else xvda1."""
        return ["xvda1"] if self.noswap else ["xvda2", "xvda1"]

    @property
    def domain_dir(self):
        """The per-guest directory xen-tools makes under ``dir`` (None for LVM)."""
        return None if self.lvm else os.path.join(self.dir, "domains", self.hostname)


def _ipv4(value, option):
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise GuestError("%s=%r is not an IPv4 address" % (option, value))


def _netmask(value, option="netmask"):
    """A dotted IPv4 netmask (contiguous ones, then zeros)."""
    mask = _ipv4(value, option)
    bits = int(ipaddress.IPv4Address(mask))
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise GuestError("%s=%r is not a netmask (ones then zeros, e.g. 255.255.255.0)" % (option, value))
    return mask


def _mib_or_default(params, option, attribute):
    """``params[option]`` in MiB, or the spec's own default when it is not given."""
    if params.get(option):
        return size_mib(params[option], option)
    # A dataclass keeps each plain default as a class attribute.
    return getattr(XenImageSpec, attribute)


def spec_from_params(params, for_delete=False):
    """Build a :class:`XenImageSpec` from module parameters, refusing bad input.

    Only checks that need no host state happen here; :func:`check_host`
    checks the dom0 (dist known to xen-tools, bridge present, sources exist).
    ``for_delete`` needs only what locates the guest (name, dir/lvm, noswap).
    """
    if for_delete:
        params = dict(params, dist=params.get("dist") or "none", install_method="debootstrap",
                      dhcp=True, ip=None, gateway=None, netmask=None, nameserver=None)
    name = validate_guest_name(params["name"])
    if bool(params.get("dir")) == bool(params.get("lvm")):
        raise GuestError("give exactly one of dir (file-backed images) or lvm (volume group)")
    if params.get("dir") and not os.path.isabs(params["dir"]):
        raise GuestError("dir=%r must be an absolute path" % params["dir"])
    if params.get("lvm") and not re.match(r"^[A-Za-z0-9+_.-]+$", params["lvm"]):
        raise GuestError("lvm=%r is not a volume group name" % params["lvm"])
    if params.get("config_dir"):
        validate_abs_path(params["config_dir"], "config_dir")
    dist = params.get("dist") or ""
    if not re.match(r"^[a-z0-9][a-z0-9.-]*$", dist):
        raise GuestError("dist=%r is not a distribution name (e.g. bookworm)" % dist)
    method = params.get("install_method") or "debootstrap"
    if method not in INSTALL_METHODS:
        raise GuestError("install_method=%r must be one of %s" % (method, ", ".join(INSTALL_METHODS)))
    if method in ("tar", "copy", "image") and not params.get("install_source"):
        raise GuestError("install_method=%s needs install_source (a tarball for tar, a directory for copy, "
                         "a golden disk image for image)" % method)
    if method == "image":
        validate_abs_path(params["install_source"], "install_source")
    fs = params.get("fs") or "ext4"
    if fs not in FILESYSTEMS:
        raise GuestError("fs=%r must be one of %s" % (fs, ", ".join(FILESYSTEMS)))
    pygrub = params.get("pygrub", True)
    if params.get("kernel"):
        pygrub = False
    if pygrub and fs == "xfs":
        raise GuestError("fs=xfs cannot be booted by pygrub; use ext4 or give kernel")
    ips = params.get("ip") or []
    if isinstance(ips, str):
        ips = [ips]
    ips = [_ipv4(ip, "ip") for ip in ips]
    dhcp = bool(params.get("dhcp"))
    if dhcp and ips:
        raise GuestError("give either dhcp: true or ip, not both")
    if not dhcp and not ips:
        raise GuestError("give dhcp: true or an ip address for the guest")
    mac = normalize_mac(params["mac"]) if params.get("mac") else derive_mac(name)
    bridge = params.get("bridge")
    if bridge and not re.match(r"^[A-Za-z0-9_.-]{1,15}$", bridge):
        raise GuestError("bridge=%r is not an interface name" % bridge)
    vcpus = int(1 if params.get("vcpus") is None else params["vcpus"])
    if vcpus < 1:
        raise GuestError("vcpus=%r must be at least 1" % params.get("vcpus"))
    roles = params.get("roles") or []
    for role in roles:
        if not re.match(r"^[A-Za-z0-9_.-]+$", role) and not os.path.isabs(role):
            raise GuestError("roles entry %r is not a xen-tools role name or absolute path" % role)
    return XenImageSpec(
        hostname=name,
        dist=dist,
        install_method=method,
        install_source=params.get("install_source"),
        mirror=params.get("mirror"),
        dir=params.get("dir"),
        lvm=params.get("lvm"),
        size_mib=_mib_or_default(params, "size", "size_mib"),
        swap_mib=_mib_or_default(params, "swap", "swap_mib"),
        noswap=bool(params.get("noswap")),
        fs=fs,
        image=params.get("image") or "sparse",
        memory_mib=_mib_or_default(params, "memory", "memory_mib"),
        vcpus=vcpus,
        dhcp=dhcp,
        ip=ips,
        gateway=_ipv4(params["gateway"], "gateway") if params.get("gateway") else None,
        netmask=_netmask(params["netmask"]) if params.get("netmask") else None,
        nameserver=[_ipv4(n, "nameserver") for n in (params.get("nameserver") or [])],
        mac=mac,
        bridge=bridge,
        pygrub=bool(pygrub),
        kernel=params.get("kernel"),
        initrd=params.get("initrd"),
        roles=list(roles),
        arch=params.get("arch"),
        config_dir=params.get("config_dir") or "/etc/xen",
    )


def check_host(spec, exists=os.path.exists, isdir=os.path.isdir):
    """Refuse a spec the dom0 cannot build: unknown dist, missing bridge or sources.

    Every problem is named in one message, so a fix for one does not just
    reveal the next.
    """
    problems = []
    # A golden image holds its system already; xen-tools' dist does not matter.
    if spec.install_method != "image" and not isdir(os.path.join(XEN_TOOLS_SHARE, spec.dist + ".d")):
        problems.append(
            "dist=%r is not known to xen-tools on this host (no %s/%s.d); "
            "pick one of the names in %s" % (spec.dist, XEN_TOOLS_SHARE, spec.dist, XEN_TOOLS_SHARE)
        )
    if spec.bridge and not isdir("/sys/class/net/%s/bridge" % spec.bridge):
        problems.append("bridge=%s does not exist on this host (no /sys/class/net/%s/bridge)" % (spec.bridge, spec.bridge))
    if spec.install_method in ("tar", "image") and not exists(spec.install_source):
        problems.append("install_source=%s does not exist" % spec.install_source)
    if spec.install_method == "copy" and not isdir(spec.install_source):
        problems.append("install_source=%s is not a directory" % spec.install_source)
    for option in ("kernel", "initrd"):
        path = getattr(spec, option)
        if path and not exists(path):
            problems.append("%s=%s does not exist on this host" % (option, path))
    if spec.dir and not isdir(spec.dir):
        problems.append("dir=%s does not exist on this host" % spec.dir)
    if problems:
        raise GuestError("; ".join(problems))


def build_create_argv(spec, force=False):
    """The ``xen-create-image`` argv for ``spec``; never carries a password.

    ``--nopasswd --genpass=0`` keep the run non-interactive whatever
    /etc/xen-tools/xen-tools.conf says (the seed sets ``passwd = 1``);
    ``--noboot``, ``--nohosts`` and ``--noaccounts`` keep the build from
    touching anything but the guest; ``--nokeep`` lets xen-tools roll back
    its own failures too.
    """
    argv = [
        "xen-create-image",
        "--hostname=%s" % spec.hostname,
        "--dist=%s" % spec.dist,
        "--install-method=%s" % spec.install_method,
    ]
    if spec.install_source:
        argv.append("--install-source=%s" % spec.install_source)
    if spec.mirror:
        argv.append("--mirror=%s" % spec.mirror)
    if spec.arch:
        argv.append("--arch=%s" % spec.arch)
    argv.append("--lvm=%s" % spec.lvm if spec.lvm else "--dir=%s" % spec.dir)
    argv += [
        "--size=%dM" % spec.size_mib,
        "--memory=%dM" % spec.memory_mib,
        "--vcpus=%d" % spec.vcpus,
    ]
    argv.append("--noswap" if spec.noswap else "--swap=%dM" % spec.swap_mib)
    argv += ["--fs=%s" % spec.fs, "--image=%s" % spec.image]
    if spec.dhcp:
        argv.append("--dhcp")
    else:
        argv += ["--ip=%s" % ip for ip in spec.ip]
        if spec.gateway:
            argv.append("--gateway=%s" % spec.gateway)
        if spec.netmask:
            argv.append("--netmask=%s" % spec.netmask)
        if spec.nameserver:
            argv.append("--nameserver=%s" % " ".join(spec.nameserver))
    argv.append("--mac=%s" % spec.mac)
    if spec.bridge:
        argv.append("--bridge=%s" % spec.bridge)
    if spec.pygrub:
        argv.append("--pygrub")
    else:
        argv.append("--nopygrub")
        if spec.kernel:
            argv.append("--kernel=%s" % spec.kernel)
        if spec.initrd:
            argv.append("--initrd=%s" % spec.initrd)
    if spec.roles:
        argv.append("--role=%s" % ",".join(spec.roles))
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


_SUMMARY_KEYS = {
    "hostname": "hostname",
    "distribution": "distribution",
    "mac address": "mac",
    "ip address(es)": "ip",
}


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


def free_mib(path):
    """MiB free to unprivileged writers on the filesystem holding ``path`` (None when unknown)."""
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize // (1024 * 1024)


def space_note(spec, free_before):
    """A hint for a failed build when ``dir`` had less room than the guest's disks, else ''.

    A sparse image is made at once whatever the room; the filesystem fills
    while the system is installed into it, and writes inside the image then
    fail, so xen-tools stops at some later, unrelated-looking step.
    """
    needed = spec.size_mib + (0 if spec.noswap else spec.swap_mib)
    if spec.lvm or free_before is None or free_before >= needed:
        return ""
    return ("Probably out of disk space: %s had %d MiB free before the build, less than the %d MiB "
            "of the guest's disks (a sparse image fills up while the system is installed into it). "
            % (spec.dir, free_before, needed))


def read_log_tail(hostname, lines=25, log_dir=None):
    """The last ``lines`` lines of xen-tools' log for ``hostname``, redacted."""
    path = os.path.join(log_dir or XEN_TOOLS_LOG_DIR, hostname + ".log")
    try:
        with open(path, "r", errors="replace") as handle:
            tail = handle.read().splitlines()[-lines:]
    except OSError:
        return ""
    return redact("\n".join(tail))


class ImageManager:
    """Create or delete one guest image with xen-tools, idempotently.

    ``runner`` is a :class:`CommandRunner`; ``domains`` the set of existing
    domain names (one toolstack read shared by all guests of a run).
    """

    def __init__(self, module, runner, domains, state_dir=None, autostart_dir=None):
        self.module = module
        self.runner = runner
        self.domains = domains
        self.state_dir = state_dir or STATE_DIR
        self.autostart_dir = autostart_dir or AUTOSTART_DIR

    # -- inspection -------------------------------------------------------
    def _marker(self, spec):
        return os.path.join(self.state_dir, spec.hostname + ".json")

    def existing(self, spec):
        """Which of the guest's config and disks exist now."""
        paths = [spec.config_path] + spec.disk_paths
        return {path: os.path.exists(path) for path in paths}

    def status(self, spec):
        """``present``, ``absent``, ``partial`` or ``interrupted`` (our marker left behind)."""
        if os.path.exists(self._marker(spec)):
            return "interrupted"
        found = self.existing(spec)
        if all(found.values()):
            return "present"
        if not any(found.values()):
            return "absent"
        return "partial"

    def result(self, spec, **extra):
        """The common return values for ``spec``."""
        result = dict(
            name=spec.hostname,
            config=spec.config_path,
            disks=spec.disk_paths,
            vdevs=spec.disk_vdevs,
            mac=spec.mac,
            ip="dhcp" if spec.dhcp else (spec.ip[0] if spec.ip else None),
        )
        result.update(extra)
        return result

    # -- present ----------------------------------------------------------
    def ensure_present(self, spec, force=False, post_install_ops=()):
        """Build the image unless config and disks exist; ``force`` rebuilds.

        ``post_install_ops`` (guest_fs operations: SSH keys, root password
        hash) go into the new image offline; a failure there rolls the build
        back like any other. The golden path applies them in the mount it
        makes anyway; after xen-create-image they take a mount of their own.
        """
        status = self.status(spec)
        if status == "present" and not force:
            return self.result(spec, changed=False, rebuilt=False, status=status)
        if status == "partial" and not force:
            found = self.existing(spec)
            raise GuestError(
                "guest %s is only partly there (%s) and this module did not leave it so; "
                "refusing to overwrite it. Set force: true to rebuild it, or state: absent to remove it"
                % (spec.hostname, ", ".join("%s %s" % (p, "exists" if e else "missing") for p, e in found.items()))
            )
        if status in ("present", "partial") or force:
            refuse_if_running(spec.hostname, self.domains, "rebuild its image")
        check_host(spec)
        golden = None
        if spec.install_method == "image":
            golden = GoldenImageBuild(self.module, self.runner, self.domains)
            golden.check(spec)
            argv = golden.copy_argv(spec)
        else:
            self.runner.which("xen-create-image")
            self.runner.which(PRIVATE_MOUNTS[0])
            argv = build_create_argv(spec, force=force or status in ("partial", "interrupted"))
        changed_result = self.result(
            spec, changed=True, rebuilt=status != "absent", status=status, command=argv
        )
        if self.module.check_mode:
            return changed_result
        if status == "interrupted":
            self.cleanup_interrupted(spec)
        created = [p for p, e in self.existing(spec).items() if not e]
        # xen-tools makes DIR/domains/NAME, and DIR/domains too on a fresh dir.
        for directory in (spec.domain_dir, os.path.dirname(spec.domain_dir or "")):
            if directory and not os.path.isdir(directory):
                created.append(directory)
        self._write_marker(spec, created)
        free_before = free_mib(spec.dir) if spec.dir else None
        try:
            if golden:
                summary = golden.run(spec, extra_ops=post_install_ops)
            else:
                _rc, out, _err = self.runner.run(PRIVATE_MOUNTS + argv)
                summary = parse_summary(out)
            missing = [p for p, e in self.existing(spec).items() if not e]
            if missing:
                raise GuestError("%s finished but did not create %s" % ("the copy" if golden else "xen-create-image", ", ".join(missing)))
            self._check_room_left(spec)
            if post_install_ops and not golden:
                run_operations(self.runner, spec.disk_paths[0], post_install_ops)
        except (CommandError, GuestError) as exc:
            removed = self._remove_paths(created)
            self._clear_marker(spec)
            message = str(exc)
            if isinstance(exc, CommandError) and not golden:
                message = "xen-create-image failed with rc=%s" % exc.rc
            log = "" if golden else " Last lines of %s/%s.log:\n%s" % (
                XEN_TOOLS_LOG_DIR, spec.hostname, read_log_tail(spec.hostname) or "(no log)")
            raise GuestError(
                "building guest %s failed: %s. %sRemoved what this run created: %s.%s"
                % (spec.hostname, redact(message), space_note(spec, free_before), ", ".join(removed) or "nothing", log)
            )
        self._clear_marker(spec)
        changed_result["summary"] = summary
        if summary.get("mac") and summary["mac"] != spec.mac:
            self.module.warn("xen-tools reports MAC %s, expected %s" % (summary["mac"], spec.mac))
        return changed_result

    @staticmethod
    def _check_room_left(spec):
        """Fail a build that filled the filesystem holding its image files.

        Writes inside a sparse image that no longer fit fail in the loop
        device's writeback, where neither tar nor xen-tools sees them: the
        build "succeeds" with files missing from the guest (seen on the lab).
        They fail only once root's reserve is gone too, so a filesystem with
        nothing left for ordinary writers is where the build may have lost some.
        """
        left = None if spec.lvm or not spec.dir else free_mib(spec.dir)
        if left is not None and left < 1:
            raise GuestError(
                "the filesystem holding %s was full when xen-create-image finished, so writes into "
                "the guest's disk images may have been lost" % spec.dir
            )

    def _write_marker(self, spec, created):
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        with open(self._marker(spec), "w") as handle:
            json.dump({"created": created}, handle)

    def _clear_marker(self, spec):
        try:
            os.unlink(self._marker(spec))
        except FileNotFoundError:
            pass

    def cleanup_interrupted(self, spec):
        """Remove what an interrupted earlier build created (listed in its marker).

        A killed xen-create-image (or offline file step) leaves the new disk
        loop-mounted on a temporary directory, with /proc and /dev/pts bound
        inside it; those mounts and loop devices go first, or deleting the
        file would leave them holding it.
        """
        with open(self._marker(spec)) as handle:
            created = json.load(handle).get("created", [])
        allowed = set([spec.config_path] + spec.disk_paths)
        if spec.domain_dir:
            allowed.update([spec.domain_dir, os.path.dirname(spec.domain_dir)])
        # Only ever paths this guest's build could have made.
        created = [p for p in created if p in allowed]
        self.release_disks([p for p in created if p in spec.disk_paths and not p.startswith("/dev/")])
        self._remove_paths(created)
        self._clear_marker(spec)

    def release_disks(self, paths):
        """Unmount and detach what an interrupted build left on the image files ``paths``.

        Every mount of a loop device backed by one of them, and every mount
        below such a mount point, is unmounted in the reverse of mount order;
        the loop devices are then detached and the emptied mount points
        removed. Returns the mount points released.
        """
        devices = []
        for path in paths:
            if os.path.isfile(path):
                devices += loop_attachments(self.runner, path)
        if not devices:
            return []
        mounts = self._mounts()
        tops = [point for point, source in mounts if source in devices]
        inside = [point for point, _source in mounts
                  if any(point == top or point.startswith(top.rstrip("/") + "/") for top in tops)]
        # A umount may take a propagated copy elsewhere with it: check the outcome, not each call.
        for point in reversed(inside):
            self.runner.run(["umount", point], check_rc=False)
        left = [point for point, source in self._mounts() if source in devices]
        if left:
            raise GuestError("could not unmount %s, left mounted by an interrupted build of %s; unmount it by hand"
                             % (", ".join(left), ", ".join(paths)))
        # mount -o loop detaches on umount (autoclear); a device set up by
        # losetup is still there. Ask again: a freed device may already be
        # someone else's.
        for path in paths:
            for device in loop_attachments(self.runner, path):
                self.runner.run(["losetup", "-d", device])
        for point in tops:
            try:
                os.rmdir(point)
            except OSError:
                pass
        return tops

    @staticmethod
    def _mounts():
        try:
            with open(MOUNTINFO) as handle:
                return parse_mountinfo(handle.read())
        except OSError:
            return []

    def _remove_paths(self, paths):
        removed = []
        # Files before the directory that holds them.
        for path in sorted(paths, key=len, reverse=True):
            if path.startswith("/dev/") and os.path.exists(path):
                self.runner.run(["lvremove", "-f", path])
                removed.append(path)
            elif os.path.isdir(path) and not os.path.islink(path):
                try:
                    os.rmdir(path)
                    removed.append(path)
                except OSError:
                    pass
            elif os.path.lexists(path):
                os.unlink(path)
                removed.append(path)
        return removed

    # -- absent -----------------------------------------------------------
    def autostart_links(self, spec):
        """Links in /etc/xen/auto that start this guest."""
        auto_dir = self.autostart_dir
        links = []
        if not os.path.isdir(auto_dir):
            return links
        for entry in sorted(os.listdir(auto_dir)):
            path = os.path.join(auto_dir, entry)
            if entry == os.path.basename(spec.config_path) or (
                os.path.islink(path) and os.path.realpath(path) == os.path.realpath(spec.config_path)
            ):
                links.append(path)
        return links

    def ensure_absent(self, spec):
        """Remove the guest's autostart link, config and disks (refused while it runs)."""
        targets = list(self.autostart_links(spec))
        targets += [p for p in [spec.config_path] + spec.disk_paths if os.path.lexists(p)]
        if spec.domain_dir and os.path.isdir(spec.domain_dir):
            targets.append(spec.domain_dir)
        if not targets:
            return self.result(spec, changed=False, removed=[])
        refuse_if_running(spec.hostname, self.domains, "delete it")
        if not self.module.check_mode:
            if os.path.exists(self._marker(spec)):
                # An interrupted build may still hold its disks mounted.
                self.release_disks([p for p in spec.disk_paths if not p.startswith("/dev/")])
            # Links and config first: a half-deleted guest must not autostart.
            for path in list(targets):
                if path.startswith("/dev/"):
                    self.runner.run(["lvremove", "-f", path])
                elif os.path.isdir(path) and not os.path.islink(path):
                    if os.listdir(path):
                        self.module.warn("left %s in place: it holds files this module did not make" % path)
                        targets.remove(path)
                        continue
                    os.rmdir(path)
                else:
                    os.unlink(path)
            self._clear_marker(spec)
        return self.result(spec, changed=True, removed=targets)
