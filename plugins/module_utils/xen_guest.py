# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_guest`` module: a list of guests, converged in one run.

Private to the kuutorvaja.xen collection: no API promise to other code.

:func:`guest_entries` merges each entry of ``guests`` over ``defaults``;
:func:`image_params` and :func:`config_params` translate an entry into the
options of the single-object backends (``xen_image``, ``xen_guest_config``);
:class:`GuestList` checks every entry before anything runs, then takes each
guest under its lock (``locks``), reading the toolstack under it, in the
guide's order: image, offline fixes, config, disk size, power state and
autostart.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    address_list,
    parse_size,
    refuse_if_in_use,
    refuse_if_running,
    xen_tools_layout,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import ToolstackError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import XenCfgError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_disk import DiskGrower
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_domain import XenDomain, XenDomainError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import config_request, converge_config
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import run_operations
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import (
    NIC_OPTIONS,
    ImageManager,
    post_install_ops,
    spec_from_params,
)

GUEST_STATES = ("running", "shutdown", "present", "absent")
BOOT_KINDS = ("pygrub", "pv", "pvh")
# The boot kinds that boot a kernel of the dom0 (kernel, initrd).
KERNEL_BOOT_KINDS = ("pv", "pvh")

FIX_OPTIONS = dict(
    console_kmap=dict(type="bool"),
    lib_tls=dict(type="bool"),
    check_udev_mac=dict(type="bool"),
)

GUEST_OPTIONS = dict(
    name=dict(type="str"),
    state=dict(type="str", choices=list(GUEST_STATES)),
    autostart=dict(type="bool"),
    dist=dict(type="str"),
    install_method=dict(type="str", choices=["debootstrap", "cdebootstrap", "tar", "copy", "rinse", "image"]),
    install_source=dict(type="str"),
    mirror=dict(type="str"),
    dir=dict(type="str"),
    lvm=dict(type="str"),
    config_dir=dict(type="str"),
    memory=dict(type="str"),
    vcpus=dict(type="int"),
    disk_size=dict(type="str"),
    swap=dict(type="str"),
    noswap=dict(type="bool"),
    fs=dict(type="str", choices=["ext2", "ext3", "ext4", "xfs", "btrfs"]),
    image=dict(type="str", choices=["sparse", "full"]),
    ip=dict(type="raw"),
    gateway=dict(type="str"),
    netmask=dict(type="str"),
    nameserver=dict(type="list", elements="str"),
    mac=dict(type="str"),
    bridge=dict(type="str"),
    nics=dict(type="list", elements="dict", options=NIC_OPTIONS),
    boot=dict(type="str", choices=list(BOOT_KINDS)),
    kernel=dict(type="str"),
    initrd=dict(type="str"),
    extra=dict(type="str"),
    xen_tools_roles=dict(type="list", elements="str"),
    authorized_keys=dict(type="list", elements="str", no_log=False),
    root_password_hash=dict(type="str", no_log=True),
    fixes=dict(type="dict", options=FIX_OPTIONS),
    force_rebuild=dict(type="bool"),
)
"""One guest's options, none with a default: what an entry leaves out comes from ``defaults``."""

BUILTIN_DEFAULTS = dict(
    state="running", autostart=True,
    dist="bookworm", install_method="debootstrap",
    dir="/srv/xen", config_dir="/etc/xen",
    memory="512M", vcpus=1,
    disk_size="2G", swap="128M", noswap=False, fs="ext4", image="sparse",
    bridge="xenbr0", boot="pygrub",
    fixes=dict(console_kmap=False, lib_tls=False, check_udev_mac=False),
    force_rebuild=False,
)
"""What neither an entry nor ``defaults`` sets (the module's documented defaults)."""

XEN_GUEST_ARGUMENT_SPEC = dict(
    guests=dict(type="list", elements="dict", required=True, options=GUEST_OPTIONS),
    defaults=dict(type="dict", default={}, options=GUEST_OPTIONS),
    fixes_on_existing=dict(type="bool", default=False),
    restart_on_change=dict(type="bool", default=False),
    shutdown_timeout=dict(type="int", default=300),
)
"""Argument spec of xen_guest, without ``toolstack`` (the module documents each option)."""

# The guide's fixes for an Etch guest on a Xen kernel, done offline.
_FIX_OPS = {
    "console_kmap": dict(action="move", path="/etc/console/boottime.kmap.gz",
                         dest="/etc/console/boottime.kmap.gz-muidu-segab-xenni"),
    "lib_tls": dict(action="move", path="/lib/tls", dest="/lib/tls.disabled"),
}


def guest_entries(guests, defaults):
    """Each entry of ``guests`` with what it leaves out taken from ``defaults``, then from :data:`BUILTIN_DEFAULTS`.

    ``fixes`` merges key by key. Names must be unique.
    """
    entries = []
    for index, guest in enumerate(guests):
        if not guest.get("name"):
            raise GuestError("guests[%d]: name is required" % index)
        entry = {}
        for key in GUEST_OPTIONS:
            for source in (guest, defaults or {}, BUILTIN_DEFAULTS):
                if source.get(key) is not None:
                    entry[key] = source[key]
                    break
            else:
                entry[key] = None
        fixes = dict(BUILTIN_DEFAULTS["fixes"])
        for source in (defaults or {}, guest):
            fixes.update({k: v for k, v in (source.get("fixes") or {}).items() if v is not None})
        entry["fixes"] = fixes
        entries.append(entry)
    names = [e["name"] for e in entries]
    repeated = sorted(set(n for n in names if names.count(n) > 1))
    if repeated:
        raise GuestError("guests: each name may appear once; repeated: %s" % ", ".join(repeated))
    return entries


def static_ips(entry):
    """The entry's static addresses as a list (``ip`` may be one string or a list); empty for DHCP."""
    return address_list(entry.get("ip"))


def image_params(entry):
    """The ``xen_image`` options for a guest entry."""
    ips = static_ips(entry)
    kernel_boot = entry["boot"] in KERNEL_BOOT_KINDS
    return dict(
        name=entry["name"],
        state="absent" if entry["state"] == "absent" else "present",
        dist=entry["dist"],
        install_method=entry["install_method"],
        install_source=entry["install_source"] or None,
        mirror=entry["mirror"] or None,
        dir=None if entry["lvm"] else entry["dir"],
        lvm=entry["lvm"] or None,
        config_dir=entry["config_dir"],
        size=entry["disk_size"],
        swap=entry["swap"],
        noswap=bool(entry["noswap"]),
        fs=entry["fs"],
        image=entry["image"],
        memory=entry["memory"],
        vcpus=entry["vcpus"],
        # With nics, NIC 0 says DHCP or not (xen_image refuses dhcp beside nics).
        dhcp=not ips and entry["nics"] is None,
        ip=ips or None,
        gateway=entry["gateway"] or None,
        netmask=entry["netmask"] or None,
        nameserver=entry["nameserver"] or None,
        mac=entry["mac"] or None,
        bridge=entry["bridge"] or None,
        nics=entry["nics"],
        pygrub=not kernel_boot,
        pvh=entry["boot"] == "pvh",
        kernel=(entry["kernel"] or None) if kernel_boot else None,
        initrd=(entry["initrd"] or None) if kernel_boot else None,
        roles=entry["xen_tools_roles"] or None,
        authorized_keys=entry["authorized_keys"] or None,
        root_password_hash=entry["root_password_hash"] or None,
    )


def config_params(entry, spec):
    """The ``xen_guest_config`` options for a guest entry: xen-tools' layout of its image ``spec``, plus ``extra``."""
    params = xen_tools_layout(
        spec.hostname, spec.disk_paths, spec.disk_vdevs, spec.memory_mib, spec.vcpus, spec.nics,
        kernel=spec.kernel, initrd=spec.initrd, extra=entry["extra"] or None, boot=spec.boot)
    params.update(path=spec.config_path, config_dir=spec.config_dir, state="present")
    return params


def fix_operations(entry):
    """The offline operations of the fixes an entry asks for (``check_udev_mac`` only reads)."""
    return [_FIX_OPS[key] for key in ("console_kmap", "lib_tls") if entry["fixes"].get(key)]


class PlannedGuest(namedtuple("PlannedGuest", "entry image spec request")):
    """One checked entry: merged keys, xen_image params and spec, config request (None for absent)."""

    @property
    def disk_bytes(self):
        """The disk size the spec holds, in bytes (None for an absent guest)."""
        return None if self.request is None else self.spec.size_mib * 1024 * 1024


def plan_guests(params):
    """Check and translate every entry of ``params["guests"]`` before anything runs; a list of :class:`PlannedGuest`."""
    planned = []
    for index, entry in enumerate(guest_entries(params["guests"], params["defaults"])):
        try:
            absent = entry["state"] == "absent"
            if not absent:
                # Checked first, so that a bad size names the option the entry gave (xen_image calls it size).
                parse_size(entry["disk_size"], "disk_size")
            image = image_params(entry)
            spec = spec_from_params(image, for_delete=absent)
            request = None if absent else config_request(config_params(entry, spec))
        except GuestError as exc:
            raise GuestError("guests[%d] (%s): %s" % (index, entry["name"], exc))
        planned.append(PlannedGuest(entry, image, spec, request))
    return planned


class GuestList:
    """Converge planned guests (:func:`plan_guests`) for an AnsibleModule: one guest at a time, each under its lock."""

    def __init__(self, module, runner, toolstack, params):
        self.module = module
        self.check_mode = module.check_mode
        self.runner = runner
        self.tool = toolstack
        self.params = params

    def run(self, planned):
        """Converge every guest of ``planned``; return the module result (``changed``, ``guests``, ``diff``)."""
        results = []
        try:
            for guest in planned:
                entry = guest.entry
                with locked(guest=guest.spec.hostname, disks=guest.spec.disk_paths, shared=self.shared_lock(entry)):
                    # Read under the guest's lock: what it says holds until this guest is done.
                    active = self.tool.names_with_id()
                    if entry["state"] == "absent":
                        results.append(self.remove(entry, guest.spec, active))
                    else:
                        results.append(self.converge(guest, active))
        except (GuestError, CommandError, ToolstackError, XenCfgError, XenDomainError, OSError) as exc:
            done = ", ".join("%s (%s)" % (r["name"], "changed" if r["changed"] else "ok") for r in results)
            raise GuestError("guest %s: %s%s" % (entry["name"], exc, "; done before it: " + done if done else ""))
        result = dict(changed=any(r["changed"] for r in results), guests=results)
        diffs = [d for r in results for d in r.pop("diffs")]
        if diffs:
            result["diff"] = diffs
        return result

    def shared_lock(self, entry):
        """Check mode shares a guest's lock, unless its offline fixes would mount the disk (a second mount is refused)."""
        return bool(self.check_mode and not (self.params["fixes_on_existing"] and any(entry["fixes"].values())))

    # -- one guest -------------------------------------------------------------

    def converge(self, guest, active):
        """Image, offline fixes, config, disk size, then power state and autostart, for one planned guest."""
        entry, image, spec, request = guest.entry, guest.image, guest.spec, guest.request
        name = entry["name"]
        result = dict(name=name, changed=False, diffs=[])
        built = ImageManager(self.module, self.runner, active, disk_users=self.tool.disk_users).ensure_present(
            spec, force=bool(entry["force_rebuild"]), post_install_ops=post_install_ops(image))
        result["image"] = built
        built_now = built["changed"]
        result["fixes"] = self.fix(entry, spec, built_now, active)
        config = converge_config(self.module, request, spec.boot, active)
        if config.get("diff"):
            result["diffs"].append(config.pop("diff"))
        result["config"] = config
        result["disk"] = None
        if not spec.lvm and not built_now:
            result["disk"] = DiskGrower(self.module, self.runner, active, disk_users=self.tool.disk_users).ensure(
                name, spec.disk_paths[0], guest.disk_bytes)
        result["domain"] = self.power(entry, spec, config)
        if result["domain"] and result["domain"].get("diff"):
            result["diffs"].append(result["domain"].pop("diff"))
        parts = [built, result["fixes"], config, result["disk"], result["domain"]]
        result["changed"] = any(part and part.get("changed") for part in parts)
        return result

    def fix(self, entry, spec, built_now, active):
        """The guide's offline fixes on a stopped guest: after its build, or on every run with ``fixes_on_existing``."""
        if not any(entry["fixes"].values()):
            return None
        if not built_now and not self.params["fixes_on_existing"]:
            return None
        if built_now and self.check_mode:
            # Nothing to mount yet: the build is only predicted.
            return dict(changed=True, predicted=True)
        refuse_if_running(spec.hostname, active, "apply offline fixes to its disk")
        refuse_if_in_use(spec.disk_paths[0], self.tool.disk_users(spec.disk_paths[0]), "apply offline fixes to it")
        results, diff, facts = run_operations(self.runner, spec.disk_paths[0], fix_operations(entry),
                                              check_mode=self.check_mode)
        if entry["fixes"].get("check_udev_mac"):
            # Every NIC's MAC is pinned: a rule for eth1 is no stale rule of eth0.
            pinned = [nic["mac"] for nic in spec.nics]
            seen = sorted(set(rule["mac"] for rule in facts["persistent_net"]) - set(pinned))
            if seen:
                raise GuestError(
                    "its udev rules name MAC(s) %s, but its config pins %s; set mac to the one udev knows "
                    "in the guest entry or remove the stale rule" % (", ".join(seen), ", ".join(pinned)))
        return dict(changed=any(r["changed"] for r in results), results=results,
                    persistent_net=facts["persistent_net"])

    def power(self, entry, spec, config):
        """Autostart and power state where they differ from the entry (a restart for a changed config when asked)."""
        state, running = entry["state"], config["running"]
        restart = bool(self.params["restart_on_change"] and config.get("restart_required") and state in ("running", "present"))
        power_differs = (state == "running" and not running) or (state == "shutdown" and running)
        if not (restart or power_differs or config["autostart"] != bool(entry["autostart"])):
            return None
        if restart:
            self.domain(spec, "shutdown", None).apply()
        wanted = "running" if restart else (None if state == "present" else state)
        return self.domain(spec, wanted, bool(entry["autostart"])).apply()

    def domain(self, spec, state, autostart):
        """A validated :class:`XenDomain` for the guest of ``spec``."""
        params = dict(name=spec.hostname, config=spec.config_path, state=state, autostart=autostart,
                      shutdown_timeout=self.params["shutdown_timeout"], force=False)
        domain = XenDomain(self.module, toolstack=self.tool, params=params)
        domain.validate()
        for warning in domain.warnings:
            self.module.warn(warning)
        domain.warnings = []
        return domain

    def remove(self, entry, spec, active):
        """Shut the guest down, then delete its autostart link, config and disks."""
        result = dict(name=entry["name"], diffs=[])
        result["domain"] = self.domain(spec, "shutdown", None).apply()
        result["domain"].pop("diff", None)
        if result["domain"]["changed"]:
            # Shut down now (or, in check mode, predicted to be): its disks are free.
            active = active - {spec.hostname}
        result["image"] = ImageManager(self.module, self.runner, active).ensure_absent(spec)
        result["changed"] = result["domain"]["changed"] or result["image"]["changed"]
        return result
