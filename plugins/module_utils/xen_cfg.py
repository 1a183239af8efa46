# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render and parse Xen guest configuration files (the ``KEY = VALUE`` syntax of xl.cfg / xm).

Private to the kuutorvaja.xen collection: no API promise to other code.

The single implementation behind the ``kuutorvaja.xen.to_xen_cfg`` and
``from_xen_cfg`` filters and the modules:

* :func:`render_xen_cfg` turns a dict into config text in the seed's style:
  strings quoted, integers bare, lists as ``[ 'a', 'b' ]``.
* :func:`parse_xen_cfg` reads such text back into a dict (strings stay
  strings, so ``memory = '1024'`` parses to ``'1024'``).
* :func:`normalise_guest_config` extracts what a running domain can be
  compared against: memory, vcpus, disks, vifs.

"Equal to the seed" is defined in two steps (and tested so):

1. semantic: ``parse_xen_cfg(seed) == parse_xen_cfg(render_xen_cfg(parse_xen_cfg(seed)))``;
2. canonical: with the seed's key order and ``align=True`` the rendering is
   byte-equal to a canonical file that differs from the seed only in
   whitespace outside strings and in the quote character.

Only the declarative subset shared by xl and xm is accepted: no Python
expressions, no nested lists, no floats.
"""

from __future__ import annotations

import re

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import normalise_disk, normalise_nic


class XenCfgError(ValueError):
    """The config (or the dict to render) is outside the supported syntax; the message says where."""


_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Characters a quoted value may not hold: no escape sequence means the same in xl and in xm's Python.
_FORBIDDEN_IN_STRING = re.compile(r"[\\\x00-\x1f\x7f]")


def _render_scalar(value, key):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _FORBIDDEN_IN_STRING.search(value):
            raise XenCfgError("value of %r contains a backslash or control character, which Xen configs cannot hold portably" % key)
        if "'" not in value:
            return "'%s'" % value
        if '"' not in value:
            return '"%s"' % value
        raise XenCfgError("value of %r contains both quote characters; Xen configs cannot hold it" % key)
    raise XenCfgError(
        "value of %r has type %s; use a string, an integer, a boolean or a list of those" % (key, type(value).__name__)
    )


def render_value(value, key="value", indent=0, multiline_lists=True):
    """Render one value; a list of two or more items goes one per line, aligned under the first when ``multiline_lists``."""
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, (list, tuple, dict)):
                raise XenCfgError("value of %r holds a nested %s; Xen configs take lists of strings or integers" % (key, type(item).__name__))
            items.append(_render_scalar(item, key))
        if not items:
            return "[ ]"
        separator = ",\n" + " " * (indent + 2) if multiline_lists else ", "
        return "[ " + separator.join(items) + " ]"
    return _render_scalar(value, key)


def render_xen_cfg(settings, key_order=None, align=True, multiline_lists=True):
    """Render ``settings`` (dict) as a Xen guest config, one ``key = value`` per line, ending in a newline.

    ``key_order`` lists keys to put first, in that order; the others follow
    in the dict's order. Keys whose value is ``None`` are left out, so
    optional settings can be passed through templates. ``align`` pads keys
    to a common width (``name    = ...``); ``multiline_lists`` puts list
    items one per line aligned under the first. Booleans become ``1``/``0``.
    Raises :class:`XenCfgError` for keys or values Xen cannot read.
    """
    if not isinstance(settings, dict):
        raise XenCfgError("Xen config settings must be a dict, got %s" % type(settings).__name__)
    order = [k for k in (key_order or []) if k in settings]
    order += [k for k in settings if k not in order]
    pairs = []
    for key in order:
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise XenCfgError("%r is not a valid Xen config key (letters, digits and '_', not starting with a digit)" % (key,))
        if settings[key] is None:
            continue
        pairs.append((key, settings[key]))
    width = max((len(k) for k, v in pairs), default=0) if align else 0
    lines = []
    for key, value in pairs:
        head = "%s = " % key.ljust(width)
        lines.append(head + render_value(value, key, indent=len(head), multiline_lists=multiline_lists))
    return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f]+)
  | (?P<comment>\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<number>0[xX][0-9a-fA-F]+|\d+)(?![A-Za-z0-9_.])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[=\[\],;])
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


def _unquote(token):
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def _tokenize(text):
    pos, line = 0, 1
    tokens = []
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            snippet = text[pos:].split("\n", 1)[0][:40]
            raise XenCfgError("line %d: unsupported syntax at %r (only KEY = 'string' | number | [ list ] is understood)" % (line, snippet))
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "newline":
            tokens.append(("newline", value, line))
            line += 1
        elif kind not in ("ws", "comment"):
            tokens.append((kind, value, line))
        pos = match.end()
    tokens.append(("eof", "", line))
    return tokens


def _scalar(token):
    kind, value, line = token
    if kind == "string":
        return _unquote(value)
    if kind == "number":
        return int(value, 0)
    raise XenCfgError("line %d: expected a string or a number, found %r" % (line, value))


def parse_xen_cfg(text):
    """Parse Xen guest config text into a dict (insertion order = file order).

    Understands comments, single and double quotes, decimal and hex
    integers, lists over several lines with an optional trailing comma, and
    ``;`` or newlines between settings. A key set twice keeps the last value
    (as xl does). Raises :class:`XenCfgError` naming the line for anything
    else (such as Python expressions in old xm configs).
    """
    tokens = _tokenize(text or "")
    result = {}
    i = 0

    def skip_newlines(j):
        while tokens[j][0] == "newline":
            j += 1
        return j

    while True:
        while tokens[i][0] == "newline" or tokens[i][1] == ";":
            i += 1
        kind, value, line = tokens[i]
        if kind == "eof":
            return result
        if kind != "ident":
            raise XenCfgError("line %d: expected a setting name, found %r" % (line, value))
        key = value
        i += 1
        if tokens[i][1] != "=":
            raise XenCfgError("line %d: expected '=' after %r" % (line, key))
        i += 1
        if tokens[i][1] == "[":
            i += 1
            items = []
            while True:
                i = skip_newlines(i)
                if tokens[i][1] == "]":
                    i += 1
                    break
                if tokens[i][0] == "eof":
                    raise XenCfgError("line %d: list of %r is not closed with ']'" % (line, key))
                items.append(_scalar(tokens[i]))
                i = skip_newlines(i + 1)
                if tokens[i][1] == ",":
                    i += 1
                elif tokens[i][0] == "eof":
                    raise XenCfgError("line %d: list of %r is not closed with ']'" % (line, key))
                elif tokens[i][1] != "]":
                    raise XenCfgError("line %d: expected ',' or ']' in list of %r, found %r" % (tokens[i][2], key, tokens[i][1]))
            result[key] = items
        else:
            result[key] = _scalar(tokens[i])
            i += 1
        if tokens[i][0] not in ("newline", "eof") and tokens[i][1] != ";":
            raise XenCfgError("line %d: unexpected %r after the value of %r" % (tokens[i][2], tokens[i][1], key))


# --------------------------------------------------------------------------
# Normalisation for comparing with a running domain
# --------------------------------------------------------------------------


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def parse_disk_spec(spec):
    """Normalise one ``disk`` entry (positional ``target,vdev,mode[,devtype]`` or ``key=value`` form)."""
    parts = [p.strip() for p in str(spec).split(",")]
    if any("=" in p for p in parts):
        fields = {}
        positional = []
        for part in parts:
            if "=" in part:
                k, v = part.split("=", 1)
                fields[k.strip()] = v.strip()
            elif part:
                positional.append(part)
        target = fields.get("target", positional[-1] if positional else "")
        return normalise_disk(target, fields.get("vdev", ""), fields.get("access", fields.get("mode", "w")))
    while len(parts) < 3:
        parts.append("")
    return normalise_disk(parts[0], parts[1], parts[2] or "w")


def parse_vif_spec(spec):
    """Normalise one ``vif`` entry (``mac=..., bridge=..., type=...``) to ``{mac, bridge}``."""
    fields = {}
    for part in str(spec).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            fields[k.strip()] = v.strip()
    return normalise_nic(fields.get("mac"), fields.get("bridge"))


def normalise_guest_config(settings):
    """What a running domain can be compared against: ``{memory_mib, vcpus, disks, nics}``.

    ``memory``/``vcpus`` may be strings (the seed writes ``memory = '1024'``);
    missing ones are ``None`` (not compared).
    """

    def integer(key):
        value = settings.get(key)
        if value is None:
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            raise XenCfgError("%r is %r, not an integer" % (key, value))

    return {
        "memory_mib": integer("memory"),
        "vcpus": integer("vcpus"),
        "disks": [parse_disk_spec(d) for d in _as_list(settings.get("disk"))],
        "nics": [parse_vif_spec(v) for v in _as_list(settings.get("vif"))],
    }


def config_differences(wanted, running):
    """Human-readable differences between a normalised config and a running domain's details.

    Only what the config states is compared: a vif without ``mac`` or
    ``bridge`` matches any, and Xen's own default vcpus/memory are not
    guessed. Returns a list of strings, empty when they agree.
    """
    reasons = []
    for key, label, unit in (("memory_mib", "memory", " MiB"), ("vcpus", "vcpus", "")):
        if wanted.get(key) is not None and running.get(key) is not None and wanted[key] != running[key]:
            reasons.append("%s: running %s%s, config %s%s" % (label, running[key], unit, wanted[key], unit))

    def disk_key(disk):
        return (disk["vdev"], disk["target"], disk["mode"])

    want_disks = sorted(disk_key(d) for d in wanted.get("disks", []))
    have_disks = sorted(disk_key(d) for d in running.get("disks", []))
    if want_disks != have_disks:
        reasons.append(
            "disks: running %s, config %s"
            % (", ".join("%s=%s(%s)" % d for d in have_disks) or "none", ", ".join("%s=%s(%s)" % d for d in want_disks) or "none")
        )
    want_nics = wanted.get("nics", [])
    have_nics = running.get("nics", [])
    if len(want_nics) != len(have_nics):
        reasons.append("vifs: running %d, config %d" % (len(have_nics), len(want_nics)))
    else:
        for index, (want, have) in enumerate(zip(want_nics, have_nics)):
            for field in ("mac", "bridge"):
                if want.get(field) and want[field] != have.get(field):
                    reasons.append("vif %d %s: running %s, config %s" % (index, field, have.get(field), want[field]))
    return reasons
