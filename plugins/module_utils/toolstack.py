# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Xen toolstack layer: the only place that runs ``xl`` or ``xm``.

Private to the kuutorvaja.xen collection: no API promise to other code.

Public interface (other module_utils and modules build on these names):

* :data:`TOOLSTACK_CHOICES` and :data:`TOOLSTACK_ARGUMENT_SPEC` - the shared
  ``toolstack: auto|xl|xm`` option (documented by the
  ``kuutorvaja.xen.toolstack`` doc fragment).
* :func:`get_toolstack` - pick ``xl`` or ``xm`` and return a :class:`Toolstack`.
* :class:`Domain` - one row of ``xl list`` / ``xm list``.
* :class:`ToolstackDaemonError`, :func:`explain_failure` - a failed command
  whose daemon (xenstored, xend) is down, named as such.
* :class:`Toolstack` - ``list_domains()`` (one command for all guests),
  ``is_running()``, ``create()``, ``shutdown()``, ``destroy()``, ``pause()``,
  ``unpause()``, ``reboot()``, ``wait_for()``, ``uptime()``, ``info()``,
  ``dmesg()``, ``domain_details()``.
* Config checks and live changes: ``dry_run()`` (the toolstack's own parse
  of a config file, creating nothing; :class:`ConfigRejected` when it
  refuses it), ``mem_set()``, ``vcpu_set()``, ``network_attach()``,
  ``block_attach()``.
* Names of domains holding their disks: ``names_with_id()``.
* Pure parsers, usable without a module: :func:`parse_domain_list`,
  :func:`parse_info`, :func:`hypervisor_facts`, :func:`parse_xl_list_long`,
  :func:`parse_xm_list_long`, :func:`parse_sxp`, :func:`parse_uptime`,
  :func:`flags_to_state`, :func:`is_not_found`.

Every command is an argv list run through
:class:`~ansible_collections.kuutorvaja.xen.plugins.module_utils.command.CommandRunner`
(``LANG=C``, never a shell); failures raise
:class:`~ansible_collections.kuutorvaja.xen.plugins.module_utils.command.CommandError`
whose message quotes the command, rc and stderr.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import (
    CommandError,
    CommandRunner,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import disk_identities
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    is_transient_name,
    normalise_disk,
    normalise_nic,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import disk_spec_details

TOOLSTACK_CHOICES = ("auto", "xl", "xm")
"""Values of the shared ``toolstack`` option."""

TOOLSTACK_ARGUMENT_SPEC = {
    "toolstack": {"type": "str", "default": "auto", "choices": list(TOOLSTACK_CHOICES)},
}
"""Argument-spec fragment every module that talks to Xen merges into its own."""

# Debian's wheezy/jessie packages chose the toolstack here (TOOLSTACK=xm|xl).
DEBIAN_TOOLSTACK_DEFAULTS = "/etc/default/xen"

STATES = ("running", "blocked", "paused", "shutdown", "crashed", "dying", "unknown")
"""Every value :attr:`Domain.state` can take."""

ALIVE_STATES = ("running", "blocked", "paused")
"""States of a domain that exists and has not shut down, crashed or started dying."""

# The State column of ``xl list``: r(unning) b(locked) p(aused) s(hutdown),
# then the shutdown reason (xl's "-rscwS" by SHUTDOWN_* code: poweroff,
# reboot, suspend, crash, watchdog, soft_reset; "?" for a code xl does not
# know), then d(ying). xm prints the same six places with "c" (crashed) or
# "-" in the fifth.
_FLAGS_RE = re.compile(r"[r-][b-][p-][s-][-rscwS?][d-]")

# (position, letters, state), first match wins. "--ps--" is a guest that has
# shut down and that the toolstack has paused while it tears it down.
_FLAG_STATES = (
    (5, "d", "dying"),
    (4, "cw", "crashed"),
    (4, "sS", "paused"),
    (3, "s", "shutdown"),
    (4, "r?", "shutdown"),
    (2, "p", "paused"),
    (0, "r", "running"),
    (1, "b", "blocked"),
)

# Messages meaning "no such domain" (xl: libxl_name_to_domid failure; xm/xend).
_NOT_FOUND_RE = re.compile(
    r"invalid domain identifier|domain not found|domain '[^']*' does not exist|no such domain",
    re.IGNORECASE,
)


@dataclass
class Domain:
    """One row of ``xl list`` / ``xm list``.

    ``domid`` is ``None`` for a domain xend manages but that is not running
    (``xm list`` prints such rows without ID and state); its state is then
    ``shutdown``.
    """

    name: str
    domid: int | None
    memory_mib: int
    vcpus: int
    state: str
    flags: str
    cpu_time: float

    @property
    def alive(self):
        """True when the domain exists and has not shut down, crashed or started dying."""
        return self.domid is not None and self.state in ALIVE_STATES

    def to_dict(self):
        """Plain dict for module results."""
        return asdict(self)


# Seconds between repeated shutdown requests while waiting. A Linux guest
# asked while it is still booting takes the request (xenstore's
# control/shutdown is cleared) but cannot act on it before its init is up,
# and the request is lost: seen live on the lab, a guest asked 10 s into
# its boot came up and ran on. Asking again is harmless to a guest that is
# already shutting down.
SHUTDOWN_RESEND = 30.0


def vif_device(domid, index=0):
    """The dom0's network device of a guest's NIC: ``vifDOMID.INDEX`` (xl and xm name it alike)."""
    return "vif%s.%d" % (domid, index)


class ToolstackError(GuestError):
    """Toolstack selection or output parsing failed; the message says why (a GuestError: every module reports it)."""


# The longest part of a toolstack's own message that goes into a module's.
MAX_TOOL_MESSAGE = 2000


class ConfigRejected(ToolstackError):
    """The toolstack's dry run refused a config file; ``message`` is its own stderr, trimmed."""

    def __init__(self, tool, message):
        ToolstackError.__init__(self, "%s rejects the config: %s" % (tool, message))
        self.tool = tool
        self.message = message


def tool_message(text, limit=MAX_TOOL_MESSAGE):
    """A CLI's stderr for a message: its progress lines (``Parsing config from``) dropped, stripped, capped."""
    lines = [line.rstrip() for line in (text or "").splitlines()
             if line.strip() and not re.match(r"(Parsing|Using) config( file)? ", line.strip())]
    message = "\n".join(lines).strip()
    return message if len(message) <= limit else message[:limit] + " [...]"


# What each CLI prints when the daemon it talks to is not there (xl: libxl
# cannot open xenstore; xm: xend's socket or HTTP server does not answer).
_DAEMON_DOWN = {
    "xl": ("xenstored", re.compile(r"cannot connect to xenstore|cannot init xl context", re.IGNORECASE)),
    "xm": ("xend", re.compile(r"unable to connect to xend|is xend running", re.IGNORECASE)),
}


class ToolstackDaemonError(CommandError):
    """The CLI is installed but its daemon (xenstored for xl, xend for xm) does not answer.

    A :class:`CommandError` (callers that catch that keep working) whose
    message names the daemon first, then quotes the command.
    """

    def __init__(self, daemon, error):
        CommandError.__init__(self, error.argv, error.rc, error.stdout, error.stderr)
        self.daemon = daemon
        self.args = (
            "%s is not running or cannot be reached (start the Xen daemons on the dom0); %s" % (daemon, error),
        )


def explain_failure(tool, error):
    """``error`` (a :class:`CommandError` of ``tool``) as a :class:`ToolstackDaemonError` when its daemon is down."""
    daemon, pattern = _DAEMON_DOWN.get(tool, (None, None))
    if pattern and (pattern.search(error.stderr or "") or pattern.search(error.stdout or "")):
        return ToolstackDaemonError(daemon, error)
    return error


# --------------------------------------------------------------------------
# Pure helpers and parsers
# --------------------------------------------------------------------------


def is_not_found(text):
    """True when a CLI error message means the domain does not exist (so: it is not running)."""
    return bool(_NOT_FOUND_RE.search(text or ""))


def flags_to_state(flags):
    """Map the six-place State column of ``xl list`` / ``xm list`` to one of :data:`STATES`.

    The places are ``r b p s``, the shutdown reason, ``d``. By precedence:

    * ``d`` (dying): ``dying``;
    * reason ``c`` (crash) or ``w`` (its watchdog fired, an involuntary
      stop like a crash): ``crashed``;
    * reason ``s`` (suspend: being saved or migrated, and resumed after a
      checkpoint) or ``S`` (soft reset: the toolstack resets it in place and
      lets it run on): ``paused``, stopped but still holding its memory and
      disks, so in-use checks count it;
    * ``s`` with reason ``-`` (poweroff), ``r`` (reboot: the toolstack
      creates it again as a new domain) or ``?`` (a reason xl does not
      know): ``shutdown``;
    * ``p``: ``paused``; ``r``: ``running``; ``b``: ``blocked``;
    * no flag set: runnable but not scheduled right now, ``running``.

    Anything that is not six places of those letters is ``unknown``.
    """
    flags = (flags or "").strip()
    if not _FLAGS_RE.fullmatch(flags):
        return "unknown"
    for position, letters, state in _FLAG_STATES:
        if flags[position] in letters:
            return state
    return "running"


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise ToolstackError("unexpected number %r in domain list" % text)


def parse_domain_list(text, include_transient=False):
    """Parse ``xl list`` / ``xm list`` output into a list of :class:`Domain`.

    Columns are ``Name ID Mem VCPUs State Time(s)``, separated by spaces or
    TABs. Names may contain spaces only in transient rows; names are taken as
    everything before the last five columns. The State column is read by
    :func:`flags_to_state`, shutdown reasons (``---sw-``, ``---sS-``,
    ``---s?-``...) included. Transient rows are dropped unless
    ``include_transient``. A row that is none of these raises
    :class:`ToolstackError` quoting it: a guest left out of the list could
    be taken for stopped.
    """
    domains = []
    for line in (text or "").splitlines():
        if not line.strip() or line.startswith("Name "):
            continue
        fields = line.split()
        if len(fields) >= 6 and _FLAGS_RE.fullmatch(fields[-2]):
            name = " ".join(fields[:-5])
            domid = _number(fields[-5], int)
            memory, vcpus, flags, cpu = fields[-4], fields[-3], fields[-2], fields[-1]
            state = flags_to_state(flags)
        elif len(fields) >= 4 and re.fullmatch(r"[0-9]+", fields[-3]) and re.fullmatch(r"[0-9]+", fields[-2]):
            # xend-managed domain that is not running: no ID, no state.
            name = " ".join(fields[:-3])
            domid = None
            memory, vcpus, flags, cpu = fields[-3], fields[-2], "", fields[-1]
            state = "shutdown"
        else:
            raise ToolstackError("cannot parse domain list line: %r" % line)
        if not include_transient and is_transient_name(name):
            continue
        domains.append(
            Domain(
                name=name,
                domid=domid,
                memory_mib=_number(memory, int),
                vcpus=_number(vcpus, int),
                state=state,
                flags=flags,
                cpu_time=_number(cpu, float),
            )
        )
    return domains


_INFO_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s?(.*)$")


def parse_info(text):
    """Parse ``xl info`` / ``xm info`` (``key : value`` lines) into a dict of strings.

    Lines that are not ``key : value`` (the topology tables of ``xl info -n``)
    are ignored; values keep their text, stripped.
    """
    info = {}
    for line in (text or "").splitlines():
        match = _INFO_RE.match(line)
        if match and match.group(1) not in info:
            info[match.group(1)] = match.group(2).strip()
    return info


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def hypervisor_facts(info, toolstack):
    """Typed hypervisor facts from a :func:`parse_info` dict.

    ``xen_version`` is built from ``xen_major``/``xen_minor``/``xen_extra``
    when the hypervisor does not print it (Xen 3.x). ``virt_caps`` comes
    from the ``virt_caps`` line, or, on Xen 3.x which lacks it, is derived
    from ``xen_caps`` (``pv`` always, ``hvm`` when an ``hvm-*`` capability
    is listed). Memory is in MiB, as the toolstack prints it.
    """
    major, minor, extra = info.get("xen_major"), info.get("xen_minor"), info.get("xen_extra", "")
    version = info.get("xen_version")
    if not version and major is not None and minor is not None:
        version = "%s.%s%s" % (major, minor, extra)
    caps = info.get("xen_caps", "").split()
    if "virt_caps" in info:
        virt_caps = info["virt_caps"].split()
    else:
        virt_caps = ["pv"] + (["hvm"] if any(c.startswith("hvm-") for c in caps) else [])
    return {
        "toolstack": toolstack,
        "version": version,
        "major": _int_or_none(major),
        "minor": _int_or_none(minor),
        "extra": extra,
        "total_memory_mib": _int_or_none(info.get("total_memory")),
        "free_memory_mib": _int_or_none(info.get("free_memory")),
        "nr_cpus": _int_or_none(info.get("nr_cpus")),
        "virt_caps": virt_caps,
        "xen_caps": caps,
        "xen_commandline": info.get("xen_commandline"),
        "scheduler": info.get("xen_scheduler"),
        "host": info.get("host"),
        "release": info.get("release"),
    }


def parse_xl_list_long(text):
    """Parse ``xl list -l`` JSON into dict name -> details.

    Details are ``{domid, memory_mib, max_memory_mib, vcpus, max_vcpus, disks, nics, type}``
    with memory from ``target_memkb``/``max_memkb`` (KiB, rounded to MiB),
    ``vcpus`` the count of vCPUs online at boot (``avail_vcpus``, else
    ``max_vcpus``), disks and nics normalised by :func:`normalise_disk` and
    :func:`normalise_nic`. Old ``xl`` builds printing SXP are handed to
    :func:`parse_xm_list_long`.
    """
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("("):
        return parse_xm_list_long(text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolstackError("cannot parse 'xl list -l' output as JSON: %s" % exc)
    if isinstance(data, dict):
        data = [data]
    result = {}
    for entry in data:
        config = entry.get("config", {})
        c_info = config.get("c_info", {})
        b_info = config.get("b_info", {})
        name = c_info.get("name")
        if not name or is_transient_name(name):
            continue
        max_vcpus = b_info.get("max_vcpus")
        avail = b_info.get("avail_vcpus")
        vcpus = len(avail) if isinstance(avail, list) and avail else max_vcpus
        target_kb = b_info.get("target_memkb", b_info.get("max_memkb"))
        max_kb = b_info.get("max_memkb")
        result[name] = {
            "domid": entry.get("domid"),
            "type": c_info.get("type"),
            "memory_mib": int(round(target_kb / 1024.0)) if target_kb is not None else None,
            "max_memory_mib": int(round(max_kb / 1024.0)) if max_kb is not None else None,
            "vcpus": vcpus,
            "max_vcpus": max_vcpus,
            "disks": [
                normalise_disk(d.get("pdev_path"), d.get("vdev"), "w" if d.get("readwrite", 1) else "r")
                for d in config.get("disks", [])
            ],
            "nics": [normalise_nic(n.get("mac"), n.get("bridge")) for n in config.get("nics", [])],
        }
    return result


_SXP_TOKEN_RE = re.compile(r"""\s*(?:(\()|(\))|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s()'"]+))""")


def parse_sxp(text):
    """Parse S-expressions (xend's SXP) into nested lists of strings; returns the list of top-level forms."""
    stack = [[]]
    pos = 0
    text = text or ""
    while pos < len(text):
        match = _SXP_TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ToolstackError("cannot parse SXP near %r" % text[pos:pos + 30])
        pos = match.end()
        opened, closed, squoted, dquoted, atom = match.groups()
        if opened:
            stack.append([])
        elif closed:
            if len(stack) < 2:
                raise ToolstackError("unbalanced ')' in SXP output")
            form = stack.pop()
            stack[-1].append(form)
        elif squoted is not None or dquoted is not None:
            stack[-1].append(squoted if squoted is not None else dquoted)
        elif atom is not None:
            stack[-1].append(atom)
    if len(stack) != 1:
        raise ToolstackError("unbalanced '(' in SXP output")
    return stack[0]


def _sxp_get(form, key, default=None):
    """Value of the first ``(key value)`` child of an SXP form."""
    for child in form[1:]:
        if isinstance(child, list) and child and child[0] == key:
            return child[1] if len(child) > 1 else default
    return default


def _sxp_children(form, key):
    return [c for c in form[1:] if isinstance(c, list) and c and c[0] == key]


def parse_xm_list_long(text):
    """Parse ``xm list --long`` SXP (one ``(domain ...)`` form per domain) into dict name -> details.

    Same shape as :func:`parse_xl_list_long`. Memory in xend's SXP is MiB.
    """
    result = {}
    for form in parse_sxp(text):
        if not isinstance(form, list) or not form or form[0] != "domain":
            continue
        name = _sxp_get(form, "name")
        if not name or is_transient_name(name):
            continue
        disks, nics = [], []
        for device in _sxp_children(form, "device"):
            for dev in device[1:]:
                if not isinstance(dev, list) or not dev:
                    continue
                if dev[0] in ("vbd", "tap", "tap2"):
                    disks.append(normalise_disk(_sxp_get(dev, "uname", ""), _sxp_get(dev, "dev", ""), _sxp_get(dev, "mode", "w")))
                elif dev[0] == "vif":
                    nics.append(normalise_nic(_sxp_get(dev, "mac"), _sxp_get(dev, "bridge")))
        domid = _int_or_none(_sxp_get(form, "domid"))
        vcpus = _int_or_none(_sxp_get(form, "online_vcpus")) or _int_or_none(_sxp_get(form, "vcpus"))
        result[name] = {
            "domid": domid,
            "type": "hvm" if any(_sxp_children(i, "hvm") for i in _sxp_children(form, "image")) else "pv",
            "memory_mib": _int_or_none(_sxp_get(form, "memory")),
            "max_memory_mib": _int_or_none(_sxp_get(form, "maxmem")),
            "vcpus": vcpus,
            "max_vcpus": _int_or_none(_sxp_get(form, "vcpus")),
            "disks": disks,
            "nics": nics,
        }
    return result


_UPTIME_RE = re.compile(r"^(?:(\d+) days?,\s*)?(\d+):(\d{2}):(\d{2})$")


def parse_uptime(text, name):
    """Seconds of uptime of ``name`` from ``xl uptime``/``xm uptime`` output, or ``None``."""
    for line in (text or "").splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[0] == name:
            match = _UPTIME_RE.match(fields[2].strip())
            if match:
                days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
                return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return None


# --------------------------------------------------------------------------
# The toolstack
# --------------------------------------------------------------------------


class Toolstack:
    """Runs one Xen CLI (``xl`` or ``xm``) through a :class:`CommandRunner`.

    ``clock`` and ``sleep`` are injectable so tests can run waits instantly.
    """

    name = None
    list_long_argv = None
    restore_paused = True

    def __init__(self, runner, clock=None, sleep=None):
        self.runner = runner
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep

    # -- helpers -----------------------------------------------------------

    def _run(self, *args, **kwargs):
        try:
            return self.runner.run([self.name] + list(args), **kwargs)
        except CommandError as exc:
            raise explain_failure(self.name, exc)

    def _fail(self, args, rc, out, err):
        """Raise the error of a failed command (naming the daemon when that is what is missing)."""
        raise explain_failure(self.name, CommandError([self.name] + list(args), rc, out, err))

    def _run_on_domain(self, *args):
        """Run a command aimed at a domain; return False when the domain does not exist, True otherwise."""
        rc, out, err = self._run(*args, check_rc=False)
        if rc == 0:
            return True
        if is_not_found(err) or is_not_found(out):
            return False
        self._fail(args, rc, out, err)

    # -- reading -------------------------------------------------------------

    def list_domains(self):
        """All domains (Domain-0 included, transient rows excluded) as dict name -> :class:`Domain`.

        Exactly one ``list`` command per call: read once, decide for many guests.
        """
        rc, out, err = self._run("list")
        try:
            return {d.name: d for d in parse_domain_list(out)}
        except ToolstackError as exc:
            raise ToolstackError("'%s list': %s" % (self.name, exc))

    def names_with_id(self, domains=None):
        """Names of the domains that have an id, in any state: their disks and configs are in use.

        A domain xend merely knows about (an ``xm list`` row without id) holds nothing open.
        """
        if domains is None:
            domains = self.list_domains()
        return {name for name, dom in domains.items() if dom.domid is not None}

    def is_running(self, name, domains=None):
        """True when ``name`` exists and is running, blocked or paused (see :data:`ALIVE_STATES`).

        Pass ``domains`` (from :meth:`list_domains`) to avoid another command.
        """
        if domains is None:
            domains = self.list_domains()
        domain = domains.get(name)
        return domain is not None and domain.alive

    def info(self):
        """``xl info`` / ``xm info`` as a dict of strings (see :func:`parse_info`)."""
        return parse_info(self._run("info")[1])

    def dmesg(self):
        """The hypervisor's message buffer (``xl dmesg`` / ``xm dmesg``)."""
        return self._run("dmesg")[1]

    def domain_details(self, name=None):
        """Configured memory, vcpus, disks and nics, as dict name -> details.

        From ``xl list -l`` / ``xm list --long``; with ``name`` only that
        domain, and ``{}`` when it does not exist.
        """
        args = list(self.list_long_argv) + ([name] if name else [])
        rc, out, err = self._run(*args, check_rc=False)
        if rc != 0:
            if name and (is_not_found(err) or is_not_found(out)):
                return {}
            self._fail(args, rc, out, err)
        details = self._parse_long(out)
        if name:
            return {k: v for k, v in details.items() if k == name}
        return details

    def _parse_long(self, text):
        raise NotImplementedError

    def disk_users(self, path):
        """Names of the live domains (dom0 aside) with a disk that is ``path``'s file or device, sorted.

        Compared by what the paths are (:func:`disk_identities`), not by
        name: another guest's image offered under any name, a hard link or
        symlink to it, or a loop device over it, is found. One long listing
        (``xl list -l``) of every domain.
        """
        wanted = disk_identities(path)
        if not wanted:
            return []
        users = []
        for name, details in self.domain_details().items():
            if details.get("domid") in (0, None):
                continue
            if any(disk_identities(disk["target"]) & wanted for disk in details.get("disks") or []):
                users.append(name)
        return sorted(users)

    def uptime(self, name):
        """Seconds since ``name`` started, or ``None`` when it is not running or the tool cannot say."""
        rc, out, err = self._run("uptime", name, check_rc=False)
        if rc != 0:
            return None
        return parse_uptime(out, name)

    # -- config checks -----------------------------------------------------------

    dry_run_args = None

    def dry_run(self, path):
        """Have the toolstack read the config file ``path`` as ``create`` would, creating nothing.

        Returns ``(stdout, warnings)``: what it printed (xl: the domain
        config as libxl JSON; xm: SXP) and its complaints on stderr that did
        not stop it (xl goes on past an unknown vif key). Raises
        :class:`ConfigRejected` quoting its stderr when it refuses the file,
        or :class:`ToolstackDaemonError` when its daemon does not answer.
        """
        args = list(self.dry_run_args) + [path]
        rc, out, err = self._run(*args, check_rc=False)
        if rc != 0:
            failure = explain_failure(self.name, CommandError([self.name] + args, rc, out, err))
            if isinstance(failure, ToolstackDaemonError):
                raise failure
            raise ConfigRejected(self.name, tool_message(err) or tool_message(out) or "exit status %s, no message" % rc)
        return out, tool_message(err)

    # -- live changes of a running domain -----------------------------------------

    def mem_set(self, name, mib):
        """Set the balloon target of ``name`` to ``mib`` MiB (up to the maxmem it was started with)."""
        self._run("mem-set", name, self.mem_arg(mib))

    @staticmethod
    def mem_arg(mib):
        """``mem-set``'s size argument for ``mib`` MiB."""
        return "%dm" % mib

    def vcpu_set(self, name, count):
        """Bring ``name``'s online vCPUs to ``count`` (up to the maxvcpus it was started with)."""
        self._run("vcpu-set", name, str(count))

    def network_attach(self, name, spec):
        """Hot-plug a NIC into ``name``: ``spec`` is a config ``vif`` entry (``mac=...,bridge=...``)."""
        self._run(*self.network_attach_argv(name, spec))

    @staticmethod
    def network_attach_argv(name, spec):
        """The arguments of ``network-attach`` for a ``vif`` entry: one ``key=value`` each."""
        return ["network-attach", name] + [part.strip() for part in str(spec).split(",") if part.strip()]

    def block_attach(self, name, spec):
        """Hot-plug a disk into ``name``: ``spec`` is a config ``disk`` entry."""
        self._run(*self.block_attach_argv(name, spec))

    def block_attach_argv(self, name, spec):
        """The arguments of ``block-attach`` for a ``disk`` entry (xl takes the entry as it is)."""
        return ["block-attach", name, str(spec)]

    # -- acting ----------------------------------------------------------------

    def create(self, config, paused=False):
        """Start a domain from the config file ``config`` (``create -p`` when ``paused``)."""
        args = ["create"] + (["-p"] if paused else []) + [config]
        self._run(*args)

    def shutdown(self, name, wait=True, timeout=300, interval=1.0, resend=SHUTDOWN_RESEND):
        """Ask ``name`` to shut down cleanly.

        Returns True when the domain is gone (or never existed), False when
        ``wait`` and it is still there after ``timeout`` seconds, and None
        when not waiting. Waiting polls :meth:`list_domains` (one ``list`` per
        poll); a row in state ``shutdown`` (``--ps--``) still counts as there.
        While waiting, a domain still running after ``resend`` seconds is
        asked again (see :data:`SHUTDOWN_RESEND`).
        """
        if not self._run_on_domain("shutdown", name):
            return True
        if not wait:
            return None
        deadline = self.clock() + timeout
        ask_again = self.clock() + resend
        while True:
            domain = self.list_domains().get(name)
            if domain is None:
                return True
            now = self.clock()
            if now >= deadline:
                return False
            if resend and now >= ask_again and domain.state in ("running", "blocked"):
                if not self._run_on_domain("shutdown", name):
                    return True
                ask_again = now + resend
            self.sleep(interval)

    def destroy(self, name):
        """Stop ``name`` at once; returns False when it did not exist."""
        return self._run_on_domain("destroy", name)

    def save(self, name, path):
        """Write ``name``'s memory and state to ``path``; the domain is gone afterwards (``save``)."""
        self._run("save", name, path)

    def restore(self, path, paused=False):
        """Bring a domain back from the save file ``path`` (``restore -p`` when ``paused``)."""
        self._run(*(["restore"] + (["-p"] if paused else []) + [path]))

    def pause(self, name):
        """Pause ``name``; returns False when it did not exist."""
        return self._run_on_domain("pause", name)

    def unpause(self, name):
        """Unpause ``name``; returns False when it did not exist."""
        return self._run_on_domain("unpause", name)

    def reboot(self, name):
        """Ask ``name`` to reboot (does not wait); returns False when it did not exist."""
        return self._run_on_domain("reboot", name)

    def restart_settled(self, name, domid):
        """Whether the toolstack has finished re-creating ``name`` as ``domid`` after a reboot.

        Only asked about a new domain that is still paused: xend unpauses what
        it restarts, so for xm a listed domain is settled.
        """
        return True

    # Where the dom0's kernel shows the guests' vif back ends (tests point it elsewhere).
    net_dir = "/sys/class/net"

    def vif_rx_packets(self, domid, index=0):
        """Packets the dom0 has received from the guest on its vif ``vifDOMID.INDEX``; None when there is no such vif."""
        path = os.path.join(self.net_dir, vif_device(domid, index), "statistics", "rx_packets")
        try:
            with open(path) as handle:
                return int(handle.read().strip() or 0)
        except (IOError, OSError, ValueError):
            return None

    def wait_network(self, name, domid, timeout, interval=1.0, recheck=5.0):
        """Wait until the guest ``name`` (domain ``domid``) has sent its first packet on its first vif.

        A started domain is not yet a booted guest: its first packet (DHCP, or
        the neighbour solicitation of a static address) shows that its init
        brought the network up. Every ``recheck`` seconds the domain list is
        read again, so a guest that crashes or goes away ends the wait at once.
        Returns ``(outcome, seconds)``; outcome is ``ready``, ``timeout``,
        ``gone`` (no longer alive as ``domid``) or ``no-vif``. The caller has
        just read the list (that is where ``domid`` comes from): the first
        re-read is due after ``recheck`` seconds, or at once with no vif.
        """
        start = self.clock()
        deadline = start + timeout
        next_check = start + recheck
        while True:
            now = self.clock()
            packets = self.vif_rx_packets(domid)
            # A vif that is missing, or vanished, may mean the guest crashed
            # and its domain is being torn down: the list says which.
            if now >= next_check or packets is None:
                domain = self.list_domains().get(name)
                if domain is None or domain.domid != domid or not domain.alive:
                    return "gone", now - start
                next_check = now + recheck
            if packets is None:
                return "no-vif", now - start
            if packets > 0:
                return "ready", now - start
            if now >= deadline:
                return "timeout", now - start
            self.sleep(interval)

    def wait_for(self, name, condition, timeout, interval=1.0):
        """Poll :meth:`list_domains` until ``condition(domain_or_None)`` holds or ``timeout`` seconds pass.

        Returns ``(ok, domain_or_None)`` from the last poll.
        """
        deadline = self.clock() + timeout
        while True:
            domain = self.list_domains().get(name)
            if condition(domain):
                return True, domain
            if self.clock() >= deadline:
                return False, domain
            self.sleep(interval)


class XlToolstack(Toolstack):
    """``xl`` (libxl), the toolstack of Xen 4.2 and later."""

    name = "xl"
    list_long_argv = ("list", "-l")
    # -N: parse, print the domain config as JSON, create nothing.
    dry_run_args = ("-N", "create")
    log_dir = "/var/log/xen"

    def restart_settled(self, name, domid):
        """xl re-creates a rebooting guest with the options of its first ``xl create``: one started with
        ``-p`` comes back paused, and stays so. The new domain is built paused either way; xl's per-guest
        log says "Waiting for domain NAME (domid N) to die" once it has finished (and unpaused, or not).
        """
        marker = "Waiting for domain %s (domid %s) to die" % (name, domid)
        try:
            with open(os.path.join(self.log_dir, "xl-%s.log" % name), encoding="utf-8", errors="replace") as log:
                return any(marker in line for line in log)
        except (IOError, OSError):
            return False

    def _parse_long(self, text):
        return parse_xl_list_long(text)


class XmToolstack(Toolstack):
    """``xm`` (xend), the toolstack of Xen 3.x and 4.0/4.1 as in the guide."""

    name = "xm"
    list_long_argv = ("list", "--long")
    dry_run_args = ("create", "--dryrun")
    # ``xm restore`` of Xen 3.x has no ``-p``: xen_domain restores, then pauses by name.
    restore_paused = False

    def _parse_long(self, text):
        return parse_xm_list_long(text)

    @staticmethod
    def mem_arg(mib):
        """xm's ``mem-set`` takes MiB without a unit."""
        return str(mib)

    def block_attach_argv(self, name, spec):
        """xm's ``block-attach`` takes the back end, front end and mode apart (``file:/x.img xvdb w``)."""
        details = disk_spec_details(spec)
        if details["problems"] or not details["target"]:
            raise ToolstackError("xm block-attach cannot take the disk %r" % str(spec))
        prefixes = details["prefixes"] or (["phy"] if details["target"].startswith("/dev/") else ["file"])
        backend = "".join(p + ":" for p in prefixes) + details["target"]
        vdev = details["vdev"] + (":cdrom" if details["cdrom"] and ":" not in details["vdev"] else "")
        return ["block-attach", name, backend, vdev, details["access"]]


TOOLSTACKS = {"xl": XlToolstack, "xm": XmToolstack}


def _debian_default_toolstack(path=None):
    """The ``TOOLSTACK=`` choice of Debian's /etc/default/xen, if any."""
    path = path or DEBIAN_TOOLSTACK_DEFAULTS
    try:
        with open(path) as handle:
            for line in handle:
                match = re.match(r"^\s*TOOLSTACK\s*=\s*[\"']?(xl|xm)[\"']?\s*(?:#.*)?$", line)
                if match:
                    return match.group(1)
    except (IOError, OSError):
        pass
    return None


def detect_toolstack(runner, defaults_path=None):
    """Name of the toolstack to use on this host, or None when neither ``xl`` nor ``xm`` is installed.

    Order: the ``TOOLSTACK=`` of /etc/default/xen when that tool is installed
    (Debian hosts that carry both, Xen 4.0-4.4), then ``xl``, then ``xm``.
    """
    chosen = _debian_default_toolstack(defaults_path)
    if chosen and runner.which(chosen, required=False):
        return chosen
    for candidate in ("xl", "xm"):
        if runner.which(candidate, required=False):
            return candidate
    return None


def get_toolstack(module, runner=None, preference="auto", clock=None, sleep=None):
    """Return the :class:`Toolstack` for this host.

    ``preference`` is the ``toolstack`` option: ``xl`` or ``xm`` forces that
    tool (failing the module when it is not installed); ``auto`` uses
    :func:`detect_toolstack`.
    """
    runner = runner or CommandRunner(module)
    if preference not in TOOLSTACK_CHOICES:
        module.fail_json(msg="toolstack must be one of %s, got %r" % (", ".join(TOOLSTACK_CHOICES), preference))
    if preference == "auto":
        name = detect_toolstack(runner)
        if name is None:
            module.fail_json(
                msg="neither 'xl' nor 'xm' was found on the host: is this a Xen dom0 with the Xen utilities installed?"
            )
    else:
        name = preference
        runner.which(name)
    return TOOLSTACKS[name](runner, clock=clock, sleep=sleep)
