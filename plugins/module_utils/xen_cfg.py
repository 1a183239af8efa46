# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render and parse Xen guest configuration files (the ``KEY = VALUE`` syntax of xl.cfg / xm).

Private to the kuutorvaja.xen collection: no API promise to other code.

The single implementation behind the ``kuutorvaja.xen.to_xen_cfg`` and
``from_xen_cfg`` filters and the modules:

* :func:`render_xen_cfg` turns a dict into config text in the guide's style:
  strings quoted, integers bare, lists as ``[ 'a', 'b' ]``.
* :func:`parse_xen_cfg` reads such text back into a dict (strings stay
  strings, so ``memory = '1024'`` parses to ``'1024'``).
* :func:`parse_disk_spec` reads one ``disk`` entry as
  ``xl-disk-configuration(5)`` says, :func:`parse_vif_spec` one ``vif``;
  :func:`disk_spec_details` gives all a disk entry holds, for rewriting it.
* :func:`xl_integer` reads a number setting (also a string one) as xl does.
* :func:`normalise_guest_config` extracts what a running domain can be
  compared against: memory, vcpus, disks, vifs.

"Equal to the guide" is defined in two steps (and tested so):

1. semantic: ``parse_xen_cfg(guide) == parse_xen_cfg(render_xen_cfg(parse_xen_cfg(guide)))``;
2. canonical: with the guide's key order and ``align=True`` the rendering is
   byte-equal to a canonical file that differs from the guide only in
   whitespace outside strings and in the quote character.

The syntax read is xl's (libxlu): strings in either quote with xl's
backslash escapes, numbers in decimal, ``0x`` hex or octal with a leading
``0``, lists nested to any depth, ``;`` or newlines between settings and
``+=`` to extend a setting. What is rendered is the subset xl and xm's
Python read alike, and ``parse_xen_cfg(render_xen_cfg(x)) == x`` for every
``x`` that renders (booleans come back as ``1``/``0``, tuples as lists).
No Python expressions, no floats, no negative numbers.
"""

from __future__ import annotations

import re
import unicodedata

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import normalise_disk, normalise_nic


class XenCfgError(ValueError):
    """The config (or the dict to render) is outside the supported syntax; the message says where."""


_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Unicode categories a rendered string may not hold: control characters
# (a raw newline ends the value for xl; \v, \f, \x1c-\x1e and \x85 split
# lines for Python's splitlines), line and paragraph separators (U+2028,
# U+2029: a reader splitting lines sees the value cut in two, and the file
# never compares equal), and lone surrogates (not writable as UTF-8).
_UNWRITABLE_CATEGORIES = {"Cc": "control character", "Zl": "line separator", "Zp": "paragraph separator",
                          "Cs": "lone surrogate"}


def _check_writable(value, key):
    """Raise :class:`XenCfgError` when string ``value`` cannot be written so xl and xm read it back unchanged."""
    for char in value:
        what = _UNWRITABLE_CATEGORIES.get(unicodedata.category(char))
        if what:
            raise XenCfgError(
                "value of %r contains a %s (U+%04X); Xen configs hold one line per value, "
                "and only '\\n' separates lines" % (key, what, ord(char))
            )
    if value.endswith("\\"):
        raise XenCfgError(
            "value of %r ends in a backslash; a reader that does not unescape (xendomains, grep, older tools) "
            "would take it as escaping the closing quote" % (key,)
        )


def _render_scalar(value, key):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if value < 0:
            raise XenCfgError("value of %r is negative (%d); xl reads no signed numbers" % (key, value))
        return str(value)
    if isinstance(value, str):
        _check_writable(value, key)
        body = value.replace("\\", "\\\\")
        if "'" not in value:
            return "'%s'" % body
        if '"' not in value:
            return '"%s"' % body
        # Both quotes: escape the one used; xl and Python read \' alike.
        return "'%s'" % body.replace("'", "\\'")
    raise XenCfgError(
        "value of %r has type %s; use a string, an integer, a boolean or a list of those" % (key, type(value).__name__)
    )


def render_value(value, key="value", indent=0, multiline_lists=True):
    """Render one value; a list of two or more items goes one per line, aligned under the first when ``multiline_lists``.

    Lists inside lists (``vnuma``) are written on one line each.
    """
    if isinstance(value, (list, tuple)):
        items = [render_value(item, key, multiline_lists=False) if isinstance(item, (list, tuple))
                 else _render_scalar(item, key) for item in value]
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
    items one per line aligned under the first. Booleans become ``1``/``0``;
    backslashes and, when a string holds both quote characters, the quote
    are escaped. Raises :class:`XenCfgError` for keys or values Xen cannot
    read back unchanged (see :func:`_check_writable`).
    """
    if not isinstance(settings, dict):
        raise XenCfgError("Xen config settings must be a dict, got %s" % type(settings).__name__)
    order = [k for k in (key_order or []) if k in settings]
    order += [k for k in settings if k not in order]
    pairs = []
    for key in order:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
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

# A number token is taken whole (xl's lexer takes [0-9][0-9a-fx]*) and then
# read as strtol(..., 0) does, so "08" or "1.5" is an error, not two tokens.
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f]+)
  | (?P<comment>\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<number>[0-9][0-9A-Za-z_.]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\+=|[=\[\],;])
    """,
    re.VERBOSE,
)

_NUMBER_RE = re.compile(r"0[xX](?P<hex>[0-9a-fA-F]+)|0(?P<oct>[0-7]+)|(?P<dec>0|[1-9][0-9]*)")

# xl's escapes (libxlu's dequote); Python reads the same ones the same way.
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _number(text, line):
    """Read a number token as xl does (strtol with base 0): decimal, ``0x`` hex, or octal with a leading ``0``."""
    match = _NUMBER_RE.fullmatch(text)
    if not match:
        raise XenCfgError(
            "line %d: %r is not a number xl can read (decimal, 0x... hex, or octal with a leading 0)" % (line, text)
        )
    if match.group("hex") is not None:
        return int(match.group("hex"), 16)
    if match.group("oct") is not None:
        return int(match.group("oct"), 8)
    return int(match.group("dec"))


def _unquote(token, line):
    """The value of a quoted string token, with xl's escapes decoded."""
    out = []
    body = token[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        escaped = body[i + 1]
        if escaped in _ESCAPES:
            out.append(_ESCAPES[escaped])
        elif escaped in "x01234567":
            # libxlu checks these and then drops them from the value; xm's Python decodes them.
            raise XenCfgError(
                "line %d: numeric escape '\\%s' in %s: xl and xm read it differently; write the character itself"
                % (line, escaped, token)
            )
        else:
            raise XenCfgError("line %d: xl refuses the escape '\\%s' in %s (write '\\\\' for a backslash)" % (line, escaped, token))
        i += 2
    return "".join(out)


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
        return _unquote(value, line)
    if kind == "number":
        return _number(value, line)
    raise XenCfgError("line %d: expected a string or a number, found %r" % (line, value))


class _Parser:
    """Recursive-descent reader over :func:`_tokenize`'s tokens."""

    def __init__(self, text):
        self.tokens = _tokenize(text or "")
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def skip_newlines(self):
        while self.tokens[self.i][0] == "newline":
            self.i += 1

    def value(self, key):
        """A string, a number or a list (lists may nest and span lines, with an optional trailing comma)."""
        start = self.peek()
        if start[1] != "[":
            self.i += 1
            return _scalar(start)
        self.i += 1
        items = []
        while True:
            self.skip_newlines()
            kind, value, line = self.peek()
            if value == "]":
                self.i += 1
                return items
            if kind == "eof":
                raise XenCfgError("line %d: list of %r is not closed with ']'" % (start[2], key))
            items.append(self.value(key))
            self.skip_newlines()
            kind, value, line = self.peek()
            if value == ",":
                self.i += 1
            elif kind == "eof":
                raise XenCfgError("line %d: list of %r is not closed with ']'" % (start[2], key))
            elif value != "]":
                raise XenCfgError("line %d: expected ',' or ']' in list of %r, found %r" % (line, key, value))


def _extend(previous, value, key, line):
    """``key += value`` as libxlu does it: strings and lists concatenate; numbers cannot be added to."""
    if isinstance(previous, list) and isinstance(value, list):
        return previous + value
    if isinstance(previous, str) and isinstance(value, str):
        return previous + value
    if isinstance(previous, int) or isinstance(value, int):
        raise XenCfgError("line %d: xl cannot use += with numbers (%r)" % (line, key))
    raise XenCfgError("line %d: cannot add a list to a string or a string to a list (%r)" % (line, key))


def parse_xen_cfg(text):
    """Parse Xen guest config text into a dict (insertion order = file order).

    Understands comments, single and double quotes with xl's backslash
    escapes, integers in decimal, ``0x`` hex and octal with a leading ``0``
    (``memory = 0400`` is 256), lists (also nested, such as ``vnuma``) over
    several lines with an optional trailing comma, ``;`` or newlines between
    settings, and ``key += value``. A key set twice keeps the last value
    (as xl does). Raises :class:`XenCfgError` naming the line for anything
    else (such as Python expressions in old xm configs, or an escape or a
    number xl would refuse).
    """
    parser = _Parser(text)
    tokens = parser.tokens
    result = {}
    while True:
        while tokens[parser.i][0] == "newline" or tokens[parser.i][1] == ";":
            parser.i += 1
        kind, value, line = parser.peek()
        if kind == "eof":
            return result
        if kind != "ident":
            raise XenCfgError("line %d: expected a setting name, found %r" % (line, value))
        key = value
        parser.i += 1
        operator = parser.peek()[1]
        if operator not in ("=", "+="):
            raise XenCfgError("line %d: expected '=' after %r" % (line, key))
        parser.i += 1
        parsed = parser.value(key)
        if operator == "+=" and key in result:
            parsed = _extend(result[key], parsed, key, line)
        result[key] = parsed
        kind, value, after = parser.peek()
        if kind not in ("newline", "eof") and value != ";":
            raise XenCfgError("line %d: unexpected %r after the value of %r" % (after, value, key))


# --------------------------------------------------------------------------
# Normalisation for comparing with a running domain
# --------------------------------------------------------------------------


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _device_entries(value):
    """The entries of a ``disk``/``vif`` list as xl takes them: up to the first one that is not a string.

    xl stores numbers as strings, so an unquoted number counts; it stops at
    a nested list (``xlu_cfg_get_listitem`` returns nothing for one).
    """
    entries = []
    for entry in _as_list(value):
        if isinstance(entry, (list, tuple, dict)):
            break
        entries.append(entry)
    return entries


# xl-disk-configuration(5): bare flags, keys, accepted values, deprecated prefixes.
_DISK_FLAGS = frozenset(("cdrom", "direct-io-safe", "discard", "no-discard", "colo", "no-colo", "trusted", "untrusted"))
_DISK_KEYS = frozenset((
    "format", "devtype", "access", "backend", "backendtype", "specification", "vdev", "script",
    "colo-host", "colo-port", "colo-export", "active-disk", "hidden-disk", "grant_usage",
))
_DISK_FORMATS = frozenset(("", "raw", "qcow", "qcow2", "vhd", "empty", "qed"))
_DISK_BACKENDTYPES = frozenset(("", "phy", "tap", "qdisk", "standalone"))
_DISK_ACCESS = {"": "w", "w": "w", "rw": "w", "r": "r", "ro": "r"}
_FORMAT_PREFIXES = frozenset(("raw", "qcow", "qcow2", "vhd"))
_SCRIPT_PREFIXES = frozenset(("iscsi", "nbd", "enbd", "drbd"))
_IGNORED_PREFIXES = frozenset(("tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy"))
_PREFIX_RE = re.compile(r"([a-z][a-z0-9]*):")


class _DiskSpec:
    """One ``disk`` entry read as libxlu reads it; ``problems`` lists what xl would refuse."""

    def __init__(self):
        # target, format, vdev, access: filled in this order by positional(), or by keyword.
        self.target = self.format = self.vdev = self.access = None
        self.cdrom = self.had_prefix = False
        self.prefixes = []
        self.problems = []

    def set_once(self, field, value):
        current = getattr(self, field)
        if current:  # an empty value may be given again (``,,hdc`` then ``target=``)
            self.problems.append("%s respecified (%r after %r)" % (field, value, current))
            return
        setattr(self, field, value)

    def set_format(self, value):
        if value not in _DISK_FORMATS:
            self.problems.append("unknown value for format: %r" % value)
        self.format = value or "raw"

    def set_access(self, value):
        if value not in _DISK_ACCESS:
            self.problems.append("unknown value for access: %r" % value)
        self.access = _DISK_ACCESS.get(value, "w")

    def vdev_and_devtype(self, value):
        """``hdc:cdrom`` (deprecated) sets vdev and devtype; False when ``value`` has no colon."""
        if ":" not in value:
            return False
        vdev, devtype = value.rsplit(":", 1)
        self.set_once("vdev", vdev)
        if devtype in ("cdrom", "disk"):
            self.cdrom = devtype == "cdrom"
        else:
            self.problems.append("unknown deprecated type %r" % devtype)
        return True

    def keyword(self, key, value):
        if key not in _DISK_KEYS:
            self.problems.append("unknown parameter %r" % key)
        elif key == "format":
            self.set_format(value)
        elif key == "access":
            self.set_access(value)
        elif key == "vdev":
            self.set_once("vdev", value)
        elif key == "devtype":
            if value not in ("cdrom", "disk"):
                self.problems.append("unknown value for devtype: %r" % value)
            self.cdrom = value == "cdrom"
        elif key == "backendtype" and value not in _DISK_BACKENDTYPES:
            self.problems.append("unknown value for backendtype: %r" % value)

    def positional(self, value):
        """Fill the next of target, format, vdev, access (format is skipped after a deprecated prefix)."""
        if self.target is None:
            self.target = value
        elif not self.had_prefix and self.format is None:
            if not self.target and self.vdev_and_devtype(value):
                self.format = "empty"  # xend's empty CD-ROM: ",hdc:cdrom,r"
            elif value in _DISK_FORMATS:
                self.set_format(value)
            else:
                # xm's "target,vdev,access" without a prefix: xl refuses it, xm reads it so.
                self.problems.append("unknown value for format: %r (xm's target,vdev,access form needs a prefix such as phy: or file: for xl)" % value)
                self.format = "raw"
                self.positional(value)
        elif self.vdev is None:
            if not self.vdev_and_devtype(value):
                self.set_once("vdev", value)
        elif self.access is None:
            self.set_access(value)
        else:
            self.problems.append("too many positional parameters (%r)" % value)

    def prefix(self, word):
        """A deprecated ``word:`` prefix at the start of a parameter; False when ``word`` is none of them."""
        if word in _FORMAT_PREFIXES:
            self.set_format(word)
        elif word not in _SCRIPT_PREFIXES and word not in _IGNORED_PREFIXES:
            return False
        self.had_prefix = True
        self.prefixes.append(word)
        return True


def parse_disk_spec(spec, strict=False):
    """Normalise one ``disk`` entry to ``{target, vdev, mode}`` the way xl reads it (``xl-disk-configuration(5)``).

    Parameters are comma-separated, whitespace before each is ignored:

    * positional ones fill ``target, format, vdev, access`` in that order
      (``/dev/vg/guest,raw,xvda,rw``; empty ones take the default);
    * deprecated prefixes (``phy:``, ``file:``, ``tap:aio:``, ``raw:``,
      ``iscsi:``...) are dropped from the parameter they start, and after
      one the format slot is skipped: the legacy ``[prefix:]target,vdev[:devtype],access``
      form of xend, xen-tools and the guide (``file:/srv/disk.img,xvda2,w``);
    * ``key=value`` parameters (``vdev=``, ``access=``, ``format=``,
      ``devtype=``, ``backendtype=``, ``script=``...) and flags (``cdrom``,
      ``discard``...) may come in any order between them; ``target=``
      takes the whole rest of the entry, commas included, so it comes last;
    * ``vdev:cdrom`` (deprecated) is the same as ``devtype=cdrom``, and
      ``,hdc:cdrom,r`` is xend's empty CD-ROM drive (target ``''``).

    ``mode`` is ``w`` or ``r``; the default is ``w``, and a CD-ROM is always
    ``r`` (libxl makes it read-only whatever ``access`` says). Leniently
    (the default) a spec xl would refuse still gives its best reading, so
    in-use checks see the target it names; a prefix-less ``target,vdev,access``
    (xm's reading) takes its second field as the vdev. With ``strict`` what
    xl refuses raises :class:`XenCfgError` naming the problem. An entry that
    is not a string or a number raises in strict mode and reads as an empty
    disk otherwise (xl ignores it).
    """
    if isinstance(spec, bool) or not isinstance(spec, (str, int)):
        if strict:
            raise XenCfgError("disk entry %r is a %s; xl takes strings" % (spec, type(spec).__name__))
        return normalise_disk("", "", "w")
    disk = _read_disk_spec(str(spec))
    if strict and disk.problems:
        raise XenCfgError("disk %r: %s" % (str(spec), "; ".join(disk.problems)))
    return normalise_disk(disk.target or "", disk.vdev or "", "r" if disk.cdrom else disk.access or "w")


def disk_spec_details(spec):
    """Everything :func:`parse_disk_spec` read from one ``disk`` entry, for tools that rewrite it.

    ``{target, vdev, access, cdrom, format, prefixes, problems}``: ``target``
    is ``None`` when none was given (an empty CD-ROM drive), ``access`` is
    ``w`` or ``r`` as given (a CD-ROM's is not forced to ``r`` here),
    ``prefixes`` the deprecated ``word:`` prefixes in order (``['tap', 'aio']``),
    ``problems`` what xl would refuse (empty when it takes the entry).
    """
    disk = _read_disk_spec(str(spec))
    return {"target": disk.target, "vdev": disk.vdev or "", "access": disk.access or "w", "cdrom": disk.cdrom,
            "format": disk.format, "prefixes": list(disk.prefixes), "problems": list(disk.problems)}


def _read_disk_spec(text):
    """Read one ``disk`` entry's text into a :class:`_DiskSpec` (the parameter loop of :func:`parse_disk_spec`)."""
    disk = _DiskSpec()
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\n":
            pos += 1
        if pos >= len(text):
            break
        rest = text[pos:]
        if rest.startswith("target="):
            value = rest[len("target="):]
            disk.set_once("target", value[:-1] if value.endswith(",") else value)
            break
        match = _PREFIX_RE.match(rest)
        if match and disk.prefix(match.group(1)):
            pos += match.end()
            continue
        if match and not re.match(r"[a-z0-9]", rest[match.end():match.end() + 1]):
            disk.problems.append("unknown deprecated disk prefix %r" % match.group(0))
        comma = rest.find(",")
        param = rest if comma < 0 else rest[:comma]
        pos += len(param) + (0 if comma < 0 else 1)
        param = param.rstrip(" \t\n")
        if "=" in param:
            key, value = param.split("=", 1)
            disk.keyword(key, value)
        elif param in _DISK_FLAGS:
            disk.cdrom = disk.cdrom or param == "cdrom"
        else:
            disk.positional(param)
    if not disk.vdev:
        disk.problems.append("no vdev specified")
    if disk.target is None and not disk.cdrom:
        disk.problems.append("no target specified (and device not removable)")
    return disk


def parse_vif_spec(spec):
    """Normalise one ``vif`` entry (``mac=..., bridge=..., type=...``) to ``{mac, bridge}``."""
    fields = {}
    for part in str(spec).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            fields[k.strip()] = v.strip()
    return normalise_nic(fields.get("mac"), fields.get("bridge"))


_XL_LONG_RE = re.compile(r"[ \t\n\r\f\v]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))")


def xl_integer(value, key):
    """An integer setting as xl reads it (``strtol(value, 0)``, the whole string): ``'0400'`` is 256, ``'0x100'`` 256.

    ``None`` stays ``None``; anything else raises :class:`XenCfgError`.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _XL_LONG_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise XenCfgError("%r is %r, not an integer" % (key, value))
    sign, hexa, octal, decimal = match.groups()
    number = int(hexa, 16) if hexa is not None else int(octal or "0", 8) if octal is not None else int(decimal)
    return -number if sign == "-" else number


def normalise_guest_config(settings):
    """What a running domain can be compared against: ``{memory_mib, vcpus, disks, nics}``.

    ``memory``/``vcpus`` may be strings (the guide writes ``memory = '1024'``)
    and are read as xl reads them (``'0400'`` is octal); missing ones are
    ``None`` (not compared). Disks and vifs are the entries xl uses: up to
    the first one that is a list.
    """
    return {
        "memory_mib": xl_integer(settings.get("memory"), "memory"),
        "vcpus": xl_integer(settings.get("vcpus"), "vcpus"),
        "disks": [parse_disk_spec(d) for d in _device_entries(settings.get("disk"))],
        "nics": [parse_vif_spec(v) for v in _device_entries(settings.get("vif"))],
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
