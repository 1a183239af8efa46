# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory plugin ``xen``: the guests of Xen dom0s, read over SSH, as hosts.

The toolstack's output is read by module_utils/toolstack.py's parsers, the
ones the modules use; guest names and MACs are checked by guest_model's rules.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: xen
short_description: The guests of Xen dom0s as inventory hosts
version_added: 0.1.0
author:
  - kuutorvaja.xen contributors (@kuutorvaja)
description:
  - Connects to each dom0 of O(dom0s) over SSH (the C(ssh) client, in batch mode, no shell on the controller) and reads
    its domains with the toolstack (C(xl list) for state, memory and vCPUs; C(xl list -l) for the type and the NICs'
    MACs), then the dom0's neighbour table (C(ip -j neigh show), plain C(ip neigh show) when C(-j) is not there)
    to find each guest's address by its MAC.
  - Adds every guest (not the dom0, not the toolstack's placeholders of a migration) as a host named after the
    domain, in a group C(xen_dom0_<dom0>) per dom0 and C(xen_state_<state>) per state (C(running), C(blocked),
    C(paused), C(shutdown), C(crashed), C(dying), C(unknown)), all children of C(xen_guests).
  - Each guest gets C(ansible_host) (its IPv4 address from the neighbour table, when the dom0 knows one) and
    C(ansible_ssh_common_args) with C(-o ProxyJump=...) (see O(proxy)), so that Ansible reaches it through its dom0.
  - Further host variables are C(xen_name), C(xen_domid), C(xen_state), C(xen_memory_mib), C(xen_max_memory_mib),
    C(xen_vcpus), C(xen_type), C(xen_macs), C(xen_nics) (C(mac), C(bridge)), C(xen_addresses) (every address the
    neighbour table has for its MACs) and C(xen_dom0) (the C(name) of its dom0's entry in O(dom0s)).
  - The dom0 only knows the address of a guest it has exchanged packets with (a guest on a bridge that only talks to
    its router is not in the dom0's table). A guest without a known address gets no C(ansible_host); set one with
    O(compose) or in C(host_vars).
  - The addresses are what the guests answer to the dom0's ARP and neighbour discovery, which a guest chooses; keep SSH's
    host key checking on for the guests in production. An address that the table gives to two guests is used for
    neither (with a warning).
  - A name the toolstack reports that is not a usable guest name (whitespace, quotes, shell characters, all digits)
    is left out with a warning; MACs and addresses are checked before they are used.
  - The file must end in C(xen.yml) or C(xen.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; marks the file as its configuration.
    required: true
    type: str
    choices: [kuutorvaja.xen.xen]
  dom0s:
    description:
      - The dom0s to read, each a dict with these keys (all optional but one of C(name) and C(inventory_host)).
      - C(name) is the dom0's name in group names and C(xen_dom0); default C(inventory_host), else C(address).
      - C(inventory_host) is a host of an inventory source given before this one (C(-i hosts.yml -i lab.xen.yml))
        whose C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_ssh_private_key_file) (or
        C(ansible_private_key_file)) and C(ansible_ssh_common_args) give the defaults of the keys below. Its
        variables must be literal, not templates.
      - C(address) is the host name or IP address to connect to (default C(name)); C(port) the SSH port; C(user) the
        login user; C(private_key_file) the key; C(ssh_args) a list of further C(ssh) arguments for this dom0.
    type: list
    elements: dict
    required: true
  toolstack:
    description:
      - The dom0s' toolstack. V(xm) reads C(xm list) and C(xm list --long) (SXP) of Xen 3.x and 4.0/4.1.
    type: str
    choices: [xl, xm]
    default: xl
  sudo:
    description:
      - Run the toolstack through C(sudo -n) (a login user that is not root, with password-less sudo for it).
    type: bool
    default: false
  ssh_executable:
    description: The SSH client to run (a name looked up on E(PATH), or a path).
    type: str
    default: ssh
  ssh_args:
    description:
      - Arguments given to every C(ssh) call before each dom0's own, such as V(-o ConnectTimeout=10) as two items.
      - C(-o BatchMode=yes) is always added, so a prompt for a password or a host key fails at once instead of waiting.
    type: list
    elements: str
    default: [-o, ConnectTimeout=10]
  timeout:
    description: Seconds one C(ssh) call to a dom0 may take before it counts as failed.
    type: int
    default: 60
  proxy:
    description:
      - How the guests' C(ansible_ssh_common_args) reach the guest through its dom0.
      - V(jump) sets C(-o ProxyJump=[user@]address[:port]) of the dom0; the dom0's key and options then come from
        the SSH configuration or agent (C(ssh) does not hand C(-i) to a jump host).
      - V(command) sets C(-o ProxyCommand=...) with the very C(ssh) call this plugin uses to reach the dom0 (key,
        port, O(ssh_args) and all) and C(-W %h:%p).
      - V(none) sets no C(ansible_ssh_common_args).
    type: str
    choices: [jump, command, none]
    default: jump
  on_dom0_error:
    description:
      - What a dom0 that cannot be read (SSH fails, the toolstack fails, its output cannot be parsed) does.
      - V(fail) fails the inventory source with an error naming the dom0 (with Ansible's defaults the source is then
        skipped with a warning, so none of its dom0s' guests are listed).
      - V(warn) warns, leaves that dom0's guests out, and lists the other dom0s' guests.
      - This is not the O(strict) of O(compose), O(groups) and O(keyed_groups), which is about their templates.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - A failed C(xl list -l) or neighbour table read only warns; the guests are then listed without MACs or
    addresses.
  - Only fixed commands are sent to the dom0; no name or other text from the toolstack or a guest reaches a shell.
seealso:
  - module: kuutorvaja.xen.xen_info
"""

EXAMPLES = r"""
# lab.xen.yml: one dom0 reached as root with a key; guests get ansible_host and a ProxyJump through it.
plugin: kuutorvaja.xen.xen
dom0s:
  - name: xen1
    address: 192.0.2.10
    user: root
    private_key_file: ~/.ssh/xen1_ed25519
proxy: command

---
# site.xen.yml: two dom0s, one taken from hosts.yml (ansible-inventory -i hosts.yml -i site.xen.yml --graph),
# a group per Xen type, and only running guests in `up`; cached for an hour.
plugin: kuutorvaja.xen.xen
dom0s:
  - inventory_host: dom0-a
  - name: dom0-b
    address: dom0-b.example.org
    ssh_args: [-o, StrictHostKeyChecking=accept-new]
on_dom0_error: warn
keyed_groups:
  - key: xen_type
    prefix: xen_type
groups:
  up: xen_state == 'running'
compose:
  # Keep the ProxyJump and add options for the guests' own host keys.
  ansible_ssh_common_args: ansible_ssh_common_args ~ ' -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-xen-inventory
cache_timeout: 3600
"""

import ipaddress
import json
import os
import re
import shlex
import subprocess

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var
from ansible.utils.vars import combine_vars, load_extra_vars

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    DOM0_NAME,
    GuestError,
    name_error,
    normalize_mac,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import (
    ToolstackError,
    parse_domain_list,
    parse_xl_list_long,
)

# The remote commands, fixed strings: ssh hands them to the dom0 user's
# shell, so nothing read from a dom0 or a guest ever goes in here.
_LIST = {"xl": ["xl", "list"], "xm": ["xm", "list"]}
_LIST_LONG = {"xl": ["xl", "list", "-l"], "xm": ["xm", "list", "--long"]}
_NEIGH_JSON = ["ip", "-j", "neigh", "show"]
_NEIGH_TEXT = ["ip", "neigh", "show"]
_C_LOCALE = ["env", "LC_ALL=C", "LANG=C"]

_DOM0_KEYS = ("name", "inventory_host", "address", "port", "user", "private_key_file", "ssh_args")
# What the variables of an inventory host give: the names ansible's ssh
# connection reads, the first one set wins (Molecule writes
# ansible_private_key_file, most inventories the ansible_ssh_ one).
_HOST_VARS = (
    ("address", ("ansible_host", "ansible_ssh_host")),
    ("port", ("ansible_port", "ansible_ssh_port")),
    ("user", ("ansible_user", "ansible_ssh_user")),
    ("private_key_file", ("ansible_ssh_private_key_file", "ansible_private_key_file")),
)
# An address or user that ssh reads as such: no option, no whitespace, no
# ProxyJump separator (',') or user/port delimiters in the wrong place.
_ADDRESS_RE = re.compile(r"[A-Za-z0-9_.:%-]+")
_USER_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
# Neighbour entries without a usable link-layer address.
_NEIGH_UNUSABLE = {"FAILED", "INCOMPLETE", "NOARP"}
_NEIGH_TEXT_RE = re.compile(r"^(?P<dst>\S+) .*\blladdr (?P<lladdr>\S+)(?: router)?(?: (?P<state>[A-Z_]+))?\s*$")


class Dom0Error(Exception):
    """A dom0 could not be read; the message names it."""


def sanitize(name):
    """``name`` as a part of a group name: letters, digits and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def parse_neighbours(text):
    """``ip -j neigh show`` JSON (or plain ``ip neigh show`` text) as a list of ``(address, mac, state)``.

    Entries without a link-layer address, failed or incomplete ones,
    link-local addresses, and any whose address or MAC does not parse are
    dropped.
    """
    text = (text or "").strip()
    entries = []
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise Dom0Error("cannot parse 'ip -j neigh show' output as JSON: %s" % exc)
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            state = row.get("state") or []
            state = [s for s in state if isinstance(s, str)] if isinstance(state, list) else [str(state)]
            entries.append((row.get("dst"), row.get("lladdr"), state[0] if state else ""))
    else:
        for line in text.splitlines():
            match = _NEIGH_TEXT_RE.match(line.strip())
            if match:
                entries.append((match.group("dst"), match.group("lladdr"), match.group("state") or ""))
    result = []
    for dst, lladdr, state in entries:
        if state in _NEIGH_UNUSABLE or not isinstance(dst, str) or not isinstance(lladdr, str):
            continue
        try:
            address = ipaddress.ip_address(dst)
            mac = normalize_mac(lladdr)
        except (ValueError, GuestError):
            continue
        # A link-local address needs the dom0's interface to be reached.
        if address.is_link_local:
            continue
        result.append((str(address), mac, state))
    return result


def _address_key(entry):
    # REACHABLE before STALE/DELAY/PROBE before the rest; then by address, so
    # the choice does not depend on the order the dom0 listed them in.
    address, _mac, state = entry
    rank = {"REACHABLE": 0, "PERMANENT": 0, "STALE": 1, "DELAY": 1, "PROBE": 1}.get(state, 2)
    return (rank, ipaddress.ip_address(address).version, ipaddress.ip_address(address))


def guest_records(dom0, list_text, long_text, neigh_text):
    """The guest records of one dom0 from its ``xl list``, ``xl list -l`` and neighbour table outputs.

    Returns ``(records, warnings)``. ``long_text`` or ``neigh_text`` may be
    ``None`` (that read failed): the records then lack MACs or addresses.
    Raises :class:`ToolstackError` when ``xl list`` cannot be parsed.
    """
    warnings = []
    domains = parse_domain_list(list_text)
    details = {}
    if long_text is not None:
        try:
            details = parse_xl_list_long(long_text)
        except (ToolstackError, ValueError, TypeError, AttributeError) as exc:
            warnings.append("dom0 %s: cannot read the domains' details, listing them without MACs: %s" % (dom0, exc))
    neighbours = []
    if neigh_text is not None:
        try:
            neighbours = parse_neighbours(neigh_text)
        except Dom0Error as exc:
            warnings.append("dom0 %s: %s; listing the guests without addresses" % (dom0, exc))
    records = []
    for domain in domains:
        if domain.name == DOM0_NAME:
            continue
        error = name_error(domain.name, "domain name")
        if error:
            warnings.append("dom0 %s: left out a domain: %s" % (dom0, error))
            continue
        detail = details.get(domain.name) or {}
        nics, macs = [], []
        for nic in detail.get("nics") or []:
            try:
                mac = normalize_mac(nic.get("mac"))
            except GuestError:
                mac = None
            bridge = nic.get("bridge")
            nics.append({"mac": mac, "bridge": bridge if isinstance(bridge, str) else None})
            if mac and mac not in macs:
                macs.append(mac)
        found = sorted((n for n in neighbours if n[1] in macs), key=_address_key)
        addresses = []
        for address, _mac, _state in found:
            if address not in addresses:
                addresses.append(address)
        records.append({
            "name": domain.name,
            "domid": domain.domid,
            "state": domain.state,
            "memory_mib": domain.memory_mib,
            "max_memory_mib": detail.get("max_memory_mib"),
            "vcpus": domain.vcpus,
            "type": detail.get("type"),
            "macs": macs,
            "nics": nics,
            "addresses": addresses,
        })
    # A guest answers ARP for whatever address it likes: an address that
    # the table gives to two guests' MACs belongs to neither, for sure.
    claims = {}
    for record in records:
        for address in record["addresses"]:
            claims.setdefault(address, []).append(record["name"])
    for address, names in sorted(claims.items()):
        if len(names) > 1:
            warnings.append("dom0 %s: address %s is claimed by the MACs of %s; given to none of them" % (dom0, address, ", ".join(names)))
    for record in records:
        record["addresses"] = [a for a in record["addresses"] if len(claims[a]) == 1]
        ipv4 = [a for a in record["addresses"] if ipaddress.ip_address(a).version == 4]
        record["address"] = ipv4[0] if ipv4 else None
    return records, warnings


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """The guests of Xen dom0s, read over SSH."""

    NAME = "kuutorvaja.xen.xen"

    def verify_file(self, path):
        """Accept only files named ``*xen.yml`` / ``*xen.yaml``."""
        return super().verify_file(path) and path.endswith(("xen.yml", "xen.yaml"))

    # -- configuration ------------------------------------------------------

    def _inventory_host_vars(self, host_name, label):
        host = self.inventory.get_host(host_name)
        if host is None:
            raise AnsibleParserError(
                "%s: inventory_host %r is not in the inventory; give the source that defines it before this one "
                "(-i hosts.yml -i this.xen.yml)" % (label, host_name)
            )
        return combine_vars(get_group_vars(host.get_groups()), host.get_vars())

    def _dom0(self, entry, index):
        """One O(dom0s) entry as a checked dict: name, address, port, user, private_key_file, ssh_args."""
        label = "dom0s[%d]" % index
        if not isinstance(entry, dict):
            raise AnsibleParserError("%s must be a dict (name, address, ...), not %r" % (label, entry))
        unknown = sorted(set(entry) - set(_DOM0_KEYS))
        if unknown:
            raise AnsibleParserError("%s: unknown keys %s; known: %s" % (label, ", ".join(unknown), ", ".join(_DOM0_KEYS)))
        dom0 = {"ssh_args": []}
        if entry.get("inventory_host") is not None:
            host_vars = self._inventory_host_vars(str(entry["inventory_host"]), label)
            for key, names in _HOST_VARS:
                value = next((host_vars[n] for n in names if host_vars.get(n) is not None), None)
                if value is not None:
                    dom0[key] = value
            if host_vars.get("ansible_ssh_common_args"):
                dom0["ssh_args"] = shlex.split(str(host_vars["ansible_ssh_common_args"]))
            dom0.setdefault("address", str(entry["inventory_host"]))
            dom0["name"] = str(entry["inventory_host"])
        for key in ("name", "address", "port", "user", "private_key_file"):
            if entry.get(key) is not None:
                dom0[key] = entry[key]
        if entry.get("ssh_args") is not None:
            if not isinstance(entry["ssh_args"], list):
                raise AnsibleParserError("%s: ssh_args must be a list of strings" % label)
            dom0["ssh_args"] = dom0["ssh_args"] + [str(a) for a in entry["ssh_args"]]
        dom0.setdefault("name", dom0.get("address"))
        dom0.setdefault("address", dom0.get("name"))
        if not dom0.get("name"):
            raise AnsibleParserError("%s needs name, address or inventory_host" % label)
        for key, value in dom0.items():
            if any(isinstance(v, str) and "{{" in v for v in (value if isinstance(value, list) else [value])):
                raise AnsibleParserError("%s: %s=%r is a template; give the dom0's %s literally" % (label, key, value, key))
        dom0["name"] = str(dom0["name"])
        dom0["address"] = str(dom0["address"])
        if not _ADDRESS_RE.fullmatch(dom0["address"]) or dom0["address"].startswith("-"):
            raise AnsibleParserError("%s: address=%r is not a host name or IP address" % (label, dom0["address"]))
        if dom0.get("user") is not None:
            dom0["user"] = str(dom0["user"])
            if not _USER_RE.fullmatch(dom0["user"]):
                raise AnsibleParserError("%s: user=%r is not a login name" % (label, dom0["user"]))
        if dom0.get("port") is not None:
            try:
                dom0["port"] = int(dom0["port"])
            except (TypeError, ValueError):
                dom0["port"] = 0
            if not 0 < dom0["port"] < 65536:
                raise AnsibleParserError("%s: port=%r is not a TCP port number" % (label, entry.get("port", dom0["port"])))
        if dom0.get("private_key_file") is not None:
            dom0["private_key_file"] = os.path.expanduser(str(dom0["private_key_file"]))
        return dom0

    # -- talking to a dom0 ---------------------------------------------------

    def _ssh_argv(self, dom0):
        """The ssh call that reaches ``dom0``, up to (not including) the remote command."""
        argv = [self.get_option("ssh_executable")] + [str(a) for a in self.get_option("ssh_args") or []]
        argv += list(dom0["ssh_args"]) + ["-o", "BatchMode=yes"]
        if dom0.get("port"):
            argv += ["-p", str(dom0["port"])]
        if dom0.get("private_key_file"):
            argv += ["-i", dom0["private_key_file"]]
        if dom0.get("user"):
            argv += ["-l", dom0["user"]]
        return argv

    def _run(self, dom0, command):
        """Run the fixed ``command`` on ``dom0``; ``(rc, stdout, stderr)``. Raises :class:`Dom0Error` when ssh fails."""
        argv = self._ssh_argv(dom0) + ["--", dom0["address"]] + _C_LOCALE + command
        try:
            proc = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=self.get_option("timeout"), check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Dom0Error("dom0 %s: cannot run %s: %s" % (dom0["name"], shlex.join(argv), exc))
        # 255: ssh itself failed (no route, refused, key refused, host key).
        if proc.returncode == 255:
            raise Dom0Error(
                "dom0 %s: ssh to %s failed (rc=255): %s"
                % (dom0["name"], self._target(dom0), (proc.stderr or "").strip() or "(no output)")
            )
        return proc.returncode, proc.stdout, proc.stderr

    def _read_dom0(self, dom0):
        """The guest records of ``dom0``; warnings of the partial reads are shown."""
        toolstack = self.get_option("toolstack")
        sudo = ["sudo", "-n"] if self.get_option("sudo") else []
        rc, list_text, err = self._run(dom0, sudo + _LIST[toolstack])
        if rc != 0:
            raise Dom0Error(
                "dom0 %s: '%s' failed with rc=%s: %s"
                % (dom0["name"], " ".join(sudo + _LIST[toolstack]), rc, (err or list_text or "").strip() or "(no output)")
            )
        rc, long_text, err = self._run(dom0, sudo + _LIST_LONG[toolstack])
        if rc != 0:
            self.display.warning(
                "dom0 %s: '%s' failed with rc=%s (%s); listing its guests without MACs or addresses"
                % (dom0["name"], " ".join(_LIST_LONG[toolstack]), rc, (err or "").strip())
            )
            long_text = None
        neigh_text = None
        if long_text is not None:
            rc, neigh_text, err = self._run(dom0, _NEIGH_JSON)
            if rc != 0:
                # iproute2 before 4.13 has no -j.
                rc, neigh_text, err = self._run(dom0, _NEIGH_TEXT)
            if rc != 0:
                self.display.warning(
                    "dom0 %s: 'ip neigh show' failed with rc=%s (%s); listing its guests without addresses"
                    % (dom0["name"], rc, (err or "").strip())
                )
                neigh_text = None
        try:
            records, warnings = guest_records(dom0["name"], list_text, long_text, neigh_text)
        except ToolstackError as exc:
            raise Dom0Error("dom0 %s: %s" % (dom0["name"], exc))
        for warning in warnings:
            self.display.warning(warning)
        return records

    @staticmethod
    def _target(dom0):
        host = dom0["address"]
        if ":" in host and dom0.get("port"):
            host = "[%s]" % host
        if dom0.get("user"):
            host = "%s@%s" % (dom0["user"], host)
        if dom0.get("port"):
            host = "%s:%d" % (host, dom0["port"])
        return host

    def _proxy_args(self, dom0):
        """The guests' ``ansible_ssh_common_args`` through ``dom0``, or ``None``."""
        proxy = self.get_option("proxy")
        if proxy == "jump":
            return "-o ProxyJump=%s" % self._target(dom0)
        if proxy == "command":
            argv = self._ssh_argv(dom0) + ["-W", "%h:%p", "--", dom0["address"]]
            # ssh runs a ProxyCommand with /bin/sh and Ansible splits the
            # args with shlex: quote for both.
            return "-o %s" % shlex.quote("ProxyCommand=%s" % shlex.join(argv))
        return None

    # -- building the inventory -------------------------------------------------

    def _fetch(self):
        """Every dom0's guests as a JSON-able list (what the cache holds)."""
        dom0s = self.get_option("dom0s")
        if not isinstance(dom0s, list) or not dom0s:
            raise AnsibleParserError("dom0s must be a non-empty list of dom0s")
        checked = [self._dom0(entry, index) for index, entry in enumerate(dom0s)]
        names = [d["name"] for d in checked]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise AnsibleParserError("dom0s: the names %s are given more than once" % ", ".join(duplicates))
        results = []
        for dom0 in checked:
            try:
                guests = self._read_dom0(dom0)
            except Dom0Error as exc:
                if self.get_option("on_dom0_error") == "fail":
                    raise AnsibleParserError(
                        "%s (on_dom0_error=warn lists the other dom0s' guests without it)" % exc
                    )
                self.display.warning("%s; its guests are left out" % exc)
                continue
            results.append({"dom0": dom0["name"], "proxy_args": self._proxy_args(dom0), "guests": guests})
        return results

    def _populate(self, results):
        self.inventory.add_group("xen_guests")
        extra_vars = load_extra_vars(self.loader) if self.get_option("use_extra_vars") else {}
        seen = {}
        for entry in results:
            dom0 = entry["dom0"]
            dom0_group = self.inventory.add_group("xen_dom0_%s" % sanitize(dom0))
            self.inventory.add_child("xen_guests", dom0_group)
            for guest in entry["guests"]:
                name = guest["name"]
                if name in seen:
                    self.display.warning(
                        "guest %s is on dom0 %s and on dom0 %s; listed once, from %s" % (name, seen[name], dom0, seen[name])
                    )
                    continue
                seen[name] = dom0
                self.inventory.add_host(name, group=dom0_group)
                state_group = self.inventory.add_group("xen_state_%s" % sanitize(guest["state"]))
                self.inventory.add_child("xen_guests", state_group)
                self.inventory.add_host(name, group=state_group)
                host_vars = {
                    "xen_name": name,
                    "xen_dom0": dom0,
                    "xen_domid": guest["domid"],
                    "xen_state": guest["state"],
                    "xen_memory_mib": guest["memory_mib"],
                    "xen_max_memory_mib": guest["max_memory_mib"],
                    "xen_vcpus": guest["vcpus"],
                    "xen_type": guest["type"],
                    "xen_macs": guest["macs"],
                    "xen_nics": guest["nics"],
                    "xen_addresses": guest["addresses"],
                }
                if guest["address"]:
                    host_vars["ansible_host"] = guest["address"]
                if entry["proxy_args"]:
                    host_vars["ansible_ssh_common_args"] = entry["proxy_args"]
                # What the dom0 printed is data, never a template to render
                # (ansible-core before 2.19 would render it).
                for key, value in host_vars.items():
                    self.inventory.set_variable(name, key, wrap_var(value))
                strict = self.get_option("strict")
                variables = combine_vars(self.inventory.get_host(name).get_vars(), extra_vars)
                self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
                variables = combine_vars(self.inventory.get_host(name).get_vars(), extra_vars)
                self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        results = None
        if use_cache:
            try:
                results = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if results is None:
            results = self._fetch()
        if update_cache:
            self._cache[cache_key] = results
        self._populate(results)
