# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters the dom0 roles hand their variables to: ``xen_size_mib``, ``xen_hypervisor_plan``, ``xen_network_plan``.

The roles declare (their variables and the release profile's facts, as one
mapping in ``vars/main.yml``); these functions decide what that means: sizes
in MiB, the hypervisor command line, the packages, and the batches of
directories and files that ``kuutorvaja.xen.xen_dom0_files`` compares with
the host. Pure functions of their input, so they are tested as data and the
roles' preflight can tell by comparing plans whether it already checked this
one. Documentation is in xen_size_mib.yml, xen_hypervisor_plan.yml and
xen_network_plan.yml.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kuutorvaja.xen.plugins.module_utils.dom0_files import shell_assignment
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    validate_dir,
    validate_interface_name,
    validate_volume_group,
)

# ansible-core before 2.19 templates a variable's value again when it holds
# '{{' or '{%': a plan is marked unsafe so that rendered text (a user's
# interfaces_extra, say) stays as written. Later releases never do that.
try:
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # pragma: no cover
    def wrap_var(value):
        """Return the value unchanged."""
        return value

# Xen's size suffixes (parse_size_and_unit in xen/common/lib.c); no suffix is KiB.
_XEN_SIZE_RE = re.compile(r"([0-9]+)([bBkKmMgGtT]?)")
_XEN_SIZE_SHIFT = {"B": 0, "K": 10, "M": 20, "G": 30, "T": 40}
_MIB = 1 << 20

# Xen's own network and vif scripts per mode (the legacy profile's xend-config.sxp).
MODE_SCRIPTS = {
    "bridge": ("network-bridge", "vif-bridge"),
    "route": ("network-route", "vif-route"),
    "nat": ("network-nat", "vif-nat"),
}
# The table the NAT bridges load and drop (nat ruleset and bridge stanzas).
NAT_TABLE = "kuutorvaja_xen_nat"
# The shell-syntax files (/etc/default/grub, our GRUB drop-in, xendomains) are
# sourced by update-grub and the xendomains init script: xen_dom0_files has
# sh parse each new version before it writes any of them.
SHELL_CHECK = "sh -n %s"
# xenconsoled's --log and --timestamp choices; "" leaves /etc/default/xen alone.
CONSOLE_LOG_CHOICES = ("", "none", "guest", "hv", "all")
# Debian's init script splits XENCONSOLED_ARGS unquoted: a log directory must
# be one plain word.
_PLAIN_PATH_RE = re.compile(r"/[A-Za-z0-9_.+/-]*")


class _Unset:
    """Marker: no default given, so a bad size is an error."""


def xen_size_mib(value, default=_Unset):
    """A size in Xen's syntax (``1024M``, ``2G``, ``384000`` KiB) as whole MiB, rounded up.

    A bare number is KiB, as in Xen's ``parse_size_and_unit``; ``B``, ``K``,
    ``M``, ``G`` and ``T`` (either case) are binary units. Anything else fails,
    or gives ``default`` when one is given.
    """
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    match = _XEN_SIZE_RE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        if default is not _Unset:
            return default
        raise AnsibleFilterError(
            "xen_size_mib: %r is not a Xen size (a number with an optional unit B, K, M, G or T; a bare number is KiB)" % (value,))
    size = int(match.group(1)) << _XEN_SIZE_SHIFT[(match.group(2) or "K").upper()]
    return -(-size // _MIB)


class _Settings:
    """One role's settings mapping, read with the types the plan needs and errors that name the key."""

    def __init__(self, filter_name, settings):
        if not isinstance(settings, Mapping):
            raise AnsibleFilterError("%s: the input must be the role's settings mapping, got %r" % (filter_name, settings))
        self.filter_name = filter_name
        self.settings = settings

    def error(self, key, what):
        """A filter error naming the setting."""
        return AnsibleFilterError("%s: %s %s" % (self.filter_name, key, what))

    def raw(self, key, mapping=None):
        """The value as given; a missing key is an error (the role's mapping lists them all)."""
        mapping = self.settings if mapping is None else mapping
        if key not in mapping:
            raise self.error(key, "is missing from the settings")
        return mapping[key]

    def text(self, key, mapping=None):
        """A string; null (or a null templated to '') is ''."""
        value = self.raw(key, mapping)
        return "" if value is None else str(value)

    def flag(self, key, mapping=None, label=None):
        """A boolean, as Ansible reads one (true, 'yes', 1, ...)."""
        try:
            return boolean(self.raw(key, mapping), strict=True)
        except TypeError:
            raise self.error(label or key, "must be a boolean, got %r" % (self.raw(key, mapping),))

    def number(self, key, mapping=None, label=None):
        """An integer (also from its string form)."""
        value = self.raw(key, mapping)
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        except (TypeError, ValueError):
            raise self.error(label or key, "must be an integer, got %r" % (value,))

    def names(self, key, mapping=None):
        """A list of strings; null is empty."""
        value = self.raw(key, mapping)
        if value is None or value == "":
            return []
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise self.error(key, "must be a list, got %r" % (value,))
        return [str(item) for item in value]

    def profile(self):
        """The release profile's part of the mapping."""
        profile = self.raw("profile")
        if not isinstance(profile, Mapping):
            raise self.error("profile", "must be a mapping, got %r" % (profile,))
        return profile


def _unique(items):
    """The items in their order, each once."""
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def xen_hypervisor_plan(settings):
    """What the xen_hypervisor role does with its settings: memory, command line, packages, files.

    ``settings`` is the role's ``__xen_hypervisor_settings`` mapping; xen_hypervisor_plan.yml describes the result.
    """
    s = _Settings("xen_hypervisor_plan", settings)
    profile = s.profile()
    mem = s.text("dom0_mem")
    vcpus = s.number("dom0_max_vcpus")
    hvm = s.flag("hvm")
    toolstack = s.text("toolstack", profile)

    # Xen 4 takes a fixed dom0 size as dom0_mem=X,max:X; Xen 3.0 has no max:.
    tokens = ["dom0_mem=%s,max:%s" % (mem, mem) if s.flag("dom0_mem_max", profile) else "dom0_mem=%s" % mem]
    if s.flag("dom0_vcpus_on_cmdline", profile) and vcpus > 0:
        tokens.append("dom0_max_vcpus=%d" % vcpus)
    tokens += s.text("cmdline_extra").split()

    packages = s.names("packages", profile) + (s.names("packages_hvm", profile) if hvm else []) + s.names("packages_extra")

    directories, files, grub_paths = [], [], []
    if s.flag("manage_bootloader") and s.text("bootloader", profile) == "grub2":
        # Debian's grub.d/xen.cfg makes the Xen entry the default only when
        # XEN_OVERRIDE_GRUB_DEFAULT is set before it is read, so that one key
        # goes into /etc/default/grub; our command line is our own drop-in,
        # read after Debian's.
        default_file, dropin = s.text("grub_default_file", profile), s.text("grub_dropin", profile)
        directories.append({"path": posixpath.dirname(dropin)})
        files.append({"path": default_file, "settings": [{"key": "XEN_OVERRIDE_GRUB_DEFAULT", "value": "1"}],
                      "validate": SHELL_CHECK})
        try:
            content = _grub_dropin(s.text("managed"), tokens, s.text("dom0_linux_cmdline"))
        except ValueError as exc:
            raise s.error("cmdline_extra/dom0_linux_cmdline", str(exc))
        files.append({"path": dropin, "content": content, "validate": SHELL_CHECK})
        grub_paths = [default_file, dropin, posixpath.dirname(dropin)]
    if toolstack == "xl":
        # Debian's conffiles: our keys set, their comments kept.
        save = s.text("domains_on_stop") == "save"
        files.append({"path": s.text("xl_conf", profile), "syntax": "xl",
                      "settings": [{"key": "autoballoon", "value": s.text("autoballoon")}]})
        files.append({"path": s.text("xendomains", profile), "settings": [
            {"key": "XENDOMAINS_SAVE", "value": s.text("domains_save_dir") if save else ""},
            {"key": "XENDOMAINS_RESTORE", "value": "true" if save else "false"},
            {"key": "XENDOMAINS_STOP_MAXWAIT", "value": str(s.number("domains_stop_maxwait"))},
        ], "validate": SHELL_CHECK})
    console_log, console_directories, console_files = _console_plan(s, profile, toolstack)
    directories += console_directories
    files += console_files
    console_paths = [d["path"] for d in console_directories] + [f["path"] for f in console_files]
    xend_settings = []
    if toolstack == "xend":
        xend_settings = [
            {"key": "dom0-cpus", "value": str(vcpus)},
            {"key": "dom0-min-mem", "value": str(s.number("dom0_min_mem"))},
            {"key": "vnc-listen", "value": "'%s'" % s.text("vnc_listen")},
        ]

    return wrap_var({
        "release": s.text("release"),
        "dom0_mem_mib": xen_size_mib(mem, default=0),
        "dom0_min_mem": s.number("dom0_min_mem"),
        "hvm": hvm,
        "needs_pae": s.flag("needs_pae", profile),
        "toolstack": toolstack,
        "cmdline_tokens": tokens,
        "packages": packages,
        "directories": directories,
        "files": files,
        "grub_paths": grub_paths,
        "console_log": console_log,
        "console_paths": console_paths,
        "xend_settings": xend_settings,
    })


def _console_plan(s, profile, toolstack):
    """xenconsoled's logging as XENCONSOLED_ARGS in /etc/default/xen: ``(log choice, directories, files)``.

    Debian's /etc/init.d/xen passes XENCONSOLED_ARGS to xenconsoled (its
    XENCONSOLED_TRACE example is read by nothing). "" leaves the file alone.
    """
    log = s.text("console_log")
    timestamp = s.text("console_timestamp")
    log_dir = s.text("console_log_dir")
    for key, value in (("console_log", log), ("console_timestamp", timestamp)):
        if value not in CONSOLE_LOG_CHOICES:
            raise s.error(key, "must be one of none, guest, hv, all (or empty), got %r" % (value,))
    if log_dir and (not _PLAIN_PATH_RE.fullmatch(log_dir) or ".." in log_dir.split("/")
                    or posixpath.normpath(log_dir) != log_dir or log_dir == "/"):
        raise s.error("console_log_dir", "must be an absolute path of letters, digits and _ . + - / "
                      "without '..' or a trailing '/' (the init script splits it unquoted), got %r" % (log_dir,))
    if not log:
        return "", [], []
    if toolstack != "xl":
        # Xen 3.0's xend starts xenconsoled itself, with no such arguments.
        raise s.error("console_log", "is for the current profile (xl) only: the legacy profile's xend starts "
                      "xenconsoled without logging options; leave it empty, got %r" % (log,))
    args = ["--log=%s" % log]
    directories = []
    if log != "none":
        args.append("--timestamp=%s" % (timestamp or log))
        if log_dir:
            args.append("--log-dir=%s" % log_dir)
        # xenconsoled does not make its log directory; root and adm read it, as /var/log/xen.
        directories.append({"path": log_dir or s.text("console_log_dir_default", profile),
                            "owner": "root", "group": "adm", "mode": "0750"})
    files = [{"path": s.text("xen_default", profile),
              "settings": [{"key": "XENCONSOLED_ARGS", "value": " ".join(args)}],
              "validate": SHELL_CHECK}]
    return log, directories, files


def _grub_dropin(managed, tokens, linux_cmdline):
    """Our GRUB drop-in: the Xen command line, and dom0's when one is given."""
    lines = [managed,
             "# Read by update-grub after Debian's /etc/default/grub.d/xen.cfg.",
             shell_assignment("GRUB_CMDLINE_XEN_DEFAULT", " ".join(tokens))]
    if linux_cmdline:
        lines.append(shell_assignment("GRUB_CMDLINE_LINUX_XEN_REPLACE", linux_cmdline))
    return "\n".join(lines) + "\n"


def _network_bridge(s, item, index, facts):
    """One xen_network_bridges item with the defaults filled in."""
    where = "bridges[%d]" % index
    if not isinstance(item, Mapping):
        raise s.error(where, "must be a mapping, got %r" % (item,))
    if not item.get("bridge"):
        raise s.error(where, "needs a bridge name")
    netdev = "" if item.get("netdev") is None else str(item.get("netdev"))
    # The names go into ifupdown stanzas, file names and the legacy bridge script.
    try:
        validate_interface_name(str(item["bridge"]), where + ".bridge")
        if netdev:
            validate_interface_name(netdev, where + ".netdev")
    except GuestError as exc:
        raise AnsibleFilterError("%s: %s" % (s.filter_name, exc))
    # setup names a NIC's facts after it, with '-' and '.' as '_'.
    nic_facts = facts.get(netdev.replace("-", "_").replace(".", "_")) if netdev else None
    fact_mac = nic_facts.get("macaddress") if isinstance(nic_facts, Mapping) else None
    vifnum = item.get("vifnum")
    return {
        "bridge": str(item["bridge"]),
        "netdev": netdev,
        # The legacy network-bridge's vifnum: the position in the list unless given.
        "vifnum": index if vifnum is None or vifnum == "" else s.number("vifnum", item, where + ".vifnum"),
        "method": str(item.get("method") or ("dhcp" if netdev else "static")),
        "address": str(item.get("address") or ""),
        "gateway": str(item.get("gateway") or ""),
        # The NIC's own MAC by default, so a DHCP server keeps the host's lease.
        "mac": str(item.get("mac") or fact_mac or "").lower(),
        "stp": s.flag("stp", item, where + ".stp") if item.get("stp") is not None else False,
    }


def _interface_names(s, key):
    """A list of interface names (``bridges_absent``), each checked as one."""
    names = s.names(key)
    for index, name in enumerate(names):
        try:
            validate_interface_name(name, "%s[%d]" % (key, index))
        except GuestError as exc:
            raise AnsibleFilterError("%s: %s" % (s.filter_name, exc))
    return names


def _uplink(s, mode):
    """Route and NAT modes: the NIC guests' traffic leaves through, and how it gets its address.

    ``{}`` when the role does not configure one (bridge mode, or
    ``/etc/network/interfaces`` not the role's: the user's file configures it).
    """
    if mode == "bridge" or not s.flag("manage_interfaces_file"):
        return {}
    key = "route_netdev" if mode == "route" else "nat_netdev"
    netdev = s.text(key)
    try:
        validate_interface_name(netdev, key)
    except GuestError as exc:
        raise AnsibleFilterError("%s: %s" % (s.filter_name, exc))
    item = s.raw("uplink") or {}
    if not isinstance(item, Mapping):
        raise s.error("uplink", "must be a mapping, got %r" % (item,))
    method = str(item.get("method") or "dhcp")
    if method not in ("dhcp", "static", "manual"):
        raise s.error("uplink.method", "must be one of dhcp, static, manual, got %r" % (method,))
    address = str(item.get("address") or "")
    if method == "static" and not address:
        raise s.error("uplink.address", "is required with method static (CIDR, e.g. 192.0.2.10/24)")
    return {"netdev": netdev, "method": method, "address": address, "gateway": str(item.get("gateway") or "")}


def xen_network_plan(settings):
    """What the xen_network role does with its settings: bridges with defaults, packages, scripts, files.

    ``settings`` is the role's ``__xen_network_settings`` mapping; the result
    is described in xen_network_plan.yml.
    """
    s = _Settings("xen_network_plan", settings)
    profile = s.profile()
    mode = s.text("mode")
    if mode not in MODE_SCRIPTS:
        raise s.error("mode", "must be one of %s, got %r" % (", ".join(MODE_SCRIPTS), mode))
    facts = s.raw("facts") or {}
    if not isinstance(facts, Mapping):
        raise s.error("facts", "must be the host's ansible_facts, got %r" % (facts,))
    items = s.raw("bridges") or []
    if isinstance(items, (str, Mapping)) or not isinstance(items, (list, tuple)):
        raise s.error("bridges", "must be a list, got %r" % (items,))
    bridges = [_network_bridge(s, item, index, facts) for index, item in enumerate(items)]
    netdevs = [b["netdev"] for b in bridges if b["netdev"]]
    absent = _interface_names(s, "bridges_absent")
    both = [name for name in absent if name in [b["bridge"] for b in bridges]]
    if both:
        raise s.error("bridges_absent", "names bridges that bridges also lists: %s" % ", ".join(both))
    default_bridge = s.text("default_bridge") or (bridges[0]["bridge"] if bridges else "")
    # Legacy: our script when bridges are listed, else Xen's own per-mode script.
    use_script = mode == "bridge" and bool(bridges)
    backend = s.text("backend", profile)
    uplink = _uplink(s, mode) if backend == "ifupdown" else {}
    packages = (s.names("packages", profile)
                + (s.names("packages_dhcp", profile)
                   if any(b["method"] == "dhcp" for b in bridges) or uplink.get("method") == "dhcp" else [])
                + (s.names("packages_nat", profile) if mode == "nat" else []))
    # The NICs whose stanzas no other file may hold: the bridges' ports and the uplink.
    owned_nics = netdevs + ([uplink["netdev"]] if uplink else [])

    plan = {
        "release": s.text("release"),
        "mode": mode,
        "backend": backend,
        "bridges": bridges,
        "bridge_names": [b["bridge"] for b in bridges],
        "bridges_absent": absent,
        "netdevs": netdevs,
        "uplink": uplink.get("netdev", ""),
        # What must be a port of what once the bridges are up.
        "ports": ["%s/%s" % (b["bridge"], b["netdev"]) for b in bridges if b["netdev"]],
        "default_bridge": default_bridge,
        "packages": packages,
        "use_script": use_script,
        "xend_settings": [],
        "directories": [],
        "files": [],
        "ifupdown_names": [],
        "removed_names": [],
        "stage_dir": "",
        # An ifupdown stanza that configures one of the NICs (none: nothing to look for).
        "nic_stanza_regex": (r"^\s*(iface|auto|allow-hotplug)\s+(%s)(\s|$)" % "|".join(re.escape(n) for n in owned_nics)
                             if owned_nics else ""),
    }
    if plan["backend"] == "xend":
        plan["xend_settings"] = [
            {"key": "network-script", "value": s.text("script_name") if use_script else MODE_SCRIPTS[mode][0]},
            {"key": "vif-script", "value": MODE_SCRIPTS[mode][1]},
        ]
    elif plan["backend"] == "ifupdown":
        plan.update(_ifupdown_plan(s, profile, mode, bridges, default_bridge, absent, uplink))
    else:
        raise s.error("backend", "must be xend or ifupdown, got %r" % (plan["backend"],))
    return wrap_var(plan)


def _ifupdown_plan(s, profile, mode, bridges, default_bridge, absent, uplink):
    """The current profile's batch: ifupdown files (staged when applied live), xl.conf, forwarding, NAT.

    Files of bridges named absent, and the role's forwarding and NAT files in
    a mode that has none, are listed with ``state: absent``; the bridges'
    files are staged like the rest, for the apply script to remove after it
    took those bridges down.
    """
    managed = s.text("managed")
    interfaces, interfaces_d = s.text("interfaces", profile), s.text("interfaces_d", profile)
    etc = posixpath.dirname(interfaces)
    subdir = posixpath.relpath(interfaces_d, etc)
    if subdir.startswith("..") or subdir == ".":
        raise s.error("interfaces_d", "must be a directory under %s, got %r" % (etc, interfaces_d))
    nat_ruleset = s.text("nat_ruleset", profile)
    sysctl_file = s.text("sysctl_file", profile)
    apply = s.flag("apply")
    # Applied live, the ifupdown files that differ are staged under next/ and
    # swapped in by the apply script behind the rollback timer; else written
    # in place.
    stage_dir = posixpath.join(s.text("state_dir"), "next")

    ifupdown = []
    if s.flag("manage_interfaces_file"):
        ifupdown.append((posixpath.basename(interfaces),
                         _interfaces_text(managed, interfaces_d, s.text("interfaces_extra"), mode, uplink)))
    for bridge in bridges:
        ifupdown.append((posixpath.join(subdir, bridge["bridge"]), _bridge_text(managed, bridge, mode, nat_ruleset)))
    removed = [posixpath.join(subdir, name) for name in absent]
    files = []
    for name, content in ifupdown:
        entry = {"path": posixpath.join(etc, name), "content": content}
        if apply:
            entry["stage"] = posixpath.join(stage_dir, name)
        files.append(entry)
    for name in removed:
        entry = {"path": posixpath.join(etc, name), "state": "absent"}
        if apply:
            entry["stage"] = posixpath.join(stage_dir, name)
        files.append(entry)

    if mode == "route":
        xl_settings = [{"key": "vif.default.script", "value": "vif-route"},
                       {"key": "vif.default.gatewaydev", "value": s.text("route_netdev")}]
    else:
        xl_settings = [{"key": "vif.default.script", "value": "vif-bridge"}]
        if default_bridge:
            xl_settings.append({"key": "vif.default.bridge", "value": default_bridge})
    files.append({"path": s.text("xl_conf", profile), "syntax": "xl", "settings": xl_settings})

    directories = [interfaces_d] + ([stage_dir, posixpath.join(stage_dir, subdir)] if apply else [])
    if mode in ("route", "nat"):
        files.append({"path": sysctl_file, "content": _sysctl_text(managed)})
        directories.append(posixpath.dirname(sysctl_file))
    else:
        # Forwarding is left on until the next boot: something else may use it by now.
        files.append({"path": sysctl_file, "state": "absent"})
    if mode == "nat":
        files.append({"path": nat_ruleset, "content": _nat_text(managed, bridges, s.text("nat_netdev"))})
        directories.append(posixpath.dirname(nat_ruleset))
    else:
        files.append({"path": nat_ruleset, "state": "absent"})
    return {
        "directories": [{"path": path} for path in _unique(directories)],
        "files": files,
        "ifupdown_names": [name for name, _content in ifupdown],
        "removed_names": removed,
        "stage_dir": stage_dir if apply else "",
    }


def _interfaces_text(managed, interfaces_d, extra, mode, uplink):
    """/etc/network/interfaces: loopback, the include of our bridges' directory, the uplink of route and NAT modes."""
    lines = [managed,
             "# interfaces(5) file used by ifup(8) and ifdown(8). The Xen bridges and the",
             "# NICs they take over are in %s/." % interfaces_d,
             "source %s/*" % interfaces_d,
             "",
             "auto lo",
             "iface lo inet loopback"]
    if uplink:
        lines += ["",
                  "# The dom0's own NIC, through which %s guests reach the network." % {"route": "routed", "nat": "NAT"}[mode],
                  "auto %s" % uplink["netdev"],
                  "iface %s inet %s" % (uplink["netdev"], uplink["method"])]
        if uplink["method"] == "static":
            lines.append("    address %s" % uplink["address"])
            if uplink["gateway"]:
                lines.append("    gateway %s" % uplink["gateway"])
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"


def _bridge_text(managed, bridge, mode, nat_ruleset):
    """One bridge's file in interfaces.d: its NIC as a bare port, then the bridge."""
    lines = [managed]
    if bridge["netdev"]:
        lines += ["# %s carries no address of its own: it is the port of %s." % (bridge["netdev"], bridge["bridge"]),
                  "iface %s inet manual" % bridge["netdev"],
                  ""]
    lines += ["auto %s" % bridge["bridge"],
              "iface %s inet %s" % (bridge["bridge"], bridge["method"])]
    if bridge["method"] == "static":
        lines.append("    address %s" % bridge["address"])
        if bridge["gateway"]:
            lines.append("    gateway %s" % bridge["gateway"])
    lines += ["    bridge_ports %s" % (bridge["netdev"] or "none"),
              "    bridge_stp %s" % ("on" if bridge["stp"] else "off"),
              "    bridge_fd 0",
              "    bridge_maxwait 0"]
    if bridge["mac"]:
        lines.append("    hwaddress ether %s" % bridge["mac"])
    if mode == "nat":
        lines += ["    post-up nft -f %s" % nat_ruleset,
                  "    pre-down nft delete table ip %s || true" % NAT_TABLE]
    return "\n".join(lines) + "\n"


def _sysctl_text(managed):
    """The forwarding that routed and NAT guests need."""
    return "\n".join([managed,
                      "# Routed and NAT Xen guests need dom0 to forward their packets.",
                      "net.ipv4.ip_forward = 1"]) + "\n"


def _nat_text(managed, bridges, nat_netdev):
    """The nftables masquerade table the NAT bridges load on post-up."""
    lines = [managed,
             "# Masquerade what the Xen NAT bridges forward out of %s." % nat_netdev,
             "# Loaded by the bridges' post-up; declaring, flushing and filling the table",
             "# makes reloading idempotent.",
             "table ip %s" % NAT_TABLE,
             "flush table ip %s" % NAT_TABLE,
             "table ip %s {" % NAT_TABLE,
             "    chain postrouting {",
             "        type nat hook postrouting priority srcnat; policy accept;"]
    lines += ['        iifname "%s" oifname "%s" masquerade' % (b["bridge"], nat_netdev) for b in bridges]
    lines += ["    }", "}"]
    return "\n".join(lines) + "\n"


def xen_guest_storage_error(dir_value, lvm="", dir_option="dir", lvm_option="lvm"):
    """Why guest disks cannot go to ``dir_value`` or volume group ``lvm`` (the modules' rules), or ``""``.

    ``lvm`` wins when both are given, as in xen-tools; with neither there is
    nothing to check here (the role says so itself).
    """
    try:
        if lvm:
            validate_volume_group(str(lvm), lvm_option)
        elif dir_value:
            validate_dir(str(dir_value), dir_option)
    except GuestError as exc:
        return str(exc)
    return ""


class FilterModule:
    """The dom0 roles' plans."""

    def filters(self):
        """Map filter names to functions."""
        return {
            "xen_size_mib": xen_size_mib,
            "xen_hypervisor_plan": xen_hypervisor_plan,
            "xen_network_plan": xen_network_plan,
            "xen_guest_storage_error": xen_guest_storage_error,
        }
