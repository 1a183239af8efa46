# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_guest_config`` module: guest config files from structured settings.

Private to the kuutorvaja.xen collection: no API promise to other code.

:func:`build_settings` turns module parameters into the ordered settings dict
of one of five boot styles (PV with a dom0 kernel, pygrub, PVH with a dom0
kernel, HVM in Xen 3.x's legacy form, HVM in xl's current form); :func:`render_guest_config` renders it
with ``xen_cfg.render_xen_cfg``. :class:`GuestConfigFile` compares the wanted
settings with the parsed file (never raw text), has the toolstack's dry run
read a changed config from a private copy before it writes atomically, and
says how a running guest takes the change (:func:`classify_changes`:
config-only, live, restart), applying a live one when asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    CONFIG_DIR,
    GuestError,
    autostarts,
    config_path_for,
    guest_ip,
    memory_mib,
    normalize_mac,
    validate_abs_path,
    validate_dir,
    validate_guest_name,
    vcpu_count,
    within,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import ConfigRejected
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    config_differences,
    normalise_guest_config,
    parse_disk_spec,
    parse_xen_cfg,
    render_xen_cfg,
    xl_integer,
)

# A guest config is a few hundred bytes; a file far larger is no config of ours.
MAX_CONFIG_BYTES = 1024 * 1024

CONFIG_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    path=dict(type="path"),
    config_dir=dict(type="path", default=CONFIG_DIR),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    type=dict(type="str", choices=["pv", "pygrub", "pvh", "hvm"], default="pv"),
    memory=dict(type="str"),
    maxmem=dict(type="str"),
    vcpus=dict(type="int", default=1),
    # Direct kernel boot (type=pv and pvh); pygrub's guests use bootloader instead.
    kernel=dict(type="str"), ramdisk=dict(type="str"), root=dict(type="str"), extra=dict(type="str"),
    bootloader=dict(type="str", default="pygrub"),
    disks=dict(type="list", elements="raw"),
    vifs=dict(type="list", elements="raw"),
    hvm_style=dict(type="str", choices=["legacy", "current"], default="current"),
    hvmloader=dict(type="str", default="/usr/lib/xen/boot/hvmloader"),
    device_model=dict(type="str", default="/usr/lib/xen/bin/qemu-dm"),
    boot=dict(type="str", default="c"),
    vnc=dict(type="bool", default=True),
    vnclisten=dict(type="str"),
    pae=dict(type="bool", default=False),
    on_poweroff=dict(type="str"),
    on_reboot=dict(type="str"),
    on_crash=dict(type="str"),
    settings=dict(type="dict"),
)
"""The options of one guest config (xen_guest_config's, without ``toolstack``)."""

# The only key a changed value of needs nothing: xen-tools' dhcp, which xl
# does not read. The on_* actions are read at create and kept by the running
# domain (no xl command changes them), so they need a restart like the rest.
CONFIG_ONLY_KEYS = ("dhcp",)
# The dry run's JSON kept in the result: larger than this, only its main sections.
MAX_PARSED_BYTES = 64 * 1024
HEADER = "# Managed by Ansible (kuutorvaja.xen.xen_guest_config); local changes will be overwritten.\n"
BOOT_TYPES = ("pv", "pygrub", "pvh", "hvm")
# Key order per boot style: the guide's own order, so its configs render back alike.
KEY_ORDER = {
    "pv": ["name", "kernel", "ramdisk", "root", "extra", "memory", "maxmem", "disk", "vif", "vcpus"],
    "pygrub": ["name", "bootloader", "root", "extra", "memory", "maxmem", "disk", "vif", "vcpus"],
    "hvm": ["kernel", "builder", "type", "device_model", "memory", "maxmem", "vcpus", "name", "vif", "disk",
            "boot", "vnc", "vnclisten", "pae"],
}
# PVH: PV's keys, with xl's type right after the name.
KEY_ORDER["pvh"] = KEY_ORDER["pv"][:1] + ["type"] + KEY_ORDER["pv"][1:]
_VDEV_RE = re.compile(r"(ioemu:)?[a-z]+[0-9]*(:cdrom)?")
_DISK_PREFIXES = ("file:", "phy:", "tap:aio:", "tap:qcow:", "tap2:aio:")
# The guide's order (mac, type, bridge); xen-tools writes ip, mac, vifname, bridge.
_VIF_KEYS = ("ip", "mac", "type", "model", "vifname", "bridge", "script", "rate")
_SAFE_VALUE = re.compile(r"[^,'\"\\\s=]+")


def _checked_disk_string(spec, index):
    """A string ``disk`` entry, read as xl reads it and held to the rules of the dict form."""
    try:
        disk = parse_disk_spec(spec, strict=True)
    except XenCfgError as exc:
        raise GuestError("disks[%d] %s" % (index, exc))
    # xend's empty CD-ROM drive (",hdc:cdrom,r") is the one disk without a target.
    if disk["target"] and (not disk["target"].startswith("/") or not _SAFE_VALUE.fullmatch(disk["target"])):
        raise GuestError("disks[%d] target %r must be an absolute path without commas, quotes or spaces" % (index, disk["target"]))
    if not _VDEV_RE.fullmatch(disk["vdev"]):
        raise GuestError("disks[%d] vdev %r is not a virtual device name (e.g. xvda, sda1, hdc)" % (index, disk["vdev"]))
    return spec


def _disk_entry(disk, index):
    """One ``disk`` list entry from a dict (target, vdev, mode, prefix) or a string (checked alike)."""
    if isinstance(disk, str):
        return _checked_disk_string(disk, index)
    if not isinstance(disk, dict):
        raise GuestError("disks[%d] must be a dict (target, vdev, mode) or a string" % index)
    target = disk.get("target") or disk.get("path")
    vdev = disk.get("vdev")
    if not target or not vdev:
        raise GuestError("disks[%d] needs target (an image path or device) and vdev (e.g. xvda2, ioemu:hda, hdc:cdrom)" % index)
    prefix = disk.get("prefix")
    if prefix is None:
        prefix = "phy:" if str(target).startswith("/dev/") else "file:"
    if prefix and prefix not in _DISK_PREFIXES:
        raise GuestError("disks[%d].prefix=%r must be one of %s" % (index, prefix, ", ".join(_DISK_PREFIXES)))
    if not str(target).startswith("/") or not _SAFE_VALUE.fullmatch(str(target)):
        raise GuestError("disks[%d].target=%r must be an absolute path without commas, quotes or spaces" % (index, target))
    if not isinstance(vdev, str) or not _VDEV_RE.fullmatch(vdev):
        raise GuestError("disks[%d].vdev=%r is not a virtual device name (e.g. xvda, sda1, ioemu:hda, hdc:cdrom)" % (index, vdev))
    mode = disk.get("mode") or "w"
    if mode not in ("w", "r", "w!"):
        raise GuestError("disks[%d].mode=%r must be w or r" % (index, mode))
    return "%s%s,%s,%s" % (prefix, target, vdev, mode)


def _vif_entry(vif, index):
    """One ``vif`` list entry from a dict (mac, bridge, ...) or a string (``mac=...,bridge=...``, checked alike).

    MACs are validated and written upper-case, as xen-tools and the guide write them.
    """
    if isinstance(vif, str):
        fields = {}
        for part in vif.split(","):
            key, sep, value = part.strip().partition("=")
            if not sep or not key or key in fields:
                raise GuestError("vifs[%d]=%r must be KEY=VALUE pairs separated by commas, each key once "
                                 "(e.g. mac=00:16:3e:00:00:01,bridge=xenbr0)" % (index, vif))
            fields[key] = value
        vif = fields
    if not isinstance(vif, dict):
        raise GuestError("vifs[%d] must be a dict (mac, bridge, ...) or a string" % index)
    unknown = set(vif) - set(_VIF_KEYS)
    if unknown:
        raise GuestError("vifs[%d] has unknown keys %s; known: %s" % (index, ", ".join(sorted(unknown)), ", ".join(_VIF_KEYS)))
    parts = []
    for key in _VIF_KEYS:
        value = vif.get(key)
        if value in (None, ""):
            continue
        if key == "mac":
            value = normalize_mac(value, "vifs[%d].mac" % index).upper()
        elif key == "ip":
            # xl passes vif ip to the hotplug script: one address, or several separated by spaces (refused here).
            value = guest_ip(value, "vifs[%d].ip" % index)
        value = str(value)
        if not _SAFE_VALUE.fullmatch(value):
            raise GuestError("vifs[%d].%s=%r may not hold commas, quotes, '=' or spaces" % (index, key, value))
        parts.append("%s=%s" % (key, value))
    return ",".join(parts)


def build_settings(params):
    """The ordered settings dict for the wanted config (values as Xen reads them)."""
    name = validate_guest_name(params["name"])
    boot = params.get("type") or "pv"
    if boot not in BOOT_TYPES:
        raise GuestError("type=%r must be one of %s" % (boot, ", ".join(BOOT_TYPES)))
    memory = params.get("memory")
    if memory is None:
        raise GuestError("memory is required (e.g. 256M or 1G)")
    settings = {"name": name, "memory": str(memory_mib(memory, "memory"))}
    if params.get("maxmem"):
        settings["maxmem"] = str(memory_mib(params["maxmem"], "maxmem"))
    settings["vcpus"] = str(vcpu_count(params.get("vcpus")))
    disks = params.get("disks") or []
    if not disks:
        raise GuestError("disks needs at least one disk")
    settings["disk"] = [_disk_entry(d, i) for i, d in enumerate(disks)]
    vifs = params.get("vifs")
    if vifs:
        settings["vif"] = [_vif_entry(v, i) for i, v in enumerate(vifs)]
    if boot in ("pv", "pvh"):
        if not params.get("kernel"):
            raise GuestError("type=%s needs kernel (the domU kernel on dom0, e.g. /boot/vmlinuz-...); use type=pygrub to boot the guest's own kernel" % boot)
        if boot == "pvh":
            # xl only (Xen 4.10 and later); a PV config has no type (xm's has none at all).
            settings["type"] = "pvh"
        settings["kernel"] = params["kernel"]
        settings["ramdisk"] = params.get("ramdisk")
        settings["root"] = params.get("root")
        settings["extra"] = params.get("extra")
    elif boot == "pygrub":
        settings["bootloader"] = params.get("bootloader") or "pygrub"
        settings["root"] = params.get("root")
        settings["extra"] = params.get("extra")
    else:
        style = params.get("hvm_style") or "current"
        if style == "legacy":
            settings["kernel"] = params.get("hvmloader") or "/usr/lib/xen/boot/hvmloader"
            settings["builder"] = "hvm"
            settings["device_model"] = params.get("device_model") or "/usr/lib/xen/bin/qemu-dm"
        elif style == "current":
            settings["type"] = "hvm"
        else:
            raise GuestError("hvm_style=%r must be legacy (Xen 3.x: kernel=hvmloader, builder='hvm') or current (type='hvm')" % style)
        boot_order = params.get("boot") or "c"
        if not re.fullmatch(r"[acdn]{1,4}", boot_order):
            raise GuestError("boot=%r must be letters from a, c, d, n (c: disk, d: CD-ROM, n: network)" % boot_order)
        settings["boot"] = boot_order
        if params.get("vnc", True):
            settings["vnc"] = 1
            # Written only when asked: left out, xl listens on 127.0.0.1 and
            # xend on its (vnc-listen) of xend-config.sxp, as in the guide.
            settings["vnclisten"] = params.get("vnclisten") or None
        if params.get("pae"):
            settings["pae"] = 1
    for key in ("on_poweroff", "on_reboot", "on_crash"):
        if params.get(key):
            settings[key] = params[key]
    for key, value in (params.get("settings") or {}).items():
        if key in settings and settings[key] is not None:
            raise GuestError("settings.%s conflicts with the structured option that sets %s; use that option" % (key, key))
        settings[key] = value
    order = KEY_ORDER[boot] + [k for k in settings if k not in KEY_ORDER[boot]]
    return {k: settings[k] for k in order if settings.get(k) is not None}


def render_guest_config(settings, boot="pv", header=True):
    """Config text for ``settings``; the managed header first."""
    try:
        body = render_xen_cfg(settings, key_order=KEY_ORDER.get(boot), align=True)
    except XenCfgError as exc:
        raise GuestError("cannot render the guest config: %s" % exc)
    return (HEADER if header else "") + body


def _canonical_item(key, value):
    """A comparable form of one list item: spaces dropped, vif fields sorted, MACs lower-case."""
    text = re.sub(r"\s+", "", str(value))
    if key == "vif":
        fields = sorted(text.split(","))
        return ",".join(f.lower() if f.lower().startswith("mac=") else f for f in fields if f)
    return text


def canonical(settings):
    """Settings in a form where equal configs compare equal (quotes, spaces, int vs str, MAC case)."""
    result = {}
    for key, value in (settings or {}).items():
        if isinstance(value, list):
            result[key] = [_canonical_item(key, v) for v in value]
        elif isinstance(value, bool):
            result[key] = "1" if value else "0"
        else:
            result[key] = str(value).strip()
    return result


def read_guest_config(path, name):
    """``(text, settings, why)`` of the regular file ``path``: ``why`` is ``None`` when it is guest ``name``'s config.

    Otherwise ``why`` says what it is instead (no Xen config, a config that
    sets no name, such as xl.conf, or another guest's), and never quotes the
    text: the file may be /etc/shadow given by mistake.
    """
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        text = handle.read(MAX_CONFIG_BYTES + 1)
    if len(text) > MAX_CONFIG_BYTES:
        return text, None, "is not a Xen guest config (larger than %d bytes)" % MAX_CONFIG_BYTES
    try:
        settings = parse_xen_cfg(text)
    except XenCfgError as exc:
        # The parser's message quotes the text it stopped at: name only the line.
        line = re.match(r"line \d+", str(exc))
        return text, None, "is not a Xen guest config (%s does not parse)" % (line.group(0) if line else "it")
    owner = settings.get("name")
    if owner == name:
        return text, settings, None
    if owner is None:
        return text, settings, "is not a Xen guest config (it sets no name)"
    return text, settings, "is the config of guest %s, not of %s" % (owner, name)


class GuestConfigFile:
    """One guest config file: compare, write atomically, report restart needs."""

    def __init__(self, module, path, force=False, domains=()):
        self.module = module
        self.path = path
        # The live domains (with an id): another guest's config is never
        # replaced or removed while that guest is one of them, even with force.
        self.domains = domains
        self.force = force

    def read(self, name, action):
        """``(text, settings)`` of the file now, ``(None, None)`` when absent.

        Only guest ``name``'s own config is replaced or removed (``action``):
        a file that is not a Xen guest config (``/etc/passwd`` given as
        ``path``, or ``xl.conf``, which parses but names no guest), or the
        config of another guest, is refused unless ``force``; even with
        force its text never goes into the diff (a placeholder does).
        """
        if not os.path.lexists(self.path):
            return None, None
        if not os.path.isfile(self.path):
            raise GuestError("%s exists and is not a regular file; refusing to %s it" % (self.path, action))
        try:
            text, settings, why = read_guest_config(self.path, name)
        except OSError as exc:
            raise GuestError("cannot read %s: %s; refusing to %s it" % (self.path, exc.strerror or exc, action))
        if why is None:
            return text, settings
        owner = settings.get("name") if settings else None
        if owner in self.domains:
            raise GuestError("%s is the config of the live domain %s, not of %s; refusing to %s it, even with force. "
                             "Shut %s down first" % (self.path, owner, name, action, owner))
        if not self.force:
            raise GuestError("%s %s; refusing to %s it. Set force: true if it really is to go" % (self.path, why, action))
        self.module.warn("%s %s; force: true, so it is %sd (its text is left out of the diff)" % (self.path, why, action))
        return "(not shown: %s %s)\n" % (self.path, why), None

    def ensure(self, settings, boot, running, toolstack=None, apply_live=False):
        """Make the file hold ``settings``; return the module result.

        With ``toolstack`` a changed config is first read by the toolstack's
        dry run (check mode too: it creates nothing), and the change of a
        running guest is classified (:func:`classify_changes`); with
        ``apply_live`` too, a change that is live as a whole is applied to
        the guest after the file is written, instead of asking for a restart.
        """
        text, current = self.read(settings.get("name"), "replace")
        new_text = render_guest_config(settings, boot)
        changed = current is None or canonical(current) != canonical(settings)
        result = {"changed": changed, "path": self.path, "settings": settings,
                  "restart_required": bool(changed and running), "running": running}
        if toolstack is not None:
            result.update(validated=False, change_class="none", live_changes=[], restart_reasons=[], live_applied=False)
        if not changed:
            return result
        result["diff"] = {"before": text or "", "after": new_text,
                          "before_header": self.path if text is not None else "(absent)", "after_header": self.path}
        live = []
        if toolstack is not None:
            result.update(self.validate(new_text, toolstack))
            result["change_class"] = "config-only"
            if running:
                details = toolstack.domain_details(settings["name"]).get(settings["name"])
                classes = classify_changes(current, settings, details, toolstack)
                result.update(classes)
                live = classes["live_changes"] if classes["change_class"] == "live" else []
                result["restart_required"] = classes["change_class"] == "restart" or bool(live and not apply_live)
                result["live_applied"] = bool(live and apply_live)
        if not self.module.check_mode:
            self.write(new_text)
            if live and apply_live:
                self.apply_live(settings["name"], live, toolstack)
        return result

    def validate(self, text, toolstack):
        """The toolstack's dry run of ``text``, from a private copy: the real file is not touched yet.

        Returns ``{validated, validated_by, parsed}``; raises
        :class:`GuestError` with the toolstack's own message when it refuses
        the text. The copy (0600, in a 0700 directory of its own) is removed
        whatever happens.
        """
        command = " ".join([toolstack.name] + list(toolstack.dry_run_args))
        directory = tempfile.mkdtemp(prefix="kuutorvaja-xen-check-")
        try:
            candidate = os.path.join(directory, os.path.basename(self.path))
            try:
                handle = os.fdopen(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w")
                with handle:
                    handle.write(text)
            except OSError as exc:
                raise GuestError("cannot write the new config for %s to %s for %s: %s"
                                 % (self.path, directory, command, exc.strerror or exc))
            try:
                out, warnings = toolstack.dry_run(candidate)
            except ConfigRejected as exc:
                raise GuestError("%s rejects the new config for %s, which is left as it was: %s"
                                 % (command, self.path, exc.message.replace(candidate, "%s (new)" % self.path)))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        if warnings:
            self.module.warn("%s accepts the new config for %s, with: %s"
                             % (command, self.path, warnings.replace(candidate, "%s (new)" % self.path)))
        result = {"validated": True, "validated_by": command}
        parsed = dry_run_summary(out)
        if parsed is not None:
            result["parsed"] = parsed
        return result

    def apply_live(self, name, changes, toolstack):
        """Apply the live ``changes`` (from :func:`classify_changes`) to the running guest ``name``."""
        try:
            for change in changes:
                if change["setting"] == "memory":
                    toolstack.mem_set(name, change["after"])
                elif change["setting"] == "vcpus":
                    toolstack.vcpu_set(name, change["after"])
                elif change["setting"] == "vif":
                    toolstack.network_attach(name, change["after"])
                else:
                    toolstack.block_attach(name, change["after"])
        except (CommandError, GuestError) as exc:
            raise GuestError("%s is written, but applying it to the running guest %s failed: %s; "
                             "restart the guest to apply the rest" % (self.path, name, exc))

    def write(self, text):
        """Write ``text`` to the file atomically (an existing file keeps its owner and mode)."""
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            raise GuestError("directory %s does not exist (is Xen installed?)" % directory)
        try:
            write_atomically(self.path, text, 0o644, replace=self.module.atomic_move)
        except OSError as exc:
            raise GuestError("could not write %s: %s; the file is unchanged" % (self.path, exc.strerror or exc))

    def remove(self, running, name):
        """Remove the file (refused while the guest runs)."""
        if not os.path.lexists(self.path):
            return {"changed": False, "path": self.path}
        if running:
            raise GuestError("guest is running; refusing to remove its config %s. Shut it down first" % self.path)
        before = self.read(name, "remove")[0] or ""
        if not self.module.check_mode:
            try:
                os.unlink(self.path)
            except OSError as exc:
                raise GuestError("could not remove %s: %s" % (self.path, exc.strerror or exc))
        return {"changed": True, "path": self.path, "diff": {"before": before, "after": ""}}


def dry_run_summary(out):
    """xl's dry-run JSON as a dict without its empty members, the uuid it invents on every run and secrets.

    A config's ``vncpasswd`` (and a SPICE password) come back from xl as
    ``passwd`` members: they are left out, as the result is logged and shown.
    ``None`` for output that is not JSON (xm's SXP, an old xl's). Larger than
    :data:`MAX_PARSED_BYTES`, only ``c_info``, ``b_info``, ``disks`` and ``nics``.
    """
    try:
        parsed = json.loads(out or "")
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None

    def pruned(value):
        if isinstance(value, dict):
            kept = {k: pruned(v) for k, v in value.items() if k != "uuid" and "passwd" not in k}
            return {k: v for k, v in kept.items() if v not in ({}, [], None, "")}
        if isinstance(value, list):
            return [pruned(v) for v in value]
        return value

    parsed = pruned(parsed)
    if len(json.dumps(parsed)) > MAX_PARSED_BYTES:
        parsed = {k: parsed[k] for k in ("c_info", "b_info", "disks", "nics") if k in parsed}
    return parsed


_LIMITS = {"memory": ("maxmem", "max_memory_mib", " MiB"), "vcpus": ("maxvcpus", "max_vcpus", "")}


def _int_setting(settings, key):
    try:
        return xl_integer((settings or {}).get(key), key)
    except XenCfgError:
        return None


def _entries(value):
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def _shown(value):
    return "(unset)" if value is None else ", ".join(value) if isinstance(value, list) else value


def _scalar_change(key, old, new, details, live, restart):
    """memory or vcpus: live up to the ceiling the guest was started with (maxmem, maxvcpus)."""
    limit_key, detail_key, unit = _LIMITS[key]
    was, wanted = _int_setting(old, key), _int_setting(new, key)
    ceiling = (details or {}).get(detail_key)
    if ceiling is None:
        ceiling = _int_setting(old, limit_key) or was
    if wanted is None or ceiling is None or wanted > ceiling:
        restart.append("%s: %s -> %s%s, above the %s%s the guest was started with (%s)"
                       % (key, _shown(was), _shown(wanted), unit, ceiling, unit, limit_key))
    else:
        live.append({"setting": key, "before": was, "after": wanted})


def _device_change(key, old, new, live, restart):
    """vif or disk: entries added at the end are hot-plugged; a removed or changed entry needs a restart.

    A device taken from a running guest may be in use (a mounted disk), and
    one added before the end would change the device numbers at its next boot.
    """
    before, after = _entries((old or {}).get(key)), _entries(new.get(key))
    if len(after) > len(before) and canonical({key: after[:len(before)]}) == canonical({key: before}):
        live.extend({"setting": key, "before": None, "after": str(entry)} for entry in after[len(before):])
    else:
        restart.append("%s: entries removed or changed (only entries added at the end are hot-plugged): [%s] -> [%s]"
                       % (key, ", ".join(map(str, before)), ", ".join(map(str, after))))


def _live_argv(change, name, toolstack):
    """The command that applies one live change (what ``apply_live`` runs)."""
    if change["setting"] == "memory":
        return [toolstack.name, "mem-set", name, toolstack.mem_arg(change["after"])]
    if change["setting"] == "vcpus":
        return [toolstack.name, "vcpu-set", name, str(change["after"])]
    if change["setting"] == "vif":
        return [toolstack.name] + toolstack.network_attach_argv(name, change["after"])
    return [toolstack.name] + toolstack.block_attach_argv(name, change["after"])


def classify_changes(old, new, details=None, toolstack=None):
    """How the running guest can take the change of its config from ``old`` to ``new`` (parsed settings).

    Returns ``{change_class, live_changes, restart_reasons, config_only}``;
    ``change_class`` is ``restart`` when any change needs one, else ``live``
    when any can be applied to the running guest, else ``config-only``
    (:data:`CONFIG_ONLY_KEYS`). Live: ``memory`` up to the guest's maxmem
    and ``vcpus`` up to its maxvcpus (``details``, the running domain as
    ``Toolstack.domain_details`` reads it; without them the old config's
    values), and ``vif``/``disk`` entries added at the end. A running guest
    that already differs from the old config (an earlier change that waits
    for its restart) needs a restart. With ``toolstack`` each live change
    carries the ``argv`` that applies it.
    """
    live, restart, config_only = [], [], []
    if old is None:
        restart.append("there was no config of this guest before")
    else:
        before, after = canonical(old), canonical(new)
        for key in list(after) + [k for k in before if k not in after]:
            if before.get(key) == after.get(key):
                continue
            if key in CONFIG_ONLY_KEYS:
                config_only.append(key)
            elif key in _LIMITS:
                _scalar_change(key, old, new, details, live, restart)
            elif key in ("vif", "disk"):
                _device_change(key, old, new, live, restart)
            else:
                restart.append("%s: %s -> %s" % (key, _shown(before.get(key)), _shown(after.get(key))))
        if details:
            applied = {change["setting"] for change in live}
            pending = [reason for reason in config_differences(normalise_guest_config(old), details)
                       if reason.split(":")[0] not in applied]
            if pending:
                restart.append("the running guest already differs from the old config: %s" % "; ".join(pending))
    if toolstack is not None and not restart:
        for change in live:
            try:
                change["argv"] = _live_argv(change, new.get("name"), toolstack)
            except GuestError as exc:
                restart.append(str(exc))
    change_class = "restart" if restart else "live" if live else "config-only"
    return {"change_class": change_class, "live_changes": live, "restart_reasons": restart, "config_only": config_only}


def config_request(params, force=False):
    """Check ``params`` (xen_guest_config's options) before anything is read: ``(name, path, settings)``.

    ``settings`` is ``None`` for ``state=absent``. ``path`` must lie in
    ``config_dir`` (default /etc/xen) unless ``force``: a guest config has
    no business elsewhere, and a path given by mistake is not touched.
    """
    name = validate_guest_name(params["name"])
    config_dir = validate_dir(params.get("config_dir") or CONFIG_DIR, "config_dir")
    path = validate_abs_path(params["path"], "path") if params.get("path") else config_path_for(name, config_dir)
    if not force and not within(path, config_dir):
        raise GuestError("path=%s is outside the config directory %s (config_dir); guest configs live there. "
                         "Set force: true if this file really is the guest's config" % (path, config_dir))
    settings = build_settings(params) if params.get("state", "present") == "present" else None
    return name, path, settings


def converge_config(module, request, boot, domains, force=False, toolstack=None, apply_live=False):
    """Make the config of ``request`` (from :func:`config_request`) hold its settings, or remove it; return the result.

    ``domains`` holds the names of the domains with an id (one toolstack
    read): the config of one of them is reported as needing a restart, and
    is not removed. ``force`` lets a file that is not this guest's config go.
    With ``toolstack`` a new config is checked by its dry run first and a
    running guest's change classified; ``apply_live`` applies a live one
    (see :meth:`GuestConfigFile.ensure`).
    """
    name, path, settings = request
    config = GuestConfigFile(module, path, force, domains)
    running = name in domains
    if settings is None:
        result = config.remove(running, name)
    else:
        result = config.ensure(settings, boot or "pv", running, toolstack=toolstack, apply_live=apply_live)
    result["name"] = name
    result["autostart"] = autostarts(name, path)
    return result
