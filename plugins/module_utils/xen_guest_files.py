# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_guest_files`` module: offline access to a stopped guest's filesystem.

Private to the kuutorvaja.xen collection: no API promise to other code.

:class:`GuestMount` attaches the image to a loop device (at the partition's
offset for a partitioned image, so no ``partx``/``kpartx`` and no kernel
partition scanning is needed), mounts it ``nodev,nosuid,noexec`` on a private
directory, and always unmounts and detaches afterwards, also when an
operation fails or the module is told to stop (SIGTERM, SIGHUP); a later run
releases what a killed run left on the same image.
:class:`FileOps` performs declared file operations inside the mount. The
guest's content is hostile: :class:`GuestTree` reaches every path one
component at a time from the root's descriptor, following symlinks as the
guest would (never out of its root), and only regular files are opened.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat

from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import choose_partition, read_layout
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically_at
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError, validate_password_hash
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import Loop, Mounts

READ_LIMIT = 1024 * 1024
READ_ONLY_OPS = ("read", "stat")
PERSISTENT_NET_FILES = ("/etc/udev/rules.d/z25_persistent-net.rules", "/etc/udev/rules.d/70-persistent-net.rules")
MAX_SYMLINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the type check cannot block the open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"), (stat.S_ISFIFO, "fifo"),
          (stat.S_ISCHR, "char_device"), (stat.S_ISBLK, "block_device"), (stat.S_ISSOCK, "socket"))


def file_kind(mode):
    """``file``, ``directory``, ``link``, ``fifo``, ``char_device``, ``block_device`` or ``socket``."""
    return next((name for test, name in _KINDS if test(mode)), "unknown")


def _split(path):
    return [p for p in path.split("/") if p not in ("", ".")]


def check_guest_path(path, what="path"):
    """Refuse what cannot be a path inside the guest: relative, a NUL byte, an over-long component."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise GuestError("%s=%r must be absolute (a path inside the guest)" % (what, path))
    if "\0" in path or any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in _split(path)):
        raise GuestError("%s=%r is not a valid path (NUL byte or a name over 255 bytes)" % (what, path))


class _Closing:
    """``with`` support for what holds descriptors: ``close`` on leaving the block, exceptions pass on."""

    def close(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Location(_Closing):
    """Where a guest path leads: ``name`` in the directory open as ``dir_fd``.

    ``dir_fd`` is None when a directory on the way is missing or is no
    directory; ``name`` is None for the guest's root itself. ``guest_path``
    is the resolved path as the guest sees it. Close it (or use ``with``).
    """

    def __init__(self, tree, dir_fd, name, parts):
        self.tree = tree
        self.dir_fd = dir_fd
        self.name = name
        self.guest_path = "/" + "/".join(parts)

    @property
    def is_root(self):
        """Whether this is the guest's root directory itself."""
        return self.dir_fd is not None and self.name is None

    def lstat(self):
        """The entry's own stat (a link's, not its target's), or None when there is none."""
        if self.dir_fd is None:
            return None
        if self.name is None:
            return os.fstat(self.dir_fd)
        try:
            return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def close(self):
        if self.dir_fd is not None and self.dir_fd != self.tree.root_fd:
            os.close(self.dir_fd)
        self.dir_fd = None


class GuestTree(_Closing):
    """A mounted guest root, reached only through descriptors opened from it.

    Each component is looked up with ``lstat`` relative to its directory's
    descriptor and directories are opened ``O_NOFOLLOW|O_DIRECTORY``; a
    symlink is read and followed by hand, an absolute one from the guest's
    root, and ``..`` never climbs above that root. No path string through
    the dom0's namespace is ever handed to the kernel, so neither a link nor
    a rename can lead out of the guest.
    """

    def __init__(self, root):
        self.root = root
        self.root_fd = os.open(root, _DIR_FLAGS)

    def close(self):
        if self.root_fd is not None:
            os.close(self.root_fd)
            self.root_fd = None

    def locate(self, path, follow_last=True):
        """The :class:`Location` of guest path ``path`` (its last symlink followed with ``follow_last``)."""
        check_guest_path(path)
        parts = _split(path)
        stack = []  # (fd, name) of each directory below the root on the way
        hops = 0
        try:
            while parts:
                part = parts.pop(0)
                if part == "..":
                    if stack:
                        os.close(stack.pop()[0])
                    continue
                cur = stack[-1][0] if stack else self.root_fd
                try:
                    st = os.stat(part, dir_fd=cur, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                if st is not None and stat.S_ISLNK(st.st_mode) and (parts or follow_last):
                    hops += 1
                    if hops > MAX_SYMLINKS:
                        raise GuestError("too many symlinks resolving %s inside the guest" % path)
                    target = os.readlink(part, dir_fd=cur)
                    if target.startswith("/"):
                        while stack:
                            os.close(stack.pop()[0])
                    parts = _split(target) + parts
                    continue
                names = [name for _fd, name in stack]
                if not parts:
                    loc = Location(self, cur, part, names + [part])
                    if stack:
                        stack.pop()  # the location owns it now
                    return loc
                if st is None or not stat.S_ISDIR(st.st_mode):
                    rest = names + [part]
                    for extra in parts:
                        if extra != "..":
                            rest.append(extra)
                        elif rest:
                            rest.pop()
                    return Location(self, None, rest[-1], rest)
                stack.append((os.open(part, _DIR_FLAGS, dir_fd=cur), part))
            if not stack:
                return Location(self, self.root_fd, None, [])
            # The path ended in "..": the directory reached, named from its parent.
            fd, name = stack.pop()
            os.close(fd)
            names = [n for _fd, n in stack]
            loc = Location(self, stack[-1][0] if stack else self.root_fd, name, names + [name])
            if stack:
                stack.pop()
            return loc
        except OSError as exc:
            raise GuestError("cannot resolve %s inside the guest: %s" % (path, exc.strerror or exc))
        finally:
            for fd, _name in stack:
                os.close(fd)

    def open_regular(self, loc, path, verb):
        """``(fd, stat)`` of the regular file at ``loc``, or ``(None, None)`` when nothing is there.

        The type is checked before the open (a device node or FIFO is never
        opened) and again on the descriptor (nothing swapped in between).
        """
        st = loc.lstat()
        if st is None:
            return None, None
        if not stat.S_ISREG(st.st_mode):
            raise GuestError("%s inside the guest is a %s, not a regular file; refusing to %s it"
                             % (_shown(path, loc), file_kind(st.st_mode).replace("_", " "), verb))
        fd = os.open(loc.name, _FILE_FLAGS, dir_fd=loc.dir_fd)
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise GuestError("%s inside the guest changed while it was being opened" % _shown(path, loc))
        return fd, fst

    def read(self, loc, path, limit=READ_LIMIT, truncate=False):
        """``(data, truncated, stat)`` of the regular file at ``loc`` (``data`` None when missing).

        At most ``limit`` bytes are read: more is refused with the file's
        name, or cut off with ``truncate``.
        """
        fd, st = self.open_regular(loc, path, "read")
        if fd is None:
            return None, False, None
        try:
            if st.st_size > limit and not truncate:
                raise GuestError("%s inside the guest is %d bytes, more than the %d this module reads; refusing to read it"
                                 % (_shown(path, loc), st.st_size, limit))
            chunks, left = [], limit + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
        finally:
            os.close(fd)
        if len(data) > limit:
            if not truncate:
                raise GuestError("%s inside the guest grew past %d bytes while it was read" % (_shown(path, loc), limit))
            return data[:limit], True, st
        return data, False, st

    def read_file(self, path, limit=READ_LIMIT):
        """Content of the guest's regular file ``path`` (links followed inside the guest), or None when missing."""
        with self.locate(path) as loc:
            return self.read(loc, path, limit)[0]


def _shown(path, loc):
    """The path as asked, and where it led when a symlink took it elsewhere."""
    return path if loc.guest_path == path else "%s (resolved to %s)" % (path, loc.guest_path)


def _parse_ids(data):
    """name -> id from the text of a passwd or group file."""
    ids = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            ids.setdefault(fields[0], int(fields[2]))
    return ids


MOUNT_DIR = "/run/kuutorvaja-xen/guest-mounts"
"""Where guest filesystems are mounted: ``PID-START-RANDOM`` directories and their ``.json`` records, root's only.

The name says which process made it (its pid and start time), so a later
run can tell a killed run's leftovers from a live run's mount.
"""

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_TOKEN_RE = re.compile(r"^(\d+)-(\d+)-[0-9a-f]+$")


class GuestInterrupted(GuestError):
    """Raised inside an offline access by SIGTERM or SIGHUP, so that it unwinds like any failure."""


def _process_start(pid):
    """Start time of process ``pid`` (clock ticks after boot, as text), or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_gone(token):
    """Whether the run that named a mount directory ``token`` is over (its pid is gone or another process's now)."""
    match = _TOKEN_RE.match(token)
    return bool(match) and _process_start(int(match.group(1))) != match.group(2)


class GuestMount:
    """Context manager: the guest image mounted ``nodev,nosuid,noexec`` on a directory under :data:`MOUNT_DIR`.

    ``partition`` picks a partition of a partitioned image (default: the
    largest Linux partition). ``read_only`` attaches and mounts read-only.
    SIGTERM and SIGHUP inside the ``with`` block raise
    :class:`GuestInterrupted`, so the mount is released as after any failure.
    """

    def __init__(self, runner, image, partition=None, read_only=False, state_dir=None):
        self.runner = runner
        self.image = image
        self.partition = partition
        self.read_only = read_only
        self.state_dir = state_dir or MOUNT_DIR
        self.device = None
        self.mountpoint = None
        self.record = None
        self.mounted = False
        self.layout = None
        self.part = None
        self.released = []
        self.signalled = None
        self._cleaning = False
        self._previous = {}
        self.loop = Loop(runner)
        self.mounts = Mounts(runner)

    def __enter__(self):
        if not os.path.exists(self.image):
            raise GuestError("image=%s does not exist" % self.image)
        self._catch_signals()
        try:
            devices = self.loop.attachments(self.image)
            if devices:
                devices = self.release_leftovers(devices)
            if devices:
                raise GuestError("%s is already attached to %s (mounted elsewhere?), not by a killed run of this module; "
                                 "refusing to mount it twice" % (self.image, ", ".join(devices)))
            self.layout = read_layout(self.image)
            offset = sizelimit = None
            if self.layout["kind"] == "partitioned":
                self.part = choose_partition(self.layout, self.partition)
                offset, sizelimit = self.part["start"], self.part["size"]
            elif self.partition is not None:
                raise GuestError("partition=%s was given but %s holds no partition table" % (self.partition, self.image))
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
            token = "%d-%s-%s" % (os.getpid(), _process_start(os.getpid()) or "0", os.urandom(4).hex())
            self.mountpoint = os.path.join(self.state_dir, token)
            os.mkdir(self.mountpoint, 0o700)
            self.device = self.loop.attach(self.image, read_only=self.read_only, offset=offset, sizelimit=sizelimit)
            # Which device this run attached, for a later run when this one is killed.
            self.record = self.mountpoint + ".json"
            with open(self.record, "w") as handle:
                json.dump({"image": os.path.realpath(self.image), "device": self.device}, handle)
            self._mount()
        except BaseException:
            self._cleanup()
            self._restore_signals()
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
        self._restore_signals()
        if errors and exc_type is None:
            raise GuestError("cleanup after offline access failed: %s" % "; ".join(errors))
        if self.signalled and exc_type is None:
            raise GuestInterrupted("stopped by %s during offline access to %s" % (signal.Signals(self.signalled).name, self.image))
        return False

    def _cleanup(self):
        """Unmount, detach, remove the mount point and record (the one loop-mount teardown); return the errors met."""
        self._cleaning = True
        try:
            mounted = self.mounted or (self.mountpoint and any(p == self.mountpoint for p, _s in self.mounts.table()))
            points = [self.mountpoint] if mounted else []
            devices = [self.device] if self.device else []
            errors = self.mounts.teardown(points, devices, self.loop)
            if not errors:
                if self.mountpoint and os.path.isdir(self.mountpoint):
                    os.rmdir(self.mountpoint)
                if self.record and os.path.exists(self.record):
                    os.unlink(self.record)
                self.mounted, self.device, self.mountpoint, self.record = False, None, None, None
            return errors
        finally:
            self._cleaning = False

    # -- signals ---------------------------------------------------------------

    def _on_signal(self, signum, _frame):
        self.signalled = signum
        if not self._cleaning:
            raise GuestInterrupted("stopped by %s during offline access to %s; its mount was released"
                                   % (signal.Signals(signum).name, self.image))

    def _catch_signals(self):
        for signum in _STOP_SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError):
                # Not the main thread: signals are not ours to take here.
                pass

    def _restore_signals(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    # -- what a killed run left ------------------------------------------------

    def _record_of(self, token):
        try:
            with open(os.path.join(self.state_dir, token + ".json")) as handle:
                record = json.load(handle)
            return record if isinstance(record, dict) else None
        except (OSError, ValueError):
            return None

    def release_leftovers(self, devices):
        """Release what killed runs of this module left on this image; return the devices still attached to it.

        Only what is provably such a run's: a mount on a directory of
        :data:`MOUNT_DIR` whose run is gone, or a device its record names,
        and only when that device backs this image and is mounted nowhere else.
        """
        try:
            tokens = sorted(set(e[:-5] if e.endswith(".json") else e for e in os.listdir(self.state_dir)))
        except OSError:
            return devices
        real = os.path.realpath(self.image)
        table = self.mounts.table()
        points, detach, done = [], [], []
        for token in tokens:
            if not _owner_gone(token):
                continue
            point = os.path.join(self.state_dir, token)
            record = self._record_of(token)
            if record is not None and record.get("image") != real:
                continue
            sources = [source for p, source in table if p == point]
            device = sources[0] if sources else (record or {}).get("device")
            if device not in devices:
                continue
            if any(source == device and p != point for p, source in table):
                continue
            points += [point] if sources else []
            detach.append(device)
            done.append(token)
        if not done:
            return devices
        errors = self.mounts.teardown(points, detach, self.loop)
        if errors:
            raise GuestError("could not release what a killed run left on %s: %s" % (self.image, "; ".join(errors)))
        for token in done:
            point = os.path.join(self.state_dir, token)
            for remove in (lambda: os.rmdir(point), lambda: os.unlink(point + ".json")):
                try:
                    remove()
                except FileNotFoundError:
                    pass
        self.released = [os.path.join(self.state_dir, token) for token in done]
        return self.loop.attachments(self.image)


class FileOps(_Closing):
    """Declared file operations inside a mounted guest root.

    Owner and group names are looked up once, in the guest's /etc/passwd and
    /etc/group as they are before the first change (:meth:`prepare`).
    """

    def __init__(self, root, check_mode=False):
        self.tree = GuestTree(root)
        self.check_mode = check_mode
        self.diff = {"before": "", "after": ""}
        self._ids = {}

    def close(self):
        self.tree.close()

    def _id_map(self, filename):
        if filename not in self._ids:
            data = self.tree.read_file(filename)
            self._ids[filename] = _parse_ids(data) if data is not None else {}
        return self._ids[filename]

    def _owner(self, value, kind):
        if value is None or value == "":
            return -1
        if isinstance(value, int) or str(value).isdigit():
            return int(value)
        filename = "/etc/passwd" if kind == "owner" else "/etc/group"
        ids = self._id_map(filename)
        if value not in ids:
            raise GuestError("%s=%r is not known in the guest's %s" % (kind, value, filename))
        return ids[value]

    @staticmethod
    def _mode(value):
        if value is None:
            return None
        try:
            return int(str(value), 8)
        except ValueError:
            raise GuestError("mode=%r must be an octal string such as '0644'" % (value,))

    def _wanted(self, op):
        """``(mode, uid, gid)`` the op asks for (None or -1 where it asks nothing)."""
        return self._mode(op.get("mode")), self._owner(op.get("owner"), "owner"), self._owner(op.get("group"), "group")

    def _paths(self, op):
        """The resolved guest paths an operation names (to know what an earlier one may have changed)."""
        if op["action"] == "password":
            names = [("/etc/shadow", True)]
        elif op["action"] == "move":
            names = [(op["path"], False), (op.get("dest") or op["path"], False)]
        else:
            names = [(op["path"], op["action"] != "stat")]
        found = []
        for path, follow in names:
            with self.tree.locate(path, follow_last=follow) as loc:
                found.append(loc.guest_path)
        return found

    def prepare(self, operations):
        """Resolve and try every operation before the first change, so that a bad value changes nothing.

        Modes and owner/group names are resolved for all; each operation is
        also run in check mode, unless an earlier one that changes things names
        the same path or a directory above it (its outcome depends on that one).
        """
        touched = []
        saved = self.check_mode, self.diff
        try:
            for index, op in enumerate(operations):
                try:
                    self._wanted(op)
                    paths = self._paths(op)
                    if not any(p == t or p.startswith(t.rstrip("/") + "/") for p in paths for t in touched):
                        self.check_mode, self.diff = True, {"before": "", "after": ""}
                        self.apply(op)
                        self.check_mode, self.diff = saved
                    if op["action"] not in READ_ONLY_OPS:
                        touched += paths
                except GuestError as exc:
                    raise GuestError("operations[%d] (%s %s): %s" % (index, op["action"], op.get("path") or "", exc))
        finally:
            self.check_mode, self.diff = saved

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
        """Return a regular text file's content (the first 1 MiB, ``truncated`` when there is more)."""
        with self.tree.locate(op["path"]) as loc:
            data, truncated, _st = self.tree.read(loc, op["path"], truncate=True)
        if data is None:
            return {"exists": False, "content": None}
        return {"exists": True, "content": data.decode("utf-8", errors="replace"), "truncated": truncated}

    def op_stat(self, op):
        """Existence, type, size, mode and owner ids of a path (a link itself, not followed)."""
        with self.tree.locate(op["path"], follow_last=False) as loc:
            st = loc.lstat()
        if st is None:
            return {"exists": False}
        return {"exists": True, "type": file_kind(st.st_mode), "size": st.st_size,
                "mode": "%04o" % stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}

    def op_move(self, op):
        """Move ``path`` to ``dest`` (e.g. aside); done when only ``dest`` exists."""
        if not op.get("dest"):
            raise GuestError("action move needs dest (path %s)" % op["path"])
        with self.tree.locate(op["path"], follow_last=False) as src, \
                self.tree.locate(op["dest"], follow_last=False) as dest:
            if src.is_root or dest.is_root:
                raise GuestError("cannot move the guest's root directory")
            src_there, dest_there = src.lstat() is not None, dest.lstat() is not None
            if src_there and dest_there:
                raise GuestError("cannot move %s to %s inside the guest: both exist" % (op["path"], op["dest"]))
            if not src_there:
                return {"dest": op["dest"], "state": "moved" if dest_there else "missing"}
            if dest.dir_fd is None:
                raise GuestError("parent of %s does not exist inside the guest" % op["dest"])
            if not self.check_mode:
                os.rename(src.name, dest.name, src_dir_fd=src.dir_fd, dst_dir_fd=dest.dir_fd)
        return {"dest": op["dest"], "state": "moved", "changed": True}

    def _ensure_attrs(self, loc, st, wanted):
        """Give the directory or regular file at ``loc`` (``st``: its stat) the wanted mode/owner; return whether they differed."""
        mode, uid, gid = wanted
        mode_differs = mode is not None and stat.S_IMODE(st.st_mode) != mode
        owner_differs = (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid)
        if not (mode_differs or owner_differs) or self.check_mode:
            return mode_differs or owner_differs
        if loc.name is None:
            fd = os.dup(loc.dir_fd)
        else:
            fd = os.open(loc.name, _DIR_FLAGS if stat.S_ISDIR(st.st_mode) else _FILE_FLAGS, dir_fd=loc.dir_fd)
        try:
            fst = os.fstat(fd)
            if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
                raise GuestError("%s inside the guest changed while its owner and mode were set" % loc.guest_path)
            # Owner first: chown clears the set-id bits that a mode may carry.
            if owner_differs:
                os.fchown(fd, uid, gid)
            if mode is not None:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return True

    def op_directory(self, op):
        """Ensure a directory exists with the given mode and owner."""
        wanted = self._wanted(op)
        with self.tree.locate(op["path"]) as loc:
            if loc.dir_fd is None:
                raise GuestError("parent of %s does not exist inside the guest; create it first" % op["path"])
            st = loc.lstat()
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise GuestError("%s exists inside the guest and is not a directory (a %s)"
                                 % (_shown(op["path"], loc), file_kind(st.st_mode).replace("_", " ")))
            if st is not None:
                return {"changed": self._ensure_attrs(loc, st, wanted), "state": "directory"}
            if not self.check_mode:
                os.mkdir(loc.name, 0o700, dir_fd=loc.dir_fd)
                st = os.stat(loc.name, dir_fd=loc.dir_fd, follow_symlinks=False)
                self._ensure_attrs(loc, st, (0o755 if wanted[0] is None else wanted[0],) + wanted[1:])
        return {"changed": True, "state": "created"}

    def op_write(self, op):
        """Ensure a regular file holds ``content`` (written atomically), with mode and owner."""
        if op.get("content") is None:
            raise GuestError("action write needs content (path %s)" % op["path"])
        wanted = self._wanted(op)
        new = op["content"].encode("utf-8")
        with self.tree.locate(op["path"]) as loc:
            if loc.dir_fd is None:
                raise GuestError("parent of %s does not exist inside the guest; add a directory action first" % op["path"])
            if loc.is_root:
                raise GuestError("%s is the guest's root directory, not a regular file" % op["path"])
            old, st = None, loc.lstat()
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise GuestError("%s exists inside the guest and is not a regular file (a %s); refusing to write it"
                                 % (_shown(op["path"], loc), file_kind(st.st_mode).replace("_", " ")))
            if st is not None and st.st_size != len(new) and st.st_size > READ_LIMIT:
                # Differs anyway; a huge file is not read just for the diff.
                old = b"[%d bytes, not shown]\n" % st.st_size
            elif st is not None:
                old, _truncated, st = self.tree.read(loc, op["path"], limit=max(READ_LIMIT, len(new)))
            content_changed = old != new or (st is not None and st.st_size != len(new))
            if content_changed and not op.get("secret"):
                self.diff["before"] += "" if old is None else "# %s\n%s" % (op["path"], old.decode("utf-8", errors="replace"))
                self.diff["after"] += "# %s\n%s" % (op["path"], op["content"])
            if st is None:
                if not self.check_mode:
                    write_atomically_at(loc.dir_fd, loc.name, new, 0o644 if wanted[0] is None else wanted[0],
                                        (wanted[1], wanted[2]) if wanted[1:] != (-1, -1) else None)
                return {"changed": True, "state": "created"}
            attrs_changed = self._ensure_attrs(loc, st, wanted) if not content_changed else False
            if content_changed and not self.check_mode:
                self._replace(loc, st, new, wanted)
        return {"changed": content_changed or attrs_changed, "state": "file"}

    @staticmethod
    def _replace(loc, st, data, wanted):
        """Replace the regular file at ``loc`` (``st``: its stat): its owner and mode stay unless others are asked."""
        mode, uid, gid = wanted
        owner = (st.st_uid if uid == -1 else uid, st.st_gid if gid == -1 else gid)
        write_atomically_at(loc.dir_fd, loc.name, data, stat.S_IMODE(st.st_mode) if mode is None else mode, owner)

    def op_password(self, op):
        """Set a user's password hash in the guest's /etc/shadow (never logged)."""
        user, pw_hash = op.get("user") or "root", op.get("password_hash")
        # The one crypt(3) rule (no ':' or newline can reach /etc/shadow); the value is never shown.
        validate_password_hash(pw_hash, "password_hash")
        with self.tree.locate("/etc/shadow") as loc:
            data, _truncated, st = self.tree.read(loc, "/etc/shadow") if loc.dir_fd is not None else (None, False, None)
            if data is None:
                raise GuestError("the guest has no /etc/shadow")
            lines = data.decode("utf-8", errors="surrogateescape").splitlines(True)
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
                self._replace(loc, st, "".join(lines).encode("utf-8", "surrogateescape"), (None, -1, -1))
        return {"path": "/etc/shadow", "user": user, "changed": changed}

    def persistent_net(self):
        """MACs from the guest's udev persistent-net rules (for pinning its MAC)."""
        found = []
        for path in PERSISTENT_NET_FILES:
            data = self.tree.read_file(path)
            if data is not None:
                for entry in parse_persistent_net_rules(data.decode("utf-8", errors="replace")):
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
            if op.get(key) is not None:
                check_guest_path(op[key], "operations[%d].%s" % (index, key))
        mode = op.get("mode")
        if mode is not None and not re.fullmatch(r"0?[0-7]{3,4}", str(mode)):
            raise GuestError("operations[%d].mode=%r must be an octal string such as '0644'" % (index, mode))


def run_operations(runner, image, operations, partition=None, check_mode=False):
    """Validate ``operations``, mount ``image``, resolve and try them all, apply them in order, always unmount; return (results, diff, facts)."""
    validate_operations(operations)
    read_only = check_mode or all(op["action"] in READ_ONLY_OPS for op in operations)
    with GuestMount(runner, image, partition=partition, read_only=read_only) as mount:
        with FileOps(mount.mountpoint, check_mode=check_mode) as ops:
            ops.prepare(operations)
            results = [ops.apply(op) for op in operations]
            facts = {"persistent_net": ops.persistent_net(), "layout": mount.layout["kind"],
                     "partition": mount.part["number"] if mount.part else None}
        return results, ops.diff, facts
