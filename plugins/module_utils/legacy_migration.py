# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Translate a legacy xend/xm setup (Debian Etch, Xen 3.x) into this collection's current-Debian (xl) variables.

Private to the kuutorvaja.xen collection: no API promise to other code.

The backend of the ``kuutorvaja.xen.xen_legacy_translate`` filter. It reads
texts only (so it runs on the controller, on files the user fetched):

* ``xend-config.sxp`` (an S-expression file) into ``xen_hypervisor`` and
  ``xen_network`` role variables;
* custom network scripts such as the guide's ``kaks-silda.sh`` (lines that
  call Xen's ``network-bridge``/``network-route``/``network-nat``) into bridges;
* each ``xm`` guest config (Python read by xm) into options of
  ``kuutorvaja.xen.xen_guest_config``, built and checked by that module's
  own backend (:func:`xen_guest_config.build_settings`) and rendered by it.

Every setting that is not carried over unchanged lands in the report with
``translated``, ``dropped`` or ``needs_attention`` and the reason; nothing
is left out silently.
"""

from __future__ import annotations

import ast
import ipaddress
import operator
import re
import shlex

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    CONFIG_DIR,
    GuestError,
    config_path_for,
    normalize_mac,
    validate_interface_name,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    disk_spec_details,
    parse_disk_spec,
    parse_xen_cfg,
    xl_integer,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import (
    CONFIG_ARGUMENT_SPEC,
    build_settings,
    render_guest_config,
)

KERNEL_MODES = ("pygrub", "copy")
DOM0 = "dom0"
# The role default a dom0 size is compared with (roles/xen_hypervisor/defaults).
ROLE_DOM0_MEM_MIB = 1024


class LegacyError(ValueError):
    """Input the translator cannot read at all; the message names the file and the place."""


class Report:
    """The list of ``{guest, setting, action, why}`` entries, in the order things were read."""

    ACTIONS = ("translated", "dropped", "needs_attention")

    def __init__(self):
        self.entries = []

    def add(self, guest, setting, action, why):
        """Record one setting's fate."""
        if action not in self.ACTIONS:
            raise ValueError(action)
        self.entries.append({"guest": guest, "setting": setting, "action": action, "why": why})


# --------------------------------------------------------------------------
# xend-config.sxp
# --------------------------------------------------------------------------

_SXP_TOKEN_RE = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>\#[^\n]*)|(?P<open>\()|(?P<close>\))
      |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<atom>[^\s()'"]+)""",
    re.VERBOSE,
)


def parse_sxp(text):
    """The top-level ``(key value ...)`` forms of an SXP file: a list of ``(key, values, line)``.

    Values are strings (quotes removed, ``\\`` escapes read) or nested lists.
    """
    forms, stack, pos, line = [], [], 0, 1
    text = text or ""
    while pos < len(text):
        match = _SXP_TOKEN_RE.match(text, pos)
        if not match:  # pragma: no cover - the atom alternative matches any other character
            raise LegacyError("xend-config.sxp line %d: cannot read %r" % (line, text[pos:pos + 20]))
        kind, value = match.lastgroup, match.group(match.lastgroup)
        pos = match.end()
        if kind == "open":
            stack.append(([], line))
        elif kind == "close":
            if not stack:
                raise LegacyError("xend-config.sxp line %d: ')' without '('" % line)
            items, start = stack.pop()
            if stack:
                stack[-1][0].append(items)
            elif items and isinstance(items[0], str):
                forms.append((items[0], items[1:], start))
            else:
                raise LegacyError("xend-config.sxp line %d: a form must start with a setting name" % start)
        elif kind in ("string", "atom"):
            if not stack:
                raise LegacyError("xend-config.sxp line %d: %r outside '( )'" % (line, value))
            stack[-1][0].append(re.sub(r"\\(.)", r"\1", value[1:-1]) if kind == "string" else value)
        line += value.count("\n")
    if stack:
        raise LegacyError("xend-config.sxp line %d: '(' is not closed" % stack[-1][1])
    return forms


# xend settings that have no counterpart with xl (no daemon, no HTTP/XML-RPC
# server, migration over ssh), and why.
_XEND_ONLY = {
    "logfile": "xl has no daemon log; guests log to /var/log/xen/ by themselves",
    "loglevel": "xl has no daemon log",
    "xend-http-server": "xl has no daemon and no HTTP server",
    "xend-unix-server": "xl has no daemon and no UNIX socket server",
    "xend-tcp-xmlrpc-server": "xl has no XML-RPC server",
    "xend-unix-xmlrpc-server": "xl has no XML-RPC server",
    "xend-unix-path": "xl has no daemon socket",
    "xend-port": "xl has no daemon port",
    "xend-address": "xl has no daemon address",
    "xen-api-server": "xl has no Xen-API server",
    "xend-relocation-server": "xl migrates over ssh (xl migrate), not through a relocation server",
    "xend-relocation-port": "xl migrates over ssh (xl migrate), not through a relocation server",
    "xend-relocation-address": "xl migrates over ssh (xl migrate), not through a relocation server",
    "xend-relocation-hosts-allow": "xl migrates over ssh (xl migrate); limit it with ssh's own access rules",
    "console-limit": "xenconsoled has no such limit setting under xl",
    "external-migration-tool": "xl has no external migration hook",
    "xend-storage-path": "xl keeps no xend storage directory",
    "xend-domains-path": "xl keeps no managed-domain store",
}


def _first(values):
    """The first value of a form as xend reads it (``child_value``): a string or ``None``."""
    return values[0] if values and isinstance(values[0], str) else None


def _settings_of(forms, report):
    """``{key: (first value, values, line)}``, the last form of a key winning as in xend; repeats are reported."""
    settings = {}
    for key, values, line in forms:
        if key in settings:
            report.add(DOM0, key, "translated", "set twice (lines %d and %d); xend used the last, so does this" %
                       (settings[key][2], line))
        settings[key] = (_first(values), values, line)
        if len(values) > 1:
            report.add(DOM0, key, "needs_attention",
                       "line %d has %d values; xend read only the first (%r), so only that is used "
                       "(quote a whole script command line)" % (line, len(values), _first(values)))
    return settings


# --------------------------------------------------------------------------
# Networking: network-script, its arguments and custom scripts
# --------------------------------------------------------------------------

_MODES = {"network-bridge": "bridge", "network-route": "route", "network-nat": "nat"}
_VIF_SCRIPTS = {"bridge": "vif-bridge", "route": "vif-route", "nat": "vif-nat"}
_SCRIPT_OPERATIONS = ("start", "stop", "status", "restart")
# Lines of a network script that only set up how the Xen scripts are found.
_HARMLESS_LINE_RE = re.compile(r"""(\#.*|set\s+-e|exit(\s+0)?|\w+=["']?\$\(dirname\s+["']?\$0["']?\)["']?|)""")


class _Network:
    """The network read so far: mode, bridges, the NICs for route/nat."""

    def __init__(self):
        self.mode = None
        self.bridges = []
        self.route_netdev = None
        self.nat_netdev = None

    def set_mode(self, mode, where, report):
        if self.mode not in (None, mode):
            report.add(DOM0, where, "needs_attention",
                       "mixes %s and %s networking; the roles take one mode, %s is kept" % (self.mode, mode, self.mode))
            return False
        self.mode = mode
        return True


def _call_arguments(words, where, report):
    """``key=value`` arguments of a network script call; others (``start``, ``"$@"``) are skipped or reported."""
    arguments = {}
    for word in words:
        if word in _SCRIPT_OPERATIONS or word in ("$@", "$*", "$1"):
            continue
        if "=" not in word:
            report.add(DOM0, where, "needs_attention", "argument %r is not key=value; not carried over" % word)
            continue
        key, value = word.split("=", 1)
        arguments[key] = value
    return arguments


def _network_call(script, arguments, where, network, report):
    """One call of Xen's network-bridge/-route/-nat with ``arguments``."""
    mode = _MODES[script]
    if not network.set_mode(mode, where, report):
        return
    vifnum = arguments.pop("vifnum", None)
    netdev = arguments.pop("netdev", None)
    bridge = arguments.pop("bridge", None)
    for key, value in arguments.items():
        report.add(DOM0, "%s: %s=%s" % (where, key, value), "needs_attention",
                   "%s argument with no counterpart in the xen_network role; not carried over" % script)
    if vifnum is not None and mode == "bridge":
        report.add(DOM0, "%s: vifnum=%s" % (where, vifnum), "dropped",
                   "numbers network-bridge's dom0 vif (vif0.N); on current Debian dom0 is on the bridge itself")
    if mode == "bridge":
        if netdev is None and vifnum is None:
            report.add(DOM0, "%s: netdev" % where, "needs_attention",
                       "not given: network-bridge took the NIC of the default route; eth0 is assumed, check the old dom0")
        number = vifnum if vifnum is not None and vifnum.isdigit() else "0"
        item = {"bridge": bridge or "xenbr%s" % number, "netdev": netdev or "eth%s" % number}
        if any(b["bridge"] == item["bridge"] for b in network.bridges):
            report.add(DOM0, where, "needs_attention", "bridge %s is set up twice; kept once" % item["bridge"])
            return
        network.bridges.append(item)
        report.add(DOM0, "%s: %s" % (where, item["bridge"]), "translated",
                   "xen_network_bridges item: bridge %s taking over %s" % (item["bridge"], item["netdev"]))
        return
    if bridge is not None:
        report.add(DOM0, "%s: bridge=%s" % (where, bridge), "dropped", "%s uses no bridge" % script)
    target = netdev or "eth0"
    if mode == "route":
        network.route_netdev = target
        report.add(DOM0, where, "translated",
                   "xen_network_mode route through %s (xen_network_route_netdev); vifs use vif-route" % target)
    else:
        network.nat_netdev = target
        report.add(DOM0, where, "needs_attention",
                   "xen_network_mode nat out of %s (xen_network_nat_netdev). xend's vif-nat routed each vif with its "
                   "own address; the role's nat mode puts guests on a host-only bridge with a static address: add "
                   "one to xen_network_bridges (e.g. {bridge: xenbr0, method: static, address: 10.0.0.1/24}) and "
                   "re-address the guests" % target)


def _read_script(name, text, where, network, report):
    """A custom network script: each line calling network-bridge/-route/-nat; other lines reported."""
    calls = 0
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if number == 1 and line.startswith("#!") or _HARMLESS_LINE_RE.fullmatch(line):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            report.add(DOM0, "%s line %d" % (name, number), "needs_attention", "cannot read it (%s): %s" % (exc, line))
            continue
        called = [w for w in words if w.rsplit("/", 1)[-1] in _MODES]
        if len(called) != 1:
            report.add(DOM0, "%s line %d" % (name, number), "needs_attention",
                       "not a call of network-bridge, network-route or network-nat; not carried over: %s" % line)
            continue
        calls += 1
        script = called[0].rsplit("/", 1)[-1]
        arguments = _call_arguments(words[words.index(called[0]) + 1:], "%s line %d" % (name, number), report)
        _network_call(script, arguments, "%s line %d" % (name, number), network, report)
    if not calls:
        report.add(DOM0, where, "needs_attention", "%s calls none of Xen's network scripts; no network translated" % name)


def _translate_network(xend, scripts, report):
    """``xen_network`` role variables from network-script, vif-script and the custom scripts."""
    network = _Network()
    value, _values, line = xend.get("network-script", (None, None, None))
    if value is None:
        report.add(DOM0, "network-script", "needs_attention",
                   "not set: xend set up no network; the role's default (bridge mode, no bridges) is left")
    else:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise LegacyError("xend-config.sxp line %d: network-script %r: %s" % (line, value, exc))
        script = words[0].rsplit("/", 1)[-1] if words else ""
        where = "network-script %s" % value
        if script in _MODES:
            _network_call(script, _call_arguments(words[1:], where, report), where, network, report)
        elif script in scripts or words[0] in scripts:
            script = script if script in scripts else words[0]
            if words[1:]:
                report.add(DOM0, where, "needs_attention",
                           "arguments %s were passed on to what %s calls; check they change nothing"
                           % (" ".join(words[1:]), script))
            _read_script(script, scripts[script], where, network, report)
        elif script in ("/bin/true", "true"):
            report.add(DOM0, where, "translated", "xend set up no network; the role's default is left")
        else:
            report.add(DOM0, where, "needs_attention",
                       "custom script %s was not given in network_scripts; no network translated" % script)
    vif_script, _values, _line = xend.get("vif-script", (None, None, None))
    mode = network.mode or "bridge"
    if vif_script is not None:
        expected = _VIF_SCRIPTS[mode]
        if vif_script == expected or mode == "nat" and vif_script == "vif-bridge":
            report.add(DOM0, "vif-script", "translated",
                       "the role sets xl.conf's vif.default.script for %s mode itself" % mode)
        else:
            report.add(DOM0, "vif-script", "needs_attention",
                       "%s does not go with %s mode (%s); the role writes its own vif.default.script"
                       % (vif_script, mode, expected))
    variables = {"xen_network_mode": mode, "xen_network_bridges": [] if mode == "route" else network.bridges}
    if network.route_netdev:
        variables["xen_network_route_netdev"] = network.route_netdev
    if network.nat_netdev:
        variables["xen_network_nat_netdev"] = network.nat_netdev
    return variables


# --------------------------------------------------------------------------
# The old dom0's /etc/network/interfaces: the bridged NICs' addresses
# --------------------------------------------------------------------------

# An interfaces file is a few kilobytes; one far larger is no interfaces file (refused, not read).
MAX_INTERFACES_BYTES = 256 * 1024
_INTERFACES = "interfaces"
# Stanza keywords of interfaces(5) (ifupdown 0.6 to 0.8); allow-CLASS is any allow-*.
_STANZAS = ("iface", "mapping", "auto", "source", "source-directory", "source-dir", "no-auto-down", "no-scripts")
# Options of a static stanza that the kernel and ifupdown derive from the address.
_DERIVED = ("network", "broadcast")
_DHCP_OPTIONS = ("hostname", "leasehours", "leasetime", "vendor", "client", "metric")
_MAX_SHOWN = 40


def _shown_word(word):
    """A word of the (untrusted) file for the report: quoted, cut short."""
    return repr(word if len(word) <= _MAX_SHOWN else word[:_MAX_SHOWN] + "...")


class _Stanza:
    """One ``iface NAME FAMILY METHOD`` stanza and its option lines."""

    def __init__(self, name, family, method, line):
        self.name, self.family, self.method, self.line = name, family, method, line
        self.options = []

    def where(self, key=None, number=None):
        """The report's setting: the iface line, or one option's line."""
        if key is None:
            return "%s line %d: iface %s" % (_INTERFACES, self.line, self.name)
        return "%s line %d: %s %s" % (_INTERFACES, number, self.name, key)


def _interfaces_lines(text):
    """``(line number, words)`` of each logical line: comments and blank lines skipped, ``\\`` continuations joined."""
    logical, start, parts = [], None, []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
            if raw.lstrip().startswith("#"):
                continue
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        words = " ".join(parts).split()
        parts = []
        if words:
            logical.append((start, words))
    if parts and " ".join(parts).split():
        logical.append((start, " ".join(parts).split()))
    return logical


def parse_interfaces(text, report):
    """The stanzas of an ifupdown ``/etc/network/interfaces``: ``(stanzas, boot)``.

    ``stanzas`` is the list of :class:`_Stanza` in order; ``boot`` maps each
    interface named on an ``auto`` or ``allow-*`` line to ``(keyword, line)``.
    Whatever is no iface stanza (mapping, source, unknown lines) is reported
    and skipped; nothing here raises on the text's content.
    """
    stanzas, boot, current = [], {}, None
    for number, words in _interfaces_lines(text):
        keyword = words[0]
        where = "%s line %d" % (_INTERFACES, number)
        if keyword == "iface":
            current = None
            if len(words) < 4:
                report.add(DOM0, where, "needs_attention",
                           "an iface line needs a name, an address family and a method (iface eth0 inet dhcp); "
                           "this one and its options are not read")
                current = False
                continue
            name = words[1]
            try:
                validate_interface_name(name, "iface")
            except GuestError:
                report.add(DOM0, where, "needs_attention",
                           "iface %s: not an interface name this translator carries (an alias such as eth0:1, or "
                           "a name with other characters); this stanza is not carried over" % _shown_word(name))
                current = False
                continue
            current = _Stanza(name, words[2], words[3], number)
            if len(words) > 4:
                report.add(DOM0, current.where(), "needs_attention",
                           "words after the method (%s) are not read" % " ".join(_shown_word(w) for w in words[4:]))
            stanzas.append(current)
        elif keyword == "auto" or keyword.startswith("allow-"):
            current = None
            for name in words[1:]:
                boot.setdefault(name, (keyword, number))
        elif keyword == "mapping":
            current = False
            report.add(DOM0, where, "needs_attention",
                       "a mapping stanza (a script picks the logical interface at ifup time) is not followed; "
                       "check which stanza it picked for the bridged NICs")
        elif keyword in _STANZAS:
            current = None
            if keyword.startswith("source"):
                report.add(DOM0, where, "needs_attention",
                           "%s: the files it includes were not given; stanzas for the bridged NICs there are not "
                           "carried over (give their text inline instead)" % keyword)
            else:
                report.add(DOM0, where, "needs_attention",
                           "%s: not carried over; the role's bridges are brought up and down as ifupdown does by "
                           "default" % keyword)
        elif current:
            current.options.append((keyword, words[1:], number))
        elif current is False:
            continue
        else:
            report.add(DOM0, where, "needs_attention",
                       "%s is not an interfaces(5) stanza and belongs to none; not read" % _shown_word(keyword))
    return stanzas, boot


def _ipv4(value):
    """An IPv4 address or ``None``."""
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def _prefix_length(text):
    """The prefix length of ``24`` or ``255.255.255.0`` (a contiguous netmask), else ``None``."""
    if re.fullmatch(r"[0-9]{1,2}", text):
        return int(text) if int(text) <= 32 else None
    try:
        network = ipaddress.IPv4Network("0.0.0.0/%s" % text)
    except ValueError:
        return None
    return network.prefixlen if str(network.netmask) == text else None


def _static_address(stanza, report):
    """``(CIDR address, gateway)`` of a static stanza; ``(None, ...)`` when the address cannot be carried."""
    options = {}
    for key, values, number in stanza.options:
        if key in options:
            report.add(DOM0, stanza.where(key, number), "needs_attention",
                       "set twice (lines %d and %d); the first is used" % (options[key][1], number))
            continue
        options[key] = (values, number)
    single = {key: values[0] if len(values) == 1 else None for key, (values, _number) in options.items()}
    address, netmask = single.get("address"), single.get("netmask")
    cidr = None
    if address is None:
        why = "static without an address" if "address" not in options else "address is not one word"
    else:
        host, _sep, prefix = address.partition("/")
        why = None
        if _ipv4(host) is None:
            why = "address %s is not an IPv4 address" % _shown_word(address)
        elif netmask is None and "netmask" in options:
            why = "netmask is not one word"
        else:
            prefixes = []
            for given in (prefix, netmask):
                if given:
                    length = _prefix_length(given)
                    if length is None:
                        why = "%s is not a netmask or prefix length" % _shown_word(given)
                    prefixes.append(length)
            if why is None and not prefixes:
                why = "address %s has neither a prefix length nor a netmask" % _shown_word(address)
            elif why is None and len(set(prefixes)) > 1:
                why = "address %s and netmask %s disagree" % (_shown_word(address), _shown_word(netmask))
            elif why is None:
                cidr = "%s/%d" % (host, prefixes[0])
    if cidr is None:
        report.add(DOM0, stanza.where("address", options.get("address", (None, stanza.line))[1]), "needs_attention",
                   "%s: the bridge is left without method and address (the role would use DHCP); "
                   "set them in xen_network_bridges yourself" % why)
    gateway = None
    if "gateway" in options:
        gateway = single.get("gateway")
        if gateway is None or _ipv4(gateway) is None:
            report.add(DOM0, stanza.where("gateway", options["gateway"][1]), "needs_attention",
                       "%s is not an IPv4 address; not carried over" % _shown_word(" ".join(options["gateway"][0])))
            gateway = None
    if cidr is None:
        left = list(_DERIVED) + (["gateway"] if gateway else [])
        for key in (key for key in left if key in options):
            report.add(DOM0, stanza.where(key, options[key][1]), "needs_attention",
                       "not carried over, as the address is not")
        return None, None
    network = ipaddress.IPv4Interface(cidr).network
    derived = {"network": str(network.network_address), "broadcast": str(network.broadcast_address)}
    for key in (key for key in _DERIVED if key in options):
        if single.get(key) in (derived[key], "+"):
            report.add(DOM0, stanza.where(key, options[key][1]), "dropped",
                       "the same as %s gives; the kernel derives it" % cidr)
        else:
            report.add(DOM0, stanza.where(key, options[key][1]), "needs_attention",
                       "%s is not what %s gives (%s); the role sets no %s: not carried over"
                       % (_shown_word(" ".join(options[key][0])), cidr, derived[key], key))
    return cidr, gateway


def _carry_stanza(item, stanza, report):
    """Move the NIC's stanza ``stanza`` onto its bridge ``item``; report each option not carried."""
    where = stanza.where()
    if stanza.method == "static":
        cidr, gateway = _static_address(stanza, report)
        if cidr is not None:
            item.update({"method": "static", "address": cidr})
            if gateway:
                item["gateway"] = gateway
    elif stanza.method in ("dhcp", "manual"):
        item["method"] = stanza.method
    else:
        report.add(DOM0, where, "needs_attention",
                   "method %s: the role's bridges take dhcp, static or manual; the bridge is left without method "
                   "(the role would use DHCP)" % _shown_word(stanza.method))
    handled = ("address", "netmask", "gateway") + _DERIVED if stanza.method == "static" else ()
    for key, values, number in stanza.options:
        setting = stanza.where(key, number)
        if key in handled:
            continue
        if key == "hwaddress":
            mac = values[-1] if values and (len(values) == 1 or values[0] == "ether" and len(values) == 2) else None
            try:
                item["mac"] = normalize_mac(mac, "hwaddress")
            except GuestError:
                report.add(DOM0, setting, "needs_attention",
                           "line %d: not one usable MAC (hwaddress [ether] MAC); not carried over: the bridge takes "
                           "%s's own MAC" % (number, item["netdev"]))
                continue
            report.add(DOM0, setting, "translated",
                       "the dom0 had this MAC on %s: the bridge %s takes it (mac)" % (item["netdev"], item["bridge"]))
        elif key == "gateway" and stanza.method == "dhcp":
            report.add(DOM0, setting, "dropped", "ifupdown ignores gateway with dhcp; the lease gives the route")
        elif key.startswith("dns-"):
            report.add(DOM0, setting, "needs_attention",
                       "resolvconf's %s is not carried over: set the name servers of the new dom0 yourself" % key)
        elif key in ("up", "down", "pre-up", "post-up", "pre-down", "post-down"):
            report.add(DOM0, setting, "needs_attention",
                       "line %d: a command ifupdown ran; not carried over (its text is not copied): run what it did "
                       "on the new dom0 another way, or add it to the bridge's stanza by hand" % number)
        elif key in _DHCP_OPTIONS and stanza.method == "dhcp":
            report.add(DOM0, setting, "needs_attention",
                       "line %d: a DHCP client option the role does not set; not carried over" % number)
        else:
            report.add(DOM0, setting, "needs_attention",
                       "line %d: an option the role's bridges do not take; not carried over (its value is not "
                       "copied)" % number)


def _carry_interfaces(text, network, report):
    """Carry the bridged NICs' addressing from the old dom0's interfaces file onto ``network``'s bridges."""
    stanzas, boot = parse_interfaces(text, report)
    bridges = network.get("xen_network_bridges") or []
    by_netdev = {item["netdev"]: item for item in bridges if item.get("netdev")}
    bridge_names = {item["bridge"] for item in bridges}
    carried = set()
    for stanza in stanzas:
        where = stanza.where()
        if stanza.name == "lo":
            report.add(DOM0, where, "dropped", "the role's /etc/network/interfaces brings up the loopback itself")
        elif stanza.name in bridge_names:
            report.add(DOM0, where, "needs_attention",
                       "%s is a bridge network-bridge made; a stanza of its own is not carried over (the NIC's is)"
                       % stanza.name)
        elif stanza.name not in by_netdev:
            report.add(DOM0, where, "needs_attention",
                       "%s is not bridged: the xen_network role writes /etc/network/interfaces "
                       "(xen_network_manage_interfaces_file) without this stanza; put it in "
                       "xen_network_interfaces_extra if the new dom0 needs it" % stanza.name)
        elif stanza.family != "inet":
            report.add(DOM0, where, "needs_attention",
                       "family %s: the role gives the bridge an IPv4 address only; not carried over"
                       % _shown_word(stanza.family))
        elif stanza.name in carried:
            report.add(DOM0, where, "needs_attention",
                       "a second inet stanza of %s (another address); only the first is carried over" % stanza.name)
        else:
            item = by_netdev[stanza.name]
            carried.add(stanza.name)
            first = len(report.entries)
            _carry_stanza(item, stanza, report)
            options = report.entries[first:]
            del report.entries[first:]
            keyword = boot.get(stanza.name, (None, None))[0]
            shown = ", ".join("%s %s" % (key, item[key]) for key in ("method", "address", "gateway", "mac") if key in item)
            report.add(DOM0, where, "translated" if "method" in item and keyword else "needs_attention",
                       "%s's addressing moves to the bridge %s (%s), as network-bridge moved it; %s"
                       % (stanza.name, item["bridge"], shown or "none carried", "it was brought up at boot (%s), "
                          "the role's bridge is too (auto)" % keyword if keyword else
                          "it was not brought up at boot (no auto or allow- line), the role's bridge is (auto)"))
            report.entries.extend(options)
    named = {stanza.name for stanza in stanzas}
    for name, (keyword, number) in boot.items():
        if name not in named and name not in by_netdev and name != "lo":
            report.add(DOM0, "%s line %d" % (_INTERFACES, number), "needs_attention",
                       "%s %s: no iface stanza of it here and not bridged; not carried over" % (keyword, _shown_word(name)))
    for name, item in by_netdev.items():
        if name not in carried:
            item["method"] = "manual"
            report.add(DOM0, "%s: %s" % (_INTERFACES, name), "translated",
                       "no iface stanza for %s: the old dom0 had no address there (network-bridge only took it "
                       "into %s), so the bridge gets method manual (up, no address)" % (name, item["bridge"]))


# --------------------------------------------------------------------------
# dom0: hypervisor settings and the defaults HVM guests inherit
# --------------------------------------------------------------------------


def _number(key, value, line):
    if value is None or not re.fullmatch(r"[0-9]+", value):
        raise LegacyError("xend-config.sxp line %d: (%s %s) is not a whole number" % (line, key, value))
    return int(value)


def _translate_dom0(xend, report):
    """``xen_hypervisor`` role variables and the dom0-wide defaults that xl sets per guest."""
    variables, guest_defaults = {}, {}
    for key, (value, _values, line) in xend.items():
        if key == "dom0-cpus":
            variables["xen_hypervisor_dom0_max_vcpus"] = _number(key, value, line)
            report.add(DOM0, key, "translated",
                       "xen_hypervisor_dom0_max_vcpus (dom0_max_vcpus=N on the Xen command line; 0 means all CPUs, as in xend)")
        elif key == "dom0-min-mem":
            mib = _number(key, value, line)
            if not mib:
                report.add(DOM0, key, "needs_attention",
                           "0: xend never ballooned dom0 down; xl gives dom0 a fixed dom0_mem, so choose "
                           "xen_hypervisor_dom0_mem yourself (the old dom0_mem= was on the GRUB kernel line)")
                continue
            variables["xen_hypervisor_dom0_mem"] = "%dM" % mib
            if mib < ROLE_DOM0_MEM_MIB:
                report.add(DOM0, key, "needs_attention",
                           "xen_hypervisor_dom0_mem %dM: xend's floor for ballooning dom0 becomes its fixed size "
                           "(dom0_mem=X,max:X, autoballoon off); below the role's default %dM, and a current "
                           "Debian dom0 needs more than an Etch one: raise it unless you know it suffices"
                           % (mib, ROLE_DOM0_MEM_MIB))
            else:
                report.add(DOM0, key, "translated",
                           "xen_hypervisor_dom0_mem %dM: xend's floor for ballooning dom0 becomes its fixed size "
                           "(dom0_mem=X,max:X, autoballoon off)" % mib)
        elif key in ("vnc-listen", "keymap"):
            guest_defaults["vnclisten" if key == "vnc-listen" else "keymap"] = value
            report.add(DOM0, key, "translated",
                       "xl has no global %s: written into each HVM guest config that does not set its own (%r)"
                       % ("vnclisten" if key == "vnc-listen" else "keymap", value))
        elif key == "vncpasswd":
            if value:
                report.add(DOM0, key, "needs_attention",
                           "xl has no global VNC password: set vncpasswd in each HVM guest (the value is not copied "
                           "into the output, as it is a secret)")
            else:
                report.add(DOM0, key, "dropped", "empty (no VNC password), which is also xl's default")
        elif key == "enable-dump":
            report.add(DOM0, key, "needs_attention" if value in ("yes", "1", "true") else "dropped",
                       "xl sets core dumps per guest: on_crash = 'coredump-destroy' (dumps in /var/lib/xen/dump)")
        elif key in _XEND_ONLY:
            report.add(DOM0, key, "dropped", _XEND_ONLY[key])
        elif key not in ("network-script", "vif-script"):
            report.add(DOM0, key, "needs_attention", "an xend setting this translator does not know; not carried over")
    return variables, guest_defaults


# --------------------------------------------------------------------------
# xm guest configs
# --------------------------------------------------------------------------


class _NotLiteral(Exception):
    """An expression the reader does not evaluate."""


_MAX_LENGTH = 4096


def _evaluate(node, scope):
    """A Python expression of constants, lists, earlier settings, ``+`` and ``%``, as xm evaluated it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) or \
            isinstance(node, ast.Constant) and node.value is None:
        return int(node.value) if isinstance(node.value, bool) else node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(item, scope) for item in node.elts]
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return int(node.id == "True")
        if node.id == "None":
            return None
        if node.id in scope:
            return scope[node.id]
        raise _NotLiteral("%s is not set before" % node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _evaluate(node.operand, scope)
        if isinstance(value, int):
            return operator.neg(value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod, ast.Mult)):
        left, right = _evaluate(node.left, scope), _evaluate(node.right, scope)
        try:
            if isinstance(node.op, ast.Add) and type(left) is type(right) and left is not None:
                result = left + right
            elif isinstance(node.op, ast.Mod) and isinstance(left, str):
                if re.search(r"%[-+ #0]*[0-9]{4,}|\.[0-9]{4,}", left):
                    raise ValueError("a field width of thousands")
                result = left % (tuple(right) if isinstance(right, list) else right)
            elif isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
                result = left * right
            else:
                raise TypeError("operands %r and %r" % (left, right))
        except (TypeError, ValueError) as exc:
            raise _NotLiteral("cannot evaluate it (%s)" % exc)
        if isinstance(result, (str, list)) and len(result) > _MAX_LENGTH:
            raise _NotLiteral("its value is longer than %d" % _MAX_LENGTH)
        return result
    raise _NotLiteral("a Python expression xl cannot hold (%s)" % type(node).__name__)


def read_xm_config(text, guest, report):
    """The settings of an xm config.

    Read first as xl reads it (``xen_cfg.parse_xen_cfg``: what reads there
    means the same to xl and to xm's Python). Files xl refuses are read as
    the Python xm executed: constants, lists and tuples, ``True``/``False``,
    earlier settings, ``+`` and ``%``; a statement beyond that is reported
    and left out.
    """
    try:
        return parse_xen_cfg(text)
    except XenCfgError as xl_error:
        xl_reason = str(xl_error)
    try:
        tree = ast.parse(text or "")
    except SyntaxError as exc:
        raise LegacyError("guest %s: neither xl nor Python reads the config (xl: %s; Python line %s: %s)"
                          % (guest, xl_reason, exc.lineno, exc.msg))
    report.add(guest, "(syntax)", "translated",
               "xl would refuse the file as written (%s); read as the Python xm executed, and written in xl syntax" % xl_reason)
    settings = {}
    for node in tree.body:
        where = "line %d" % node.lineno
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # a docstring
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) else None
        if not isinstance(target, ast.Name):
            report.add(guest, where, "needs_attention",
                       "a Python %s statement, not a setting; not carried over" % type(node).__name__)
            continue
        try:
            value = _evaluate(node.value, settings)
            if isinstance(node, ast.AugAssign):
                previous = settings.get(target.id)
                if type(previous) is not type(value) or not isinstance(value, (str, list)):
                    raise _NotLiteral("+= of %r and %r" % (previous, value))
                value = previous + value
        except _NotLiteral as exc:
            report.add(guest, target.id, "needs_attention", "%s: %s; not carried over" % (where, exc))
            continue
        if value is None:
            settings.pop(target.id, None)
            report.add(guest, target.id, "dropped", "None: unset, as xm read it")
            continue
        settings[target.id] = value
    return settings


# Guest keys xl reads the same way, carried over as they are.
_XL_KEYS = frozenset((
    "uuid", "cpus", "cpu_weight", "cpu_cap", "maxvcpus", "localtime", "acpi", "apic", "hap", "viridian", "serial",
    "usb", "usbdevice", "sdl", "stdvga", "keymap", "vncunused", "vncdisplay", "vncpasswd", "soundhw", "nographic",
    "shadow_memory", "timer_mode", "pci", "vfb", "vtpm", "ioports", "irqs",
))
# xm-only keys: dropped with the reason (the kernel IP settings built an ip= kernel argument).
_XM_ONLY = {
    "builder": "xl's type = \"hvm\" replaces builder='hvm' (a PV guest needs neither)",
    "device_model": "xl starts its own device model (qemu-system-xen, the hypervisor role installs it); "
                    "the Etch path does not exist on current Debian",
    "nics": "xm's NIC count; xl makes one NIC per vif entry",
    "vncconsole": "xm's option to start a VNC viewer; connect one yourself (xl vncviewer)",
    "vncviewer": "xm's option to start a VNC viewer; connect one yourself (xl vncviewer)",
    "console": "xm's console option; xl attaches with xl console / xl create -c",
}
_XM_KERNEL_IP = ("ip", "netmask", "gateway", "hostname", "interface", "dhcp", "nfs_server", "nfs_root")
_VIF_KEYS = ("ip", "mac", "type", "model", "vifname", "bridge", "script", "rate")
_SCRIPT_PREFIXES = ("iscsi", "nbd", "enbd", "drbd")
_LEGACY_VDEV_RE = re.compile(r"(?:sd|hd)([a-z]+)([0-9]*)")


def _pv_vdev(vdev):
    """``sda1``/``hda1`` as xl names a PV disk (``xvda1``); other names as they are."""
    match = _LEGACY_VDEV_RE.fullmatch(vdev)
    return "xvd%s%s" % match.groups() if match else vdev


def _boot_warning(path):
    """Why a guest kernel had better not sit in the new dom0's /boot (empty when it does not)."""
    if not str(path).startswith("/boot/"):
        return ""
    return ("; in /boot, update-grub takes a vmlinuz-*/initrd.img-* for a dom0 kernel and adds a boot entry for it, "
            "so a directory such as /var/lib/xen/kernels/GUEST/ (and kernel/ramdisk changed to match) is safer")


class _Guest:
    """One guest being translated: its xm settings, the options built, the report."""

    def __init__(self, key, settings, report, network, guest_defaults, kernel_mode):
        self.key = key
        self.xm = dict(settings)
        self.report = report
        self.network = network
        self.guest_defaults = guest_defaults
        self.kernel_mode = kernel_mode
        self.options = {}
        self.extra = {}
        self.hvm = False
        self.renamed = {}

    def note(self, setting, action, why):
        """Report one of this guest's settings."""
        self.report.add(self.key, setting, action, why)

    def take(self, key):
        """Remove ``key`` from the settings still to translate and return its value."""
        return self.xm.pop(key, None)

    def boot_style(self):
        """type, kernel, ramdisk, bootloader, builder, device_model."""
        kernel, ramdisk = self.take("kernel"), self.take("ramdisk")
        builder, bootloader = self.take("builder"), self.take("bootloader")
        self.hvm = builder == "hvm" or bool(kernel) and str(kernel).rsplit("/", 1)[-1] == "hvmloader"
        if self.hvm:
            self.options["type"] = "hvm"
            if builder is not None:
                self.note("builder", "translated", "type = \"hvm\" (xl's form of builder='hvm')")
            if kernel:
                self.note("kernel", "translated", "%s is hvmloader: xl loads its own (type = \"hvm\")" % kernel)
            if ramdisk:
                self.note("ramdisk", "dropped", "an HVM guest boots from its disks, not from a dom0 ramdisk")
            if bootloader:
                self.note("bootloader", "dropped", "an HVM guest boots from its disks, not through a bootloader")
            return
        if builder is not None:
            self.note("builder", "translated" if builder == "linux" else "needs_attention",
                      "PV is xl's default type; builder=%r is not written" % builder)
        if bootloader:
            self.options["type"] = "pygrub"
            if str(bootloader).rsplit("/", 1)[-1] != "pygrub":
                self.options["bootloader"] = bootloader
                self.note("bootloader", "needs_attention", "%s is kept; check it exists on the new dom0" % bootloader)
            elif bootloader != "pygrub":
                self.note("bootloader", "translated",
                          "bootloader = \"pygrub\" (xl finds its own pygrub; the path %s was xm's)" % bootloader)
            for key, value in (("kernel", kernel), ("ramdisk", ramdisk)):
                if value:
                    self.note(key, "dropped", "pygrub takes the kernel and initrd from the guest's own disk")
            bootargs = self.take("bootargs")
            if bootargs:
                self.extra["bootloader_args"] = shlex.split(str(bootargs))
                self.note("bootargs", "translated", "bootloader_args, xl's name for pygrub's arguments")
            return
        if not kernel:
            raise LegacyError("guest %s: no kernel, bootloader or builder='hvm': xm could not boot it either" % self.key)
        if self.kernel_mode == "copy":
            self.options.update(type="pv", kernel=kernel)
            self.note("kernel", "needs_attention",
                      "kept: copy %s from the old dom0 to the same path on the new one, and check that the new "
                      "hypervisor still boots that (Etch-era, often 32-bit) PV kernel%s" % (kernel, _boot_warning(kernel)))
            if ramdisk:
                self.options["ramdisk"] = ramdisk
                self.note("ramdisk", "needs_attention", "kept: copy %s from the old dom0 to the same path%s"
                          % (ramdisk, _boot_warning(ramdisk)))
            return
        self.options["type"] = "pygrub"
        self.note("kernel", "needs_attention",
                  "%s on the old dom0 is replaced by bootloader = \"pygrub\": install a Xen-capable kernel and a "
                  "GRUB menu (/boot/grub/menu.lst or grub.cfg) inside the guest before booting it" % kernel)
        if ramdisk:
            self.note("ramdisk", "dropped", "pygrub takes the initrd from the guest's own disk (%s is not used)" % ramdisk)

    def basics(self):
        """name, memory, maxmem, vcpus, root, extra, on_*."""
        name = self.take("name")
        if not name:
            raise LegacyError("guest %s: the config sets no name" % self.key)
        self.options["name"] = str(name)
        for key in ("memory", "maxmem"):
            value = self.take(key)
            if value is None:
                if key == "memory":
                    raise LegacyError("guest %s: the config sets no memory" % self.key)
                continue
            try:
                self.options[key] = "%dM" % xl_integer(value, key)
            except XenCfgError as exc:
                raise LegacyError("guest %s: %s" % (self.key, exc))
        vcpus = self.take("vcpus")
        if vcpus is not None:
            try:
                self.options["vcpus"] = xl_integer(vcpus, "vcpus")
            except XenCfgError as exc:
                raise LegacyError("guest %s: %s" % (self.key, exc))
        for key in ("on_poweroff", "on_reboot", "on_crash"):
            value = self.take(key)
            if value is not None:
                self.options[key] = str(value)
        restart = self.take("restart")
        if restart is not None:
            self.note("restart", "needs_attention",
                      "xm's old restart=%r; xl takes on_reboot/on_crash (restart, destroy, preserve); not carried over" % restart)

    def disks(self):
        """disk entries: PV vdevs as xvd*, ioemu: dropped, vdev:cdrom as devtype=cdrom."""
        entries = self.take("disk")
        entries = entries if isinstance(entries, list) else [entries] if entries else []
        disks = []
        for index, entry in enumerate(entries):
            setting = "disk[%d]" % index
            if isinstance(entry, list):
                self.note(setting, "dropped", "a nested list; xl stops reading disks there")
                break
            details = disk_spec_details(entry)
            changes = []
            problems = details["problems"]
            target, vdev, access = details["target"], details["vdev"], details["access"]
            given_vdev = vdev
            if any("'w!'" in p for p in problems):
                problems = [p for p in problems if "'w!'" not in p]
                self.note(setting, "needs_attention",
                          "access w! (xm's shared write) has no xl form; written as w: make sure only one guest writes it")
            if problems:
                raise LegacyError("guest %s: disk %r: %s" % (self.key, entry, "; ".join(problems)))
            if "ioemu" in details["prefixes"]:
                changes.append("ioemu: dropped (xl emulates an HVM guest's disks itself)")
            if not self.hvm:
                new_vdev = _pv_vdev(vdev)
                if new_vdev != vdev:
                    changes.append("vdev %s -> %s" % (vdev, new_vdev))
                    self.renamed[vdev] = new_vdev
                    vdev = new_vdev
            if target and "phy" in details["prefixes"] and not target.startswith("/"):
                changes.append("phy:%s -> /dev/%s" % (target, target))
                target = "/dev/" + target
            if details["cdrom"]:
                changes.append("%s:cdrom -> devtype=cdrom" % given_vdev)
                spec = "vdev=%s,access=r,devtype=cdrom," % vdev + ("target=%s" % target if target else "format=empty")
                if access != "r":
                    changes.append("access r (xl attaches a CD-ROM read-only)")
            elif details["format"] not in (None, "raw") or set(details["prefixes"]) & set(_SCRIPT_PREFIXES):
                # xl's own key=value form: format= for tap:qcow: and the like, script= for drbd: and the like.
                keys = ["format=%s" % details["format"]] if details["format"] not in (None, "raw") else []
                scripts = [p for p in details["prefixes"] if p in _SCRIPT_PREFIXES]
                keys += ["script=block-%s" % scripts[0]] if scripts else []
                spec = ",".join(keys + ["vdev=%s" % vdev, "access=%s" % access, "target=%s" % target])
                changes.append("%s: -> %s" % (":".join(p for p in details["prefixes"] if p != "ioemu"), ",".join(keys)))
                if scripts:
                    self.note(setting, "needs_attention",
                              "the block script block-%s must exist in /etc/xen/scripts on the new dom0" % scripts[0])
            else:
                spec = {"target": target, "vdev": vdev, "mode": access}
            try:
                parse_disk_spec(spec, strict=True) if isinstance(spec, str) else None
            except XenCfgError as exc:  # pragma: no cover - the forms above are xl's own
                raise LegacyError("guest %s: %s" % (self.key, exc))
            if isinstance(spec, dict):
                given = [p for p in details["prefixes"] if p != "ioemu"]
                written = ["phy"] if target.startswith("/dev/") else ["file"]
                if given and given != written:
                    changes.append("%s: -> %s: (xl ignores these prefixes and picks the backend itself)"
                                   % (":".join(given), written[0]))
            disks.append(spec)
            if changes:
                self.note(setting, "translated", "; ".join(changes))
        if not disks:
            raise LegacyError("guest %s: the config has no disk" % self.key)
        self.options["disks"] = disks
        if self.renamed:
            self.note("(guest /etc/fstab)", "needs_attention",
                      "the disks are now %s: the guest's /etc/fstab (and any root= in its own boot menu) must name "
                      "the new devices, or use UUID= / LABEL=" % ", ".join("%s (was %s)" % (n, o) for o, n in self.renamed.items()))

    def root(self):
        """root and extra, with the renamed vdevs."""
        for key in ("root", "extra"):
            value = self.take(key)
            if value is None:
                continue
            if self.hvm:
                self.note(key, "dropped", "an HVM guest's kernel command line is in its own boot loader")
                continue
            new = re.sub(r"/dev/(\w+)", lambda m: "/dev/" + self.renamed.get(m.group(1), m.group(1)), str(value))
            self.options[key] = new
            if new != value:
                self.note(key, "translated", "%r -> %r (the disks' new names)" % (value, new))

    def vifs(self):
        """vif entries as xen_guest_config dicts; bridges checked against the network."""
        entries = self.take("vif")
        if entries is None:
            return
        entries = entries if isinstance(entries, list) else [entries]
        vifs, mode = [], self.network.get("xen_network_mode", "bridge")
        bridges = [b["bridge"] for b in self.network.get("xen_network_bridges", [])]
        for index, entry in enumerate(entries):
            setting = "vif[%d]" % index
            fields = {}
            for part in str(entry).split(","):
                if not part.strip():
                    continue
                key, _sep, value = part.partition("=")
                key, value = key.strip(), value.strip()
                if key in _VIF_KEYS and value:
                    fields[key] = value
                else:
                    self.note("%s %s" % (setting, part.strip()), "needs_attention", "not a vif key xl takes here; not carried over")
            script = fields.get("script")
            if script:
                default = "vif-route" if mode == "route" else "vif-bridge"
                if script.rsplit("/", 1)[-1] == default:
                    fields.pop("script")
                    self.note("%s script" % setting, "dropped", "%s is the default the role sets in xl.conf" % script)
                else:
                    self.note("%s script" % setting, "needs_attention",
                              "%s kept: it must exist in /etc/xen/scripts on the new dom0 and suit %s mode" % (script, mode))
            if "ip" in fields:
                self.note("%s ip" % setting, "translated",
                          "kept: vif-route routes it; vif-bridge only uses it for its antispoofing rule")
            if mode == "route" and not fields.get("ip"):
                self.note("%s ip" % setting, "needs_attention",
                          "route mode: vif-route routes only the addresses in ip=; give the guest's address")
            if mode == "bridge" and fields.get("bridge") and bridges and fields["bridge"] not in bridges:
                self.note("%s bridge" % setting, "needs_attention",
                          "%s is not among the bridges the dom0 config sets up (%s); add it to xen_network_bridges "
                          "or change the vif" % (fields["bridge"], ", ".join(bridges)))
            elif mode == "route" and fields.get("bridge"):
                self.note("%s bridge" % setting, "dropped", "route mode uses no bridge")
                fields.pop("bridge")
            if mode != "route" and not fields.get("bridge") and bridges:
                self.note("%s bridge" % setting, "translated",
                          "none given: xl takes xl.conf's vif.default.bridge (xen_network_default_bridge, by default "
                          "the first bridge, %s), as xend's vif-bridge took the first bridge it found" % bridges[0])
            if not fields.get("mac"):
                self.note("%s mac" % setting, "needs_attention",
                          "no MAC: xl makes a random one each boot, and the guest's udev renames its NIC "
                          "(the guide's fix: pin the MAC the guest has now)")
            vifs.append(fields)
        self.options["vifs"] = vifs

    def hvm_settings(self):
        """boot, vnc, vnclisten, pae and dom0-wide defaults."""
        if not self.hvm:
            for key in ("boot", "pae", "vnc", "vnclisten"):
                if key in self.xm:
                    self.note(key, "dropped", "an HVM setting in a PV guest's config; xm ignored it too")
                    self.take(key)
            return
        self.options["boot"] = str(self.take("boot") or "c")
        vnc = self.take("vnc")
        self.options["vnc"] = bool(xl_integer(vnc, "vnc")) if vnc is not None else False
        if vnc is None:
            self.extra["vnc"] = 0
            self.note("vnc", "translated", "not set: xm gave no VNC console, xl gives one unless vnc = 0, so that is written")
        vnclisten = self.take("vnclisten")
        if vnclisten is None and self.options["vnc"] and self.guest_defaults.get("vnclisten"):
            vnclisten = self.guest_defaults["vnclisten"]
            self.note("vnclisten", "translated", "%s from xend-config.sxp's (vnc-listen)" % vnclisten)
        if vnclisten is not None:
            self.options["vnclisten"] = str(vnclisten)
        if "keymap" not in self.xm and self.guest_defaults.get("keymap"):
            self.extra["keymap"] = self.guest_defaults["keymap"]
            self.note("keymap", "translated", "%s from xend-config.sxp's (keymap)" % self.guest_defaults["keymap"])
        pae = self.take("pae")
        if pae is not None:
            self.options["pae"] = bool(xl_integer(pae, "pae"))

    def the_rest(self):
        """Keys xl reads alike are kept; xm-only ones dropped; unknown ones reported."""
        for key in list(self.xm):
            value = self.take(key)
            if key in _XL_KEYS:
                self.extra[key] = value
                self.note(key, "translated", "xl reads it the same; kept")
            elif key in _XM_ONLY:
                self.note(key, "dropped", _XM_ONLY[key])
            elif key in _XM_KERNEL_IP:
                self.note(key, "needs_attention",
                          "xm built an ip= kernel argument from it; xl has no such key: configure the address inside "
                          "the guest (or put ip=... into extra); not carried over")
            else:
                self.note(key, "needs_attention", "not a key this translator knows xl to read; not carried over")
        if self.extra:
            self.options["settings"] = self.extra


def guest_settings(options):
    """xen_guest_config's settings for ``options``, checked as the module checks them (its argument spec and backend)."""
    params = {key: spec.get("default") for key, spec in CONFIG_ARGUMENT_SPEC.items()}
    unknown = set(options) - set(params)
    if unknown:  # pragma: no cover - the translator writes only the module's options
        raise LegacyError("not options of xen_guest_config: %s" % ", ".join(sorted(unknown)))
    params.update(options)
    return build_settings(params)


def translate_guest(key, text, report, network, guest_defaults, kernel_mode="pygrub", config_dir=None):
    """One xm config: ``{path, options, settings, config}`` for xen_guest_config."""
    guest = _Guest(key, read_xm_config(text, key, report), report, network, guest_defaults, kernel_mode)
    guest.boot_style()
    guest.basics()
    guest.disks()
    guest.root()
    guest.vifs()
    guest.hvm_settings()
    guest.the_rest()
    options = guest.options
    try:
        settings = guest_settings(options)
        config = render_guest_config(settings, options.get("type", "pv"), header=False)
    except GuestError as exc:
        raise LegacyError("guest %s: %s" % (key, exc))
    options["path"] = config_path_for(options["name"], config_dir)
    if config_dir and config_dir != CONFIG_DIR:
        # xen_guest_config keeps configs inside its config_dir: the same one.
        options["config_dir"] = config_dir
    return {"path": options["path"], "options": options, "settings": settings, "config": config}


def translate_legacy(xend_config="", network_scripts=None, guests=None, kernel_mode="pygrub", config_dir="/etc/xen",
                     interfaces=None):
    """The whole translation: ``{xen_hypervisor, xen_network, guests, report}``.

    ``interfaces`` is the text of the old dom0's /etc/network/interfaces:
    each bridged NIC's addressing is carried to its bridge.
    """
    if kernel_mode not in KERNEL_MODES:
        raise LegacyError("kernel_mode must be one of %s, got %r" % (", ".join(KERNEL_MODES), kernel_mode))
    for label, value in (("network_scripts", network_scripts), ("guests", guests)):
        if value is not None and not isinstance(value, dict):
            raise LegacyError("%s must be a dict of name -> file text, got %s" % (label, type(value).__name__))
    if xend_config is not None and not isinstance(xend_config, str):
        raise LegacyError("xend_config must be the text of xend-config.sxp, got %s" % type(xend_config).__name__)
    if interfaces is not None and not isinstance(interfaces, str):
        raise LegacyError("interfaces must be the text of /etc/network/interfaces, got %s" % type(interfaces).__name__)
    if interfaces is not None and len(interfaces) > MAX_INTERFACES_BYTES:
        raise LegacyError("interfaces: larger than %d characters; not an interfaces(5) file" % MAX_INTERFACES_BYTES)
    report = Report()
    xend = _settings_of(parse_sxp(xend_config or ""), report)
    hypervisor, guest_defaults = _translate_dom0(xend, report)
    network = _translate_network(xend, network_scripts or {}, report) if xend_config else {}
    if interfaces and network.get("xen_network_mode") == "bridge":
        _carry_interfaces(interfaces, network, report)
    elif interfaces:
        report.add(DOM0, _INTERFACES, "needs_attention",
                   "not read: %s; the role writes /etc/network/interfaces (xen_network_manage_interfaces_file) "
                   "without the old stanzas, so carry the dom0's own addresses in xen_network_interfaces_extra"
                   % ("no xend-config.sxp, so no bridges to carry addresses to" if not network else
                      "%s mode has no bridges over the NICs" % network["xen_network_mode"]))
    translated = {}
    for key, text in (guests or {}).items():
        if not isinstance(text, str):
            raise LegacyError("guests[%s] must be the text of an xm config, got %s" % (key, type(text).__name__))
        translated[key] = translate_guest(key, text, report, network, guest_defaults, kernel_mode, config_dir)
        same = [other for other, guest in translated.items() if other != key and guest["path"] == translated[key]["path"]]
        if same:
            raise LegacyError("guests %s and %s both become %s (the same guest name)" % (same[0], key, translated[key]["path"]))
    if any(g["options"].get("type") == "hvm" for g in translated.values()):
        hypervisor["xen_hypervisor_hvm"] = True
        report.add(DOM0, "(HVM guests)", "translated",
                   "xen_hypervisor_hvm: true, so the device model (qemu-system-xen) is installed")
    return {"xen_hypervisor": hypervisor, "xen_network": network, "guests": translated, "report": report.entries}
