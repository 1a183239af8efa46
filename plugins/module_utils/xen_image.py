# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_image`` module: a guest image, built idempotently.

Private to the kuutorvaja.xen collection: no API promise to other code.

:class:`XenImageSpec` holds the desired guest image with defaults filled in
and units normalised (:func:`spec_from_params`); :class:`ImageManager`
decides present/absent and does the work with xen-tools
(``host_tools.XenCreateImage``) or from a golden image (``golden_image``),
cleaning up after a failed or interrupted build.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, masked_argv
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically
from ansible_collections.kuutorvaja.xen.plugins.module_utils.golden_image import GoldenImageBuild, interfaces_op, write_config
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    AUTOSTART_DIR,
    CONFIG_DIR,
    ONE_NIC_KEYS,
    GuestError,
    address_list,
    check_path_length,
    config_path_for,
    derive_mac,
    guest_ip,
    ipv4,
    memory_mib,
    netmask,
    normalize_mac,
    normalize_nics,
    refuse_if_running,
    size_mib,
    validate_abs_path,
    validate_dir,
    validate_guest_name,
    validate_interface_name,
    validate_password_hash,
    validate_volume_group,
    vcpu_count,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import (
    XEN_TOOLS_LOG_DIR,
    Loop,
    Lvm,
    Mounts,
    XenCreateImage,
    redact,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import owner_alive, process_owner
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import run_operations

# "image" is ours (golden_image.py): a copy of a golden disk image, no xen-create-image.
INSTALL_METHODS = ("debootstrap", "cdebootstrap", "tar", "copy", "rinse", "image")
FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
XEN_TOOLS_SHARE = "/usr/share/xen-tools"
STATE_DIR = "/var/lib/kuutorvaja-xen/builds"
# A marker lists a handful of paths; anything much longer is not one of ours.
MARKER_MAX_BYTES = 64 * 1024
NIC_OPTIONS = dict(
    bridge=dict(type="str"),
    mac=dict(type="str"),
    ip=dict(type="raw"),
    netmask=dict(type="str"),
    gateway=dict(type="str"),
)
"""The argument spec of one entry of ``nics`` (xen_image's and xen_guest's); guest_model.normalize_nics checks it."""


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
    # The guide's 512M: a debootstrapped bookworm guest's stock initramfs does
    # not fit in 256M (xen_image's documentation).
    memory_mib: int = 512
    vcpus: int = 1
    nameserver: list = field(default_factory=list)
    pygrub: bool = True
    # A PVH guest builds like a PV one (dom0 kernel, no pygrub); its config says type = "pvh".
    pvh: bool = False
    kernel: str = None
    initrd: str = None
    roles: list = field(default_factory=list)
    arch: str = None
    config_dir: str = CONFIG_DIR
    # Every NIC (guest_model.normalize_nics), NIC 0 first; never empty.
    # ``nics_option``: the list came from ``nics``.
    nics: list = field(default_factory=list)
    nics_option: bool = False

    # NIC 0's settings, the ones xen-create-image takes: read from nics[0],
    # never stored twice.
    ip = property(lambda self: self.nics[0]["ip"])
    gateway = property(lambda self: self.nics[0]["gateway"])
    netmask = property(lambda self: self.nics[0]["netmask"])
    mac = property(lambda self: self.nics[0]["mac"])
    bridge = property(lambda self: self.nics[0]["bridge"])
    dhcp = property(lambda self: not self.ip)

    @property
    def boot(self):
        """``pygrub``, ``pv`` or ``pvh``: the config's boot kind."""
        return "pvh" if self.pvh else "pygrub" if self.pygrub else "pv"

    @property
    def extra_nics(self):
        """``(index, nic)`` of the NICs after NIC 0: what xen-create-image does not know of."""
        return list(enumerate(self.nics))[1:]

    @property
    def own_config(self):
        """Whether the config needs more than xen-create-image writes (more NICs, PVH): then it is written here."""
        return bool(self.extra_nics or self.pvh)

    def bridges(self):
        """Each bridge the NICs join, once, with the option that names it (``bridge`` or ``nics[I].bridge``)."""
        found = {}
        for index, nic in enumerate(self.nics):
            if nic["bridge"] and nic["bridge"] not in found:
                found[nic["bridge"]] = "nics[%d].bridge" % index if self.nics_option else "bridge"
        return list(found.items())

    @property
    def config_path(self):
        """Where xen-tools writes the guest config."""
        return config_path_for(self.hostname, self.config_dir)

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


def _mib_or_default(params, option, attribute):
    """``params[option]`` in MiB, or the spec's own default when it is not given."""
    if params.get(option):
        return size_mib(params[option], option)
    # A dataclass keeps each plain default as a class attribute.
    return getattr(XenImageSpec, attribute)


def guest_nics(params, name):
    """The guest's NICs (``guest_model.normalize_nics``) and whether the ``nics`` option gave them.

    Without ``nics`` the one NIC of the options ``dhcp``, ``ip``,
    ``netmask``, ``gateway``, ``mac`` and ``bridge``, checked as before
    ``nics`` existed; with it those options (but ``bridge``, the default
    bridge) are refused.
    """
    bridge = params.get("bridge")
    if bridge:
        validate_interface_name(bridge, "bridge")
    if params.get("nics") is not None:
        given = [k for k in ("dhcp",) + ONE_NIC_KEYS if params.get(k)]
        return normalize_nics(params["nics"], name, bridge, given), True
    mask = netmask(params["netmask"]) if params.get("netmask") else None
    ips = [guest_ip(ip, "ip", mask) for ip in address_list(params.get("ip"))]
    dhcp = bool(params.get("dhcp"))
    if dhcp and ips:
        raise GuestError("give either dhcp: true or ip, not both")
    if not dhcp and not ips:
        raise GuestError("give dhcp: true or an ip address for the guest")
    mac = normalize_mac(params["mac"]) if params.get("mac") else derive_mac(name)
    gateway = ipv4(params["gateway"], "gateway") if params.get("gateway") else None
    return [dict(bridge=bridge or None, mac=mac, ip=ips, netmask=mask, gateway=gateway)], False


def spec_from_params(params, for_delete=False):
    """Build a :class:`XenImageSpec` from module parameters, refusing bad input.

    Only checks that need no host state happen here; :func:`check_host`
    checks the dom0 (dist known to xen-tools, bridge present, sources exist).
    ``for_delete`` needs only what locates the guest (name, dir/lvm, noswap).
    """
    if for_delete:
        params = dict(params, dist=params.get("dist") or "none", install_method="debootstrap",
                      dhcp=True, ip=None, gateway=None, netmask=None, nameserver=None, nics=None)
    name = validate_guest_name(params["name"])
    if bool(params.get("dir")) == bool(params.get("lvm")):
        raise GuestError("give exactly one of dir (file-backed images) or lvm (volume group)")
    if params.get("dir"):
        validate_dir(params["dir"], "dir")
    if params.get("lvm"):
        validate_volume_group(params["lvm"], "lvm")
    if params.get("config_dir"):
        validate_dir(params["config_dir"], "config_dir")
    dist = params.get("dist") or ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", dist):
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
    pvh = bool(params.get("pvh"))
    if pvh and not params.get("kernel") and not for_delete:
        raise GuestError("a PVH guest (pvh: true, boot: pvh) needs kernel: a PVH-capable domU kernel on the dom0 "
                         "(and optionally initrd)")
    if pygrub and fs == "xfs":
        raise GuestError("fs=xfs cannot be booted by pygrub; use ext4 or give kernel")
    nics, nics_option = guest_nics(params, name)
    vcpus = vcpu_count(params.get("vcpus"))
    roles = params.get("roles") or []
    for role in roles:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", role) and not os.path.isabs(role):
            raise GuestError("roles entry %r is not a xen-tools role name or absolute path" % role)
    if params.get("root_password_hash") and not for_delete:
        # Refused here, before the build (and in check mode), not after it when the hash goes in.
        validate_password_hash(params["root_password_hash"])
    spec = XenImageSpec(
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
        memory_mib=memory_mib(params["memory"]) if params.get("memory") else XenImageSpec.memory_mib,
        vcpus=vcpus,
        nameserver=[ipv4(n, "nameserver") for n in (params.get("nameserver") or [])],
        pygrub=bool(pygrub),
        pvh=pvh,
        kernel=params.get("kernel"),
        initrd=params.get("initrd"),
        roles=list(roles),
        arch=params.get("arch"),
        config_dir=params.get("config_dir") or CONFIG_DIR,
        nics=nics,
        nics_option=nics_option,
    )
    for option, path in [("config_dir", spec.config_path)] + [("dir", p) for p in spec.disk_paths]:
        check_path_length(path, option)
    return spec


def check_host(spec, exists=os.path.exists, isdir=os.path.isdir):
    """Refuse a spec the dom0 cannot build: unknown dist, missing bridges (of every NIC) or sources.

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
    for bridge, option in spec.bridges():
        if not isdir("/sys/class/net/%s/bridge" % bridge):
            problems.append("%s=%s does not exist on this host (no /sys/class/net/%s/bridge)" % (option, bridge, bridge))
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


def free_mib(path):
    """MiB free to unprivileged writers on the filesystem holding ``path`` (None when unknown)."""
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize // (1024 * 1024)


def post_install_ops(params):
    """Offline file operations that put SSH keys and the root password hash into a new guest."""
    ops = []
    if params.get("authorized_keys"):
        ops.append(dict(action="directory", path="/root/.ssh", mode="0700", owner=0, group=0))
        ops.append(dict(action="write", path="/root/.ssh/authorized_keys", mode="0600", owner=0, group=0,
                        content="".join(k.strip() + "\n" for k in params["authorized_keys"])))
    if params.get("root_password_hash"):
        ops.append(dict(action="password", user="root", password_hash=params["root_password_hash"]))
    return ops


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


def marker_verdict(text, alive=owner_alive):
    """What the text of a build marker says, as ``(verdict, record)``.

    ``live``: its owner (pid, start time, boot id) still runs - a build is
    going on, nothing may be cleaned. ``interrupted``: a readable marker whose
    owner is gone (dead pid, pid reused, another boot, or an older marker
    with no owner at all). ``unreadable``: empty or garbled (no JSON object
    with a list of paths under ``created``); ``record`` is then None.
    """
    try:
        record = json.loads(text)
    except ValueError:
        return "unreadable", None
    if not isinstance(record, dict):
        return "unreadable", None
    created = record.get("created", [])
    if not isinstance(created, list) or not all(isinstance(p, str) for p in created):
        return "unreadable", None
    return ("live" if alive(record.get("owner")) else "interrupted"), record


def check_room(spec, free):
    """Refuse a fully allocated image (``image: full``) bigger than the room in ``dir`` (``free`` MiB; None when unknown).

    Asked before anything is made. A sparse image takes its room only as the
    guest fills it; a full one writes all of it at once.
    """
    needed = spec.size_mib + (0 if spec.noswap else spec.swap_mib)
    if not spec.lvm and free is not None and needed > free:
        raise GuestError("size=%dM%s with image=full needs %d MiB, but %s has %d MiB free; nothing was made"
                         % (spec.size_mib, "" if spec.noswap else " and swap=%dM" % spec.swap_mib, needed, spec.dir, free))


def allocate_fully(paths):
    """Give every byte of the image files ``paths`` its blocks on the filesystem (``image: full``).

    xen-create-image writes a full image with dd, but mkfs.ext4 then
    discards the new filesystem's free blocks, which on a file means
    punching holes (e2fsprogs' unix I/O): on the lab a 2 GiB full disk.img
    kept 4% of its blocks. The golden path grows its copy by extending the
    file, a hole too. posix_fallocate allocates what is a hole and leaves
    what is written as it is; it fails (ENOSPC) when the room is not there.
    """
    for path in paths:
        handle = os.open(path, os.O_WRONLY)
        try:
            size = os.fstat(handle).st_size
            if size:
                os.posix_fallocate(handle, 0, size)
        finally:
            os.close(handle)


class ImageManager:
    """Create or delete one guest image with xen-tools, idempotently.

    ``runner`` is a :class:`CommandRunner`; ``domains`` the set of existing
    domain names (one toolstack read shared by all guests of a run).
    """

    def __init__(self, module, runner, domains, state_dir=None, autostart_dir=None, disk_users=None):
        self.module = module
        self.runner = runner
        self.domains = domains
        # The toolstack's disk_users: who has a path as a disk (the golden path asks it).
        self.disk_users = disk_users
        self.state_dir = state_dir or STATE_DIR
        self.autostart_dir = autostart_dir or AUTOSTART_DIR
        self.xen_create_image = XenCreateImage(runner)
        self.loop = Loop(runner)
        self.mounts = Mounts(runner)
        self.lvm = Lvm(runner)

    # -- inspection -------------------------------------------------------
    def _marker(self, spec):
        return os.path.join(self.state_dir, spec.hostname + ".json")

    def marker(self, spec):
        """``(verdict, record)`` of the guest's build marker (:func:`marker_verdict`); ``(None, None)`` when there is none."""
        try:
            with open(self._marker(spec), "rb") as handle:
                raw = handle.read(MARKER_MAX_BYTES + 1)
        except FileNotFoundError:
            return None, None
        except OSError:
            return "unreadable", None
        if len(raw) > MARKER_MAX_BYTES:
            return "unreadable", None
        try:
            return marker_verdict(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return "unreadable", None

    def refuse_if_building(self, spec, record, action):
        """Raise GuestError: the marker's owner is building the guest right now."""
        raise GuestError(
            "guest %s is being built right now by pid %s (its build marker %s names a live process); "
            "refusing to %s it. Try again when that build has finished"
            % (spec.hostname, record["owner"]["pid"], self._marker(spec), action))

    def existing(self, spec):
        """Which of the guest's config and disks exist now."""
        paths = [spec.config_path] + spec.disk_paths
        return {path: os.path.exists(path) for path in paths}

    def status(self, spec):
        """``present``, ``absent``, ``partial``, ``interrupted`` (our marker left behind) or ``building`` (its owner lives)."""
        verdict = self.marker(spec)[0]
        if verdict == "live":
            return "building"
        if verdict:
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
            nics=[dict(mac=nic["mac"], bridge=nic["bridge"], ip=nic["ip"][0] if nic["ip"] else "dhcp")
                  for nic in spec.nics],
        )
        result.update(extra)
        return result

    # -- present ----------------------------------------------------------
    def ensure_present(self, spec, force=False, post_install_ops=()):
        """Build the image unless config and disks exist; ``force`` rebuilds.

        ``post_install_ops`` (xen_guest_files operations: SSH keys, root password
        hash) go into the new image offline; a failure there rolls the build
        back like any other. The golden path applies them in the mount it
        makes anyway; after xen-create-image they take a mount of their own.
        """
        status = self.status(spec)
        if status == "building":
            self.refuse_if_building(spec, self.marker(spec)[1], "build")
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
            golden = GoldenImageBuild(self.module, self.runner, self.domains, self.disk_users)
            golden.check(spec)
            argv = golden.copy_argv(spec)
        else:
            self.xen_create_image.require()
            argv = self.xen_create_image.argv(spec, force=force or status in ("partial", "interrupted"))
        changed_result = self.result(
            spec, changed=True, rebuilt=status != "absent", status=status, command=masked_argv(argv)
        )
        if spec.image == "full" and spec.dir:
            check_room(spec, free_mib(spec.dir))
        if self.module.check_mode:
            return changed_result
        if status == "interrupted":
            self.cleanup_interrupted(spec)
        created = [p for p, e in self.existing(spec).items() if not e]
        # xen-tools makes DIR/domains/NAME, and DIR/domains too on a fresh dir.
        for directory in (spec.domain_dir, os.path.dirname(spec.domain_dir or "")):
            if directory and not os.path.isdir(directory):
                created.append(directory)
        try:
            self._write_marker(spec, created)
        except OSError as exc:
            # A half-written marker would read as an interrupted build next time.
            try:
                self._clear_marker(spec)
            except OSError:
                pass
            raise GuestError("building guest %s failed before it began: cannot record the build in %s: %s; nothing was made"
                             % (spec.hostname, self.state_dir, exc.strerror or exc))
        free_before = free_mib(spec.dir) if spec.dir else None
        step = "the copy" if golden else "xen-create-image"
        try:
            if golden:
                summary = golden.run(spec, extra_ops=post_install_ops)
            else:
                summary = self.xen_create_image.run(argv)
            missing = [p for p, e in self.existing(spec).items() if not e]
            if missing:
                raise GuestError("%s finished but did not create %s" % (step, ", ".join(missing)))
            self._check_room_left(spec)
            if not golden:
                step = "the offline file step"
                self._after_xen_create_image(spec, post_install_ops)
            if spec.image == "full" and not spec.lvm:
                step = "allocating the image files (image=full)"
                allocate_fully(spec.disk_paths)
        except (CommandError, GuestError, OSError) as exc:
            raise GuestError(self._roll_back(spec, created, exc, step, free_before))
        self._clear_marker(spec)
        changed_result["summary"] = summary
        if summary.get("mac") and summary["mac"] != spec.mac:
            self.module.warn("xen-tools reports MAC %s, expected %s" % (summary["mac"], spec.mac))
        return changed_result

    def _after_xen_create_image(self, spec, post_install_ops):
        """What xen-create-image cannot do, done to the guest it built: extra NICs, PVH, keys and password.

        Its config holds one vif and no ``type``: with more NICs or PVH the
        config is written again in the same layout, with all of them. Its
        networking hook sets up eth0 only: the guest's whole
        /etc/network/interfaces is written again with every NIC
        (``golden_image.network_interfaces`` says why not interfaces.d), in
        the same offline mount as the keys and password.
        """
        if spec.own_config:
            write_config(spec)
        ops = list(post_install_ops) + ([interfaces_op(spec)] if spec.extra_nics else [])
        if ops:
            run_operations(self.runner, spec.disk_paths[0], ops)

    def _roll_back(self, spec, created, exc, step, free_before):
        """Remove what this build created (``created``); return the message naming the cause and what was removed.

        When something cannot be removed the marker stays, so the next run
        finishes the cleanup before it builds.
        """
        try:
            removed, left = self._remove_paths(created), None
        except (CommandError, OSError) as cleanup:
            removed, left = [], cleanup
        else:
            self._clear_marker(spec)
        if isinstance(exc, CommandError) and step == "xen-create-image":
            message = "xen-create-image failed with rc=%s" % exc.rc
        elif isinstance(exc, OSError):
            # ENOSPC, EFBIG, ENAMETOOLONG: errno text and the path, as the user can act on them.
            message = "%s: %s%s" % (step, exc.strerror or exc, " (%s)" % exc.filename if exc.filename else "")
        else:
            message = str(exc)
        log = "" if step != "xen-create-image" else " Last lines of %s/%s.log:\n%s" % (
            XEN_TOOLS_LOG_DIR, spec.hostname, self.xen_create_image.log_tail(spec.hostname) or "(no log)")
        if left is not None:
            undone = ("Could not remove all this run created (%s): %s; the next run removes the rest first."
                      % (", ".join(created), left))
        else:
            undone = "Removed what this run created: %s." % (", ".join(removed) or "nothing")
        return ("building guest %s failed: %s. %s%s%s"
                % (spec.hostname, redact(message), space_note(spec, free_before), undone, log))

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
        """Record what this build creates and who builds it, whole or not at all (a crash must not leave half a marker)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        record = {"created": created, "owner": process_owner()}
        write_atomically(self._marker(spec), json.dumps(record), 0o600, replace=os.replace, sync=True)

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

        An unreadable marker (empty, garbled) cannot say what the build made:
        then the guest's own paths go (its config, disks and directory, all
        derived from its name), which that build was replacing anyway; never
        a path read from a marker that is not one of them.
        """
        verdict, record = self.marker(spec)
        if verdict == "live":
            self.refuse_if_building(spec, record, "clean up after")
        own = [spec.config_path] + spec.disk_paths
        allowed = set(own)
        if spec.domain_dir:
            allowed.update([spec.domain_dir, os.path.dirname(spec.domain_dir)])
        if verdict == "unreadable":
            created = [p for p in own + [spec.domain_dir] if p and os.path.lexists(p)]
            self.module.warn("the build marker %s of guest %s is unreadable (empty or garbled); treating the build as "
                             "interrupted and removing the guest's own paths: %s"
                             % (self._marker(spec), spec.hostname, ", ".join(created) or "none"))
        else:
            # Only ever paths this guest's build could have made.
            created = [p for p in (record or {}).get("created", []) if p in allowed]
        self.release_disks([p for p in created if p in spec.disk_paths and not p.startswith("/dev/")])
        self._remove_paths(created)
        self._clear_marker(spec)

    def release_disks(self, paths):
        """Unmount and detach what an interrupted build left on the image files ``paths``; return the points released."""
        return self.mounts.release_images(paths, self.loop)

    def _remove_paths(self, paths):
        removed = []
        # Files before the directory that holds them.
        for path in sorted(paths, key=len, reverse=True):
            if path.startswith("/dev/") and os.path.exists(path):
                self.lvm.remove(path)
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
        verdict, record = self.marker(spec)
        if verdict == "live":
            self.refuse_if_building(spec, record, "delete")
        if not self.module.check_mode:
            if verdict:
                # An interrupted build may still hold its disks mounted.
                self.release_disks([p for p in spec.disk_paths if not p.startswith("/dev/")])
            # Links and config first: a half-deleted guest must not autostart.
            for path in list(targets):
                if path.startswith("/dev/"):
                    self.lvm.remove(path)
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
