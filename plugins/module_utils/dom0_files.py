# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dom0's own configuration files, compared and written as one batch (kuutorvaja.xen.xen_dom0_files).

Private to the kuutorvaja.xen collection: no API promise to other code.

A role's no-op run used to cost one module run (one SSH round trip, a Python
start on the dom0) per file, directory and key; here every path of a batch is
compared in one run and only the differences are written.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically

# How a key is written in each syntax, how its active line and a
# commented-out example of it look, and whether a missing key takes the
# example's place (xend-config.sxp, as the guide edits it) or goes after it
# (the package's documentation of a shell or xl key, which we keep). Shell
# lines are rendered by shell_assignment, which quotes the value.
LINE_FORMATS = {"xl": '{key}="{value}"', "sxp": "({key} {value})"}
ACTIVE_LINES = {"shell": r"^{key}\s*=", "xl": r"^{key}\s*=", "sxp": r"^\({key}\s"}
EXAMPLE_LINES = {"shell": r"^#\s*{key}\s*=", "xl": r"^#\s*{key}\s*=", "sxp": r"^#\s*\({key}\s"}
REPLACES_EXAMPLE = {"shell": False, "xl": False, "sxp": True}
# Words a shell reads as themselves, written bare (XEN_OVERRIDE_GRUB_DEFAULT=1,
# XENDOMAINS_SAVE=/var/lib/xen/save); anything else is single-quoted.
_SHELL_BARE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
# Characters no one-line value may hold: controls (also \v, \f, \x85, which
# Python's splitlines takes as line ends), line and paragraph separators.
_UNWRITABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shell_word(value):
    """``value`` as one shell word that a sourcing shell reads back unchanged, running nothing.

    Single quotes (a ``'`` inside becomes ``'\\''``), so ``;``, ``$(...)``,
    backticks and spaces are text, not commands; plain words stay bare.
    Raises ``ValueError`` for a value that is not one line of text.
    """
    bad = _UNWRITABLE.search(value)
    if bad:
        raise ValueError("must be one line without control characters (it holds U+%04X)" % ord(bad.group(0)))
    if _SHELL_BARE.fullmatch(value):
        return value
    return "'%s'" % value.replace("'", "'\\''")


def shell_assignment(key, value):
    """The one rendering of a ``KEY=VALUE`` line in a file a shell sources (/etc/default/*, GRUB drop-ins)."""
    return "%s=%s" % (key, shell_word(value))


class Dom0FilesError(Exception):
    """A batch that cannot be applied; the message names the path and what is wrong."""


@dataclass
class Attrs:
    """Owner, group and permission bits of a path, compared as numbers."""

    uid: int
    gid: int
    mode: int

    def describe(self):
        """``0644 root:root`` for diff headers."""
        try:
            owner = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            owner = str(self.uid)
        try:
            group = grp.getgrgid(self.gid).gr_name
        except KeyError:
            group = str(self.gid)
        return "%04o %s:%s" % (self.mode, owner, group)


def set_keys(text, settings, syntax):
    """Return ``text`` with each ``settings`` key set, the rest of the file kept.

    The last active line of a key is replaced (the one the reader obeys); a
    missing key goes after the last commented-out example of it (in place of
    it for ``sxp``), else at the end.
    """
    line_format = LINE_FORMATS.get(syntax)
    lines = text.splitlines(True)
    for item in settings:
        key = re.escape(item["key"])
        if syntax == "shell":
            line = shell_assignment(item["key"], item["value"]) + "\n"
        else:
            line = line_format.format(key=item["key"], value=item["value"]) + "\n"
        active = re.compile(ACTIVE_LINES[syntax].format(key=key))
        commented = re.compile(EXAMPLE_LINES[syntax].format(key=key))
        hits = [i for i, old in enumerate(lines) if active.match(old)]
        if hits:
            lines[hits[-1]] = line
            continue
        examples = [i for i, old in enumerate(lines) if commented.match(old)]
        if examples and REPLACES_EXAMPLE[syntax]:
            lines[examples[-1]] = line
            continue
        where = examples[-1] + 1 if examples else len(lines)
        if where > 0 and not lines[where - 1].endswith("\n"):
            lines[where - 1] += "\n"
        lines.insert(where, line)
    return "".join(lines)


class Dom0Files:
    """Compare a batch of directories and files with the host; write the differences unless in check mode."""

    def __init__(self, module):
        self.module = module
        self.check_mode = module.check_mode
        self.changed_paths = []
        self.staged_paths = []
        self.wanted = {}  # path -> Attrs, filled by validate()
        self.diffs = []

    def run(self, directories, files):
        """Ensure ``directories`` then ``files`` (option dicts of the module); return the result dict."""
        self.validate(directories, files)
        # Every new version a validator checks passes before the first write.
        for spec in files:
            if spec.get("validate") and spec.get("state", "present") == "present":
                self.check_new_version(spec)
        for spec in directories:
            self.ensure_directory(spec)
        for spec in files:
            if spec.get("state", "present") == "absent":
                self.ensure_absent(spec)
            else:
                self.ensure_file(spec)
        result = {"changed": bool(self.changed_paths), "changed_paths": self.changed_paths,
                  "staged_paths": self.staged_paths}
        if self.module._diff:
            result["diff"] = self.diffs
        return result

    def validate(self, directories, files):
        """Check every path, key, value, owner, group and mode before anything is touched."""
        seen = set()
        for kind, spec in [("directories", d) for d in directories] + [("files", f) for f in files]:
            path = spec["path"] = self.claim(spec["path"], seen, "%s: path" % kind)
            if spec.get("stage") is not None:
                spec["stage"] = self.claim(spec["stage"], seen, "files: '%s': stage" % path)
            if spec.get("validate") is not None:
                spec["validate_argv"] = self.validator_argv(path, spec["validate"])
            if kind == "files" and spec.get("state", "present") == "absent":
                if spec.get("content") is not None or spec.get("settings") is not None:
                    raise Dom0FilesError("files: '%s' is state absent: it takes neither content nor settings" % path)
            elif kind == "files" and (spec.get("content") is None) == (spec.get("settings") is None):
                raise Dom0FilesError("files: '%s' needs exactly one of content (the whole file) or settings (keys in it)" % path)
            for item in spec.get("settings") or []:
                self.validate_setting(path, item, spec["syntax"])
            self.wanted[path] = self.wanted_attrs(spec)

    @staticmethod
    def claim(path, seen, what):
        """``path`` normalised and added to ``seen``; refused when relative, with '..', or already given."""
        if not os.path.isabs(path) or ".." in path.split("/"):
            raise Dom0FilesError("%s '%s' must be absolute, without '..'" % (what, path))
        path = os.path.normpath(path)
        if path in seen:
            raise Dom0FilesError("%s '%s' is given twice" % (what, path))
        seen.add(path)
        return path

    @staticmethod
    def validator_argv(path, validate):
        """``validate`` split as a shell would split it (no shell runs it), with one ``%s`` for the file."""
        try:
            argv = shlex.split(validate)
        except ValueError as exc:
            raise Dom0FilesError("files: '%s': validate '%s' cannot be split into a command: %s" % (path, validate, exc))
        if not argv or sum(arg.count("%s") for arg in argv) != 1 or "%s" in argv[0]:
            raise Dom0FilesError("files: '%s': validate '%s' must be a command with one %%s, where the file to check goes"
                                 % (path, validate))
        return argv

    def check_new_version(self, spec):
        """Run the file's validator on a temporary copy of its new version; refuse the batch when it fails."""
        _path, _current, old, new = self.versions(spec)
        if old == new:
            return
        fd, candidate = tempfile.mkstemp(dir=getattr(self.module, "tmpdir", None), prefix="validate.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new.encode("utf-8", "surrogateescape"))
            argv = [arg.replace("%s", candidate) for arg in spec["validate_argv"]]
            try:
                CommandRunner(self.module).run(argv)
            except CommandError as exc:
                raise Dom0FilesError("files: '%s': the new version failed its check (validate), nothing was written: %s"
                                     % (spec["path"], exc))
        finally:
            os.unlink(candidate)

    def versions(self, spec):
        """``(real path, current attributes or None, current text or None, wanted text)`` of a file spec."""
        path = os.path.realpath(spec["path"])
        current = self.current_attrs(path)
        if current is not None and not os.path.isfile(path):
            raise Dom0FilesError("files: '%s' exists and is not a regular file" % path)
        old = None
        if current is not None:
            # newline="": line endings are compared and kept as they are.
            with open(path, "r", encoding="utf-8", errors="surrogateescape", newline="") as handle:
                old = handle.read()
        if spec.get("settings") is not None:
            return path, current, old, set_keys(old or "", spec["settings"], spec["syntax"])
        return path, current, old, spec["content"]

    @staticmethod
    def validate_setting(path, item, syntax):
        """A key is a plain name (xend's may hold '-', a shell variable neither '-' nor '.'); a value is one line.

        Shell values are quoted when written (:func:`shell_word`); xl values
        are written in double quotes, so they hold no quote or backslash.
        """
        key_re = {"sxp": r"[A-Za-z_][A-Za-z0-9_.-]*", "xl": r"[A-Za-z_][A-Za-z0-9_.]*"}.get(syntax, r"[A-Za-z_][A-Za-z0-9_]*")
        if not re.fullmatch(key_re, item["key"]):
            raise Dom0FilesError("files: '%s': key '%s' must be a name of letters, digits and '_'%s"
                                 % (path, item["key"], {"sxp": " (and '.', '-')", "xl": " (and '.')"}.get(syntax, "")))
        bad = _UNWRITABLE.search(item["value"])
        if bad:
            raise Dom0FilesError("files: '%s': the value of %s must be one line without control characters (it holds U+%04X)"
                                 % (path, item["key"], ord(bad.group(0))))
        if syntax == "xl" and "\\" in item["value"]:
            raise Dom0FilesError("files: '%s': the value of %s must not hold a backslash (xl reads it as an escape)" % (path, item["key"]))
        if syntax == "sxp" and re.search(r"[()]", item["value"]):
            raise Dom0FilesError("files: '%s': the value of %s must not hold '(' or ')' (sxp syntax)" % (path, item["key"]))
        if syntax == "xl" and '"' in item["value"]:
            raise Dom0FilesError("files: '%s': the value of %s must not hold '\"' (xl syntax quotes it)" % (path, item["key"]))

    def wanted_attrs(self, spec):
        """The owner, group and mode a spec asks for, as numbers."""
        try:
            uid = pwd.getpwnam(spec["owner"]).pw_uid
        except (KeyError, ValueError):  # ValueError: a NUL in the name
            raise Dom0FilesError("%s: owner '%s' is not a user on this host" % (spec["path"], spec["owner"]))
        try:
            gid = grp.getgrnam(spec["group"]).gr_gid
        except (KeyError, ValueError):
            raise Dom0FilesError("%s: group '%s' is not a group on this host" % (spec["path"], spec["group"]))
        mode = spec["mode"]
        if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
            # YAML read an unquoted 0644 as the number it means, as ansible.builtin.file takes it.
            return Attrs(uid, gid, mode)
        if not isinstance(mode, str) or not re.fullmatch(r"0?[0-7]{3,4}", mode):
            raise Dom0FilesError("%s: mode '%s' must be octal like '0644'" % (spec["path"], mode))
        return Attrs(uid, gid, int(mode, 8))

    @staticmethod
    def current_attrs(path):
        """The path's attributes (through a symlink, as every step here), None when it does not exist."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return Attrs(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))

    def ensure_directory(self, spec):
        """A directory with the wanted attributes; missing parents are made as by ``mkdir -p``."""
        path, wanted = spec["path"], self.wanted[spec["path"]]
        current = self.current_attrs(path)
        if current is not None and not os.path.isdir(path):
            raise Dom0FilesError("directories: '%s' exists and is not a directory" % path)
        if current == wanted:
            return
        self.note_change(path, "directory %s" % current.describe() if current else "(absent)",
                         "directory %s" % wanted.describe(), "", "")
        if self.check_mode:
            return
        if current is None:
            os.makedirs(path, wanted.mode)
        self.set_attrs(path, wanted)

    def ensure_file(self, spec):
        """A regular file with the wanted content (or keys) and attributes.

        A symlink is followed: its target is the file compared and written
        (as lineinfile does), so the link itself stays. With ``stage``, a file
        that differs is written there instead, for the caller to swap in.
        """
        wanted = self.wanted[spec["path"]]
        path, current, old, new = self.versions(spec)
        if old == new and current == wanted:
            if spec.get("stage") is not None:
                self.drop_stale_stage(spec["stage"])
            return
        if spec.get("stage") is not None:
            self.stage(spec, path, current, wanted, old, new)
            return
        # Reported under the name the caller gave, which it looks for in changed_paths.
        self.note_change(spec["path"], "%s %s" % (path, current.describe()) if current else "(absent)",
                         "%s %s" % (path, wanted.describe()), old or "", new)
        if self.check_mode:
            return
        if not os.path.isdir(os.path.dirname(path)):
            # As lineinfile's create: a missing parent is made (0755 by the umask).
            os.makedirs(os.path.dirname(path))
        if old != new:
            self.write(path, new, wanted)
        else:
            self.set_attrs(path, wanted)

    def ensure_absent(self, spec):
        """No file at the path (a symlink there is removed, not its target).

        With ``stage``, an existing file is left in place and listed in
        ``staged_paths``: the caller removes it itself (behind its rollback
        timer); a copy an earlier run staged there is dropped.
        """
        path = spec["path"]
        if spec.get("stage") is not None:
            self.drop_stale_stage(spec["stage"])
        if not os.path.lexists(path):
            return
        if os.path.isdir(path) and not os.path.islink(path):
            raise Dom0FilesError("files: '%s' is to be absent but is a directory" % path)
        old = ""
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "r", encoding="utf-8", errors="surrogateescape", newline="") as handle:
                old = handle.read()
        if spec.get("stage") is not None:
            self.staged_paths.append(path)
            self.note_change(path, path, "(absent, removal staged)", old, "")
            return
        self.note_change(path, path, "(absent)", old, "")
        if not self.check_mode:
            os.remove(path)

    def stage(self, spec, path, current, wanted, old, new):
        """Write the new version of a differing file to its stage path; the file itself is not touched."""
        stage = spec["stage"]
        if os.path.lexists(stage) and not os.path.isfile(stage):
            raise Dom0FilesError("files: '%s': stage '%s' exists and is not a regular file" % (spec["path"], stage))
        self.staged_paths.append(spec["path"])
        self.note_change(stage, "%s %s" % (path, current.describe()) if current else "(absent)",
                         "%s %s, staged at %s" % (path, wanted.describe(), stage), old or "", new)
        if self.check_mode:
            return
        if not os.path.isdir(os.path.dirname(stage)):
            os.makedirs(os.path.dirname(stage))
        self.write(stage, new, wanted)

    def drop_stale_stage(self, stage):
        """Remove a copy staged by an earlier run that was not swapped in: the file matches now."""
        if not os.path.lexists(stage):
            return
        if not os.path.isfile(stage) or os.path.islink(stage):
            raise Dom0FilesError("files: stage '%s' exists and is not a regular file" % stage)
        self.note_change(stage, "%s (staged earlier)" % stage, "(absent)", "", "")
        if not self.check_mode:
            os.remove(stage)

    def write(self, path, text, wanted):
        """Write atomically with the wanted attributes."""
        write_atomically(path, text, wanted.mode, (wanted.uid, wanted.gid), self.module.atomic_move)
        # atomic_move may copy the old file's attributes onto the new one.
        self.set_attrs(path, wanted)

    @staticmethod
    def set_attrs(path, wanted):
        """Owner and group first: chown can clear set-id bits that chmod sets."""
        os.chown(path, wanted.uid, wanted.gid)
        os.chmod(path, wanted.mode)

    def note_change(self, path, before_header, after_header, before, after):
        """Record a changed path and its diff entry."""
        self.changed_paths.append(path)
        self.diffs.append({"before_header": before_header, "after_header": after_header,
                           "before": before, "after": after})
