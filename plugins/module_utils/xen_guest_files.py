# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_guest_files`` module: offline access to a stopped guest's filesystem.

Private to the kuutorvaja.xen collection: no API promise to other code.

:class:`GuestMount` attaches the image to a loop device (at the partition's
offset for a partitioned image, so no ``partx``/``kpartx`` and no kernel
partition scanning is needed), mounts it on a private temporary directory,
and always unmounts and detaches afterwards, also when an operation fails.
:class:`FileOps` performs declared file operations inside the mount, never
following a symlink out of the guest's root.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile

from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import choose_partition, read_layout
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import Loop, Mounts

READ_LIMIT = 1024 * 1024
READ_ONLY_OPS = ("read", "stat")
PERSISTENT_NET_FILES = ("/etc/udev/rules.d/z25_persistent-net.rules", "/etc/udev/rules.d/70-persistent-net.rules")


def resolve_in_root(root, path, follow_last=True):
    """Resolve guest path ``path`` under ``root`` as the guest would see it.

    Symlinks are followed relative to the guest's root (an absolute link
    ``/etc/x -> /etc/passwd`` inside the guest means the guest's passwd, not
    the host's); ``..`` never climbs above the guest's root.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise GuestError("path %r must be absolute (a path inside the guest)" % (path,))
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *(resolved + [part]))
        if os.path.islink(candidate) and (parts or follow_last):
            hops += 1
            if hops > 40:
                raise GuestError("too many symlinks resolving %s inside the guest" % path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved) if resolved else root


class GuestMount:
    """Context manager: the guest image mounted on a temporary directory.

    ``partition`` picks a partition of a partitioned image (default: the
    largest Linux partition). ``read_only`` attaches and mounts read-only.
    """

    def __init__(self, runner, image, partition=None, read_only=False):
        self.runner = runner
        self.image = image
        self.partition = partition
        self.read_only = read_only
        self.device = None
        self.mountpoint = None
        self.mounted = False
        self.layout = None
        self.part = None
        self.loop = Loop(runner)
        self.mounts = Mounts(runner)

    def __enter__(self):
        if not os.path.exists(self.image):
            raise GuestError("image=%s does not exist" % self.image)
        if self.loop.attachments(self.image):
            raise GuestError("%s is already attached to a loop device (mounted elsewhere?); refusing to mount it twice" % self.image)
        self.layout = read_layout(self.image)
        offset = sizelimit = None
        if self.layout["kind"] == "partitioned":
            self.part = choose_partition(self.layout, self.partition)
            offset, sizelimit = self.part["start"], self.part["size"]
        elif self.partition is not None:
            raise GuestError("partition=%s was given but %s holds no partition table" % (self.partition, self.image))
        try:
            self.device = self.loop.attach(self.image, read_only=self.read_only, offset=offset, sizelimit=sizelimit)
            self.mountpoint = tempfile.mkdtemp(prefix="kuutorvaja-xen-guest-")
            self._mount()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _mount(self):
        if not self.read_only:
            self.mounts.mount(self.device, self.mountpoint)
        elif not self.mounts.try_mount(self.device, self.mountpoint, "ro"):
            # An unclean ext3/4 journal cannot be replayed on a read-only
            # device; look at the filesystem without replaying it.
            self.mounts.mount(self.device, self.mountpoint, "ro,noload")
        self.mounted = True

    def __exit__(self, exc_type, exc, tb):
        errors = self._cleanup()
        if errors and exc_type is None:
            raise GuestError("cleanup after offline access failed: %s" % "; ".join(errors))
        return False

    def _cleanup(self):
        """Unmount, detach, remove the mount point (the one loop-mount teardown); return the errors met."""
        points = [self.mountpoint] if self.mounted else []
        devices = [self.device] if self.device else []
        errors = self.mounts.teardown(points, devices, self.loop)
        if not errors:
            if self.mountpoint and os.path.isdir(self.mountpoint):
                os.rmdir(self.mountpoint)
            self.mounted, self.device, self.mountpoint = False, None, None
        return errors


def _id_map(root, filename):
    """name -> id from the guest's own /etc/passwd or /etc/group."""
    ids = {}
    try:
        with open(resolve_in_root(root, filename), "r", errors="replace") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) > 2 and fields[2].isdigit():
                    ids[fields[0]] = int(fields[2])
    except OSError:
        pass
    return ids


class FileOps:
    """Declared file operations inside a mounted guest root."""

    def __init__(self, root, check_mode=False):
        self.root = root
        self.check_mode = check_mode
        self.diff = {"before": "", "after": ""}

    def _owner(self, value, kind):
        if value is None or value == "":
            return -1
        if isinstance(value, int) or str(value).isdigit():
            return int(value)
        ids = _id_map(self.root, "/etc/passwd" if kind == "owner" else "/etc/group")
        if value not in ids:
            raise GuestError("%s=%r is not known in the guest's %s" % (kind, value, "/etc/passwd" if kind == "owner" else "/etc/group"))
        return ids[value]

    @staticmethod
    def _mode(value):
        if value is None:
            return None
        try:
            return int(str(value), 8)
        except ValueError:
            raise GuestError("mode=%r must be an octal string such as '0644'" % (value,))

    def apply(self, op):
        """Run one operation dict; return its result dict."""
        handler = getattr(self, "op_" + op["action"], None)
        if handler is None:
            raise GuestError("unknown action %r" % op["action"])
        result = handler(op)
        result.setdefault("action", op["action"])
        result.setdefault("path", op.get("path"))
        result.setdefault("changed", False)
        return result

    def op_read(self, op):
        """Return a text file's content (up to 1 MiB)."""
        real = resolve_in_root(self.root, op["path"])
        if not os.path.isfile(real):
            return {"exists": False, "content": None}
        with open(real, "rb") as handle:
            data = handle.read(READ_LIMIT + 1)
        return {"exists": True, "content": data[:READ_LIMIT].decode("utf-8", errors="replace"),
                "truncated": len(data) > READ_LIMIT}

    def op_stat(self, op):
        """Existence, type, size, mode and owner ids of a path."""
        real = resolve_in_root(self.root, op["path"], follow_last=False)
        if not os.path.lexists(real):
            return {"exists": False}
        st = os.lstat(real)
        kind = "link" if stat.S_ISLNK(st.st_mode) else "directory" if stat.S_ISDIR(st.st_mode) else "file"
        return {"exists": True, "type": kind, "size": st.st_size, "mode": "%04o" % stat.S_IMODE(st.st_mode),
                "uid": st.st_uid, "gid": st.st_gid}

    def op_move(self, op):
        """Move ``path`` to ``dest`` (e.g. aside); done when only ``dest`` exists."""
        if not op.get("dest"):
            raise GuestError("action move needs dest (path %s)" % op["path"])
        src = resolve_in_root(self.root, op["path"], follow_last=False)
        dest = resolve_in_root(self.root, op["dest"], follow_last=False)
        src_there, dest_there = os.path.lexists(src), os.path.lexists(dest)
        if src_there and dest_there:
            raise GuestError("cannot move %s to %s inside the guest: both exist" % (op["path"], op["dest"]))
        if not src_there:
            return {"dest": op["dest"], "state": "moved" if dest_there else "missing"}
        if not self.check_mode:
            os.rename(src, dest)
        return {"dest": op["dest"], "state": "moved", "changed": True}

    def _ensure_attrs(self, real, op):
        """Apply mode/owner/group; return whether anything differed."""
        st = os.lstat(real)
        changed = False
        mode = self._mode(op.get("mode"))
        if mode is not None and stat.S_IMODE(st.st_mode) != mode:
            changed = True
            if not self.check_mode:
                os.chmod(real, mode)
        uid, gid = self._owner(op.get("owner"), "owner"), self._owner(op.get("group"), "group")
        if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
            changed = True
            if not self.check_mode:
                os.lchown(real, uid, gid)
        return changed

    def op_directory(self, op):
        """Ensure a directory exists with the given mode and owner."""
        real = resolve_in_root(self.root, op["path"])
        if os.path.lexists(real) and not os.path.isdir(real):
            raise GuestError("%s exists inside the guest and is not a directory" % op["path"])
        if not os.path.isdir(real):
            parent = os.path.dirname(real)
            if not os.path.isdir(parent):
                raise GuestError("parent of %s does not exist inside the guest; create it first" % op["path"])
            if not self.check_mode:
                os.mkdir(real, self._mode(op.get("mode")) or 0o755)
                self._ensure_attrs(real, op)
            return {"changed": True, "state": "created"}
        return {"changed": self._ensure_attrs(real, op), "state": "directory"}

    def op_write(self, op):
        """Ensure a file holds ``content`` (written atomically), with mode and owner."""
        if op.get("content") is None:
            raise GuestError("action write needs content (path %s)" % op["path"])
        real = resolve_in_root(self.root, op["path"])
        new = op["content"].encode("utf-8")
        old = None
        if os.path.lexists(real):
            if not os.path.isfile(real):
                raise GuestError("%s exists inside the guest and is not a regular file" % op["path"])
            with open(real, "rb") as handle:
                old = handle.read()
        elif not os.path.isdir(os.path.dirname(real)):
            raise GuestError("parent of %s does not exist inside the guest; add a directory action first" % op["path"])
        content_changed = old != new
        if content_changed and not op.get("secret"):
            self.diff["before"] += "" if old is None else "# %s\n%s" % (op["path"], old.decode("utf-8", errors="replace"))
            self.diff["after"] += "# %s\n%s" % (op["path"], op["content"])
        if content_changed and not self.check_mode:
            self._atomic_write(real, new, op)
        if old is None and self.check_mode:
            return {"changed": True, "state": "created"}
        attrs_changed = self._ensure_attrs(real, op)
        return {"changed": content_changed or attrs_changed, "state": "file"}

    def _atomic_write(self, real, data, op):
        """Replace ``real`` in the guest's root; an existing file keeps its owner (and mode unless one is asked)."""
        mode, owner = self._mode(op.get("mode")), None
        if os.path.exists(real):
            st = os.lstat(real)
            owner = (st.st_uid, st.st_gid)
            if mode is None:
                mode = stat.S_IMODE(st.st_mode)
        write_atomically(real, data, 0o644 if mode is None else mode, owner)

    def op_password(self, op):
        """Set a user's password hash in the guest's /etc/shadow (never logged)."""
        user, pw_hash = op.get("user") or "root", op.get("password_hash")
        if not pw_hash or ":" in pw_hash or "\n" in pw_hash:
            raise GuestError("action password needs password_hash (a crypt(3) hash without ':')")
        shadow = resolve_in_root(self.root, "/etc/shadow")
        if not os.path.isfile(shadow):
            raise GuestError("the guest has no /etc/shadow")
        with open(shadow, "r") as handle:
            lines = handle.read().splitlines(True)
        changed, found = False, False
        for index, line in enumerate(lines):
            fields = line.rstrip("\n").split(":")
            if fields[0] == user and len(fields) > 1:
                found = True
                if fields[1] != pw_hash:
                    fields[1] = pw_hash
                    lines[index] = ":".join(fields) + "\n"
                    changed = True
        if not found:
            raise GuestError("user %s has no entry in the guest's /etc/shadow" % user)
        if changed and not self.check_mode:
            self._atomic_write(shadow, "".join(lines).encode("utf-8"), {"mode": None})
        return {"path": "/etc/shadow", "user": user, "changed": changed}

    def persistent_net(self):
        """MACs from the guest's udev persistent-net rules (for pinning its MAC)."""
        found = []
        for path in PERSISTENT_NET_FILES:
            real = resolve_in_root(self.root, path)
            if os.path.isfile(real):
                with open(real, "r", errors="replace") as handle:
                    for entry in parse_persistent_net_rules(handle.read()):
                        entry["file"] = path
                        found.append(entry)
        return found


_PERSISTENT_NET_RE = re.compile(r'ATTR\{address\}=="([0-9A-Fa-f:]{17})".*?NAME="([^"]+)"')


def parse_persistent_net_rules(text):
    """MACs and names from a udev persistent-net rules file (to pin a guest's MAC)."""
    found = []
    for line in (text or "").splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _PERSISTENT_NET_RE.search(line)
        if match:
            found.append({"mac": match.group(1).lower(), "name": match.group(2)})
    return found


def validate_operations(operations):
    """Refuse operations whose paths are not absolute or whose mode is not octal, before anything is mounted."""
    for index, op in enumerate(operations):
        for key in ("path", "dest"):
            value = op.get(key)
            if value is not None and (not isinstance(value, str) or not value.startswith("/")):
                raise GuestError("operations[%d].%s=%r must be absolute (a path inside the guest)" % (index, key, value))
        mode = op.get("mode")
        if mode is not None and not re.fullmatch(r"0?[0-7]{3,4}", str(mode)):
            raise GuestError("operations[%d].mode=%r must be an octal string such as '0644'" % (index, mode))


def run_operations(runner, image, operations, partition=None, check_mode=False):
    """Validate ``operations``, mount ``image``, apply them in order, always unmount; return (results, diff, facts)."""
    validate_operations(operations)
    read_only = check_mode or all(op["action"] in READ_ONLY_OPS for op in operations)
    with GuestMount(runner, image, partition=partition, read_only=read_only) as mount:
        ops = FileOps(mount.mountpoint, check_mode=check_mode)
        results = [ops.apply(op) for op in operations]
        facts = {"persistent_net": ops.persistent_net(), "layout": mount.layout["kind"],
                 "partition": mount.part["number"] if mount.part else None}
        return results, ops.diff, facts
