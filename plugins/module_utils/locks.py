# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one lock of the collection: a guest, or a disk, is worked on by one run at a time.

Private to the kuutorvaja.xen collection: no API promise to other code.

Every module that acts on a guest or its disk holds :func:`locked` from its
first look at the guest to its last change, so two runs (two playbooks, two
hosts in one play delegated to the same dom0, a retry while the first run is
still going) cannot interleave their check and act. The locks are
``fcntl.flock`` locks on files under ``/run/lock/kuutorvaja-xen`` (falling
back to ``/var/lock``): the kernel drops them when the holder dies, so a
killed run never leaves one behind. The files stay (removing a lock file
while someone waits on it would split the lock in two); ``/run`` is emptied
at boot.

Lock file names:

* ``guest-NAME.lock`` for guest ``NAME`` (a valid guest name is a safe file name);
* for a disk path, ``disk-path-H.lock`` where ``H`` is the first 16 hex digits
  of the SHA-256 of the path with its directory resolved (:func:`path_key`:
  the same before and after a build creates the file or the LV), plus one
  lock per identity of what is there now (``disk_layout.disk_identities``):
  ``disk-file-DEV-INO.lock`` for a regular file (hard links and symlinks meet
  here), ``disk-block-MAJOR-MINOR.lock`` for a block device (``/dev/VG/LV``,
  ``/dev/mapper/VG-LV`` and ``/dev/dm-N`` meet here; a loop device also takes
  its backing file's lock).

The guest lock is taken first, then the disk locks in sorted order: one
order everywhere, so two runs cannot each hold what the other waits for.

Check mode takes the locks shared (``LOCK_SH``): a prediction then never
reads a guest half-way through another run's change (a live build's marker,
a config being replaced), while check runs do not wait for each other. A
check that attaches the disk itself (xen_guest_files, xen_guest's offline
fixes) takes them exclusive, because two loop attachments of one image
refuse each other.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import time
from contextlib import contextmanager

from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import disk_identities
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError

LOCK_BASES = ("/run/lock", "/var/lock")
LOCK_SUBDIR = "kuutorvaja-xen"
LOCK_DIR = None
"""When set, the lock directory itself (tests); else LOCK_SUBDIR under the first of LOCK_BASES that exists."""

DEFAULT_TIMEOUT = 1800
"""Seconds to wait for another run: longer than a slow debootstrap build, the longest thing held."""

POLL_INTERVAL = 0.2
PROC = "/proc"


class LockTimeout(GuestError):
    """Another run held a lock for longer than the timeout; the message names the lock file and its holder."""


# -- who is running ------------------------------------------------------------


def boot_id(proc=PROC):
    """This boot's random id (``/proc/sys/kernel/random/boot_id``), or None when unreadable."""
    try:
        with open(os.path.join(proc, "sys", "kernel", "random", "boot_id")) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def process_start_time(pid, proc=PROC):
    """Field 22 of ``/proc/PID/stat`` (start time in clock ticks since boot), or None when there is no such process.

    The command name (field 2) may hold spaces and parentheses, so the
    fields are counted from after its last ``)``.
    """
    try:
        with open(os.path.join(proc, str(int(pid)), "stat"), "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except (OSError, ValueError):
        return None
    fields = text[text.rfind(")") + 1:].split()
    # fields[0] is field 3 (state), so field 22 is fields[19].
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    return int(fields[19])


def process_owner(pid=None, proc=PROC):
    """``{"pid", "start_time", "boot_id"}`` of this process (or ``pid``): who made a marker, told apart from a reused pid."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "start_time": process_start_time(pid, proc), "boot_id": boot_id(proc)}


def owner_alive(owner, proc=PROC):
    """True when the process ``owner`` (from :func:`process_owner`) still runs: same boot, same pid, same start time.

    Anything less than a complete record (an older marker, a garbled one)
    cannot be shown alive, and is not.
    """
    if not isinstance(owner, dict):
        return False
    pid, start, boot = owner.get("pid"), owner.get("start_time"), owner.get("boot_id")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not isinstance(start, int) or not isinstance(boot, str):
        return False
    if boot != boot_id(proc):
        return False
    return process_start_time(pid, proc) == start


# -- names ---------------------------------------------------------------------


def lock_dir(bases=LOCK_BASES):
    """The directory that holds the lock files (not created here)."""
    if LOCK_DIR:
        return LOCK_DIR
    for base in bases:
        if os.path.isdir(base):
            return os.path.join(base, LOCK_SUBDIR)
    raise GuestError("no lock directory on this host: none of %s exists" % ", ".join(bases))


def guest_lock_name(name):
    """The lock file name of guest ``name`` (a validated guest name)."""
    return "guest-%s.lock" % name


def path_key(path):
    """``path`` with its directory resolved and its last component kept, so the key does not change when the file appears."""
    return os.path.join(os.path.realpath(os.path.dirname(path) or "."), os.path.basename(path))


def disk_lock_names(path, identities=disk_identities):
    """The lock file names of the disk at ``path``, sorted (see the module docstring)."""
    digest = hashlib.sha256(path_key(path).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    names = {"disk-path-%s.lock" % digest}
    for identity in identities(path):
        if identity[0] == "file":
            names.add("disk-file-%d-%d.lock" % (identity[1], identity[2]))
        elif identity[0] == "block":
            names.add("disk-block-%d-%d.lock" % (os.major(identity[1]), os.minor(identity[1])))
    return sorted(names)


def _prepare_dir(directory):
    """Make the lock directory, refusing one that others could plant links in."""
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        st = os.lstat(directory)
    except OSError as exc:
        raise GuestError("cannot make the lock directory %s: %s" % (directory, exc.strerror or exc))
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise GuestError("the lock directory %s is not a directory of this user writable only by it; "
                         "refusing to use it" % directory)
    return directory


# -- the lock ------------------------------------------------------------------


def _holder(path):
    """Who holds the lock file ``path``, as its exclusive holder wrote it ("pid N (working on ...)"), or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            pid, _sep, what = handle.readline().strip().partition(" ")
    except OSError:
        return None
    if not pid.isdigit():
        return None
    return "pid %s (working on %s)" % (pid, what) if what else "pid %s" % pid


class FileLock:
    """One ``flock`` on one lock file; exclusive holders write their pid and what they lock into it."""

    def __init__(self, path, what, shared=False, clock=time):
        self.path = path
        self.what = what
        self.shared = shared
        self.clock = clock
        self.fd = None

    def acquire(self, deadline, timeout):
        """Take the lock, polling until ``deadline`` (``clock.monotonic()`` seconds); LockTimeout after it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise GuestError("cannot open the lock file %s: %s" % (self.path, exc.strerror or exc))
        operation = (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        try:
            while True:
                try:
                    fcntl.flock(fd, operation)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    raise LockTimeout(self.timeout_message(timeout))
                self.clock.sleep(min(POLL_INTERVAL, left))
            if not self.shared:
                os.ftruncate(fd, 0)
                os.pwrite(fd, ("%d %s\n" % (os.getpid(), self.what)).encode("utf-8", "surrogateescape"), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def timeout_message(self, timeout):
        """Why the lock could not be had: the lock file, its holder's pid if it wrote one."""
        holder = _holder(self.path) or "a check-mode run (shared, no pid written)"
        return ("another run is working on %s: the lock %s is held by %s; gave up after waiting %s s. "
                "Try again when that run has finished" % (self.what, self.path, holder, timeout))

    def release(self):
        """Clear our pid out of the file, then drop the lock."""
        if self.fd is None:
            return
        try:
            if not self.shared:
                os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None


@contextmanager
def locked(guest=None, disks=(), shared=False, timeout=None, clock=time, identities=disk_identities):
    """Hold the lock of guest ``guest`` and of each disk path in ``disks`` for the ``with`` block.

    Blocks up to ``timeout`` seconds in all (:data:`DEFAULT_TIMEOUT` when
    None), then raises :class:`LockTimeout`.
    A disk's identity locks are looked up again once held: when the file
    appeared or was replaced while this run waited, the disk locks are
    dropped and taken again under the new names.
    """
    directory = _prepare_dir(lock_dir())
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    deadline = clock.monotonic() + timeout
    held = []

    def take(name, what):
        lock = FileLock(os.path.join(directory, name), what, shared, clock)
        lock.acquire(deadline, timeout)
        held.append(lock)

    def disk_names():
        names = {}
        for path in disks:
            for name in disk_lock_names(path, identities):
                names.setdefault(name, "disk %s" % path)
        return names

    try:
        if guest is not None:
            take(guest_lock_name(guest), "guest %s" % guest)
        first_disk = len(held)
        names = disk_names()
        while True:
            for name in sorted(names):
                take(name, names[name])
            now = disk_names()
            if now == names:
                break
            if clock.monotonic() >= deadline:
                raise LockTimeout("the disks %s kept changing while this run waited for their locks in %s; gave up after %s s"
                                  % (", ".join(disks), directory, timeout))
            for lock in reversed(held[first_disk:]):
                lock.release()
            del held[first_disk:]
            names = now
        yield
    finally:
        for lock in reversed(held):
            lock.release()
