# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strike a guest build midway: kill the xen_image module's process tree, or reboot the dom0.

Usage: build_fault.py MODE NAME DISK TIMEOUT [JID]

Waits (up to TIMEOUT seconds) for a stage of the build of guest NAME,
whose root disk image is DISK, then strikes:

* kill-build:   once xen-create-image runs and DISK exists, kill the tree
                of the xen_image module started as async job JID.
* kill-offline: once DISK is loop-mounted in this (the host's) mount
                namespace - the module writing keys or the password into the
                new guest offline - kill the same tree.
* reboot:       once xen-create-image runs and DISK exists, run
                ``systemctl reboot`` (a dom0 rebooted in the middle of a play).

Killing freezes (SIGSTOP) the module process and all its descendants, so
none can react or fork, then SIGKILLs them all: no cleanup code runs, as
when the controller's connection or the machine goes away. It prints JSON:
the module's pid, what was killed, and the mounts backed by DISK in the
host's namespace at that moment.

Exit status 3 when the stage was not reached within TIMEOUT (kill-offline:
or the module ended before it).
"""

import glob
import json
import os
import select
import signal
import subprocess
import sys
import time


def cmdline(pid):
    """The argv of ``pid`` (empty when it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


def parent(pid):
    """The parent pid of ``pid`` (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def pids():
    """Every pid now."""
    return [int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*")]


def children(pid):
    """Direct children of ``pid``, from /proc/PID/task/*/children (fast: no scan of every process)."""
    found = set()
    for path in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(path) as handle:
                found.update(int(c) for c in handle.read().split())
        except OSError:
            pass
    return found


# Kernels without CONFIG_PROC_CHILDREN: find children by a scan of every process.
HAVE_CHILDREN_FILES = bool(glob.glob("/proc/self/task/*/children"))


def descendants(root):
    """``root`` and every process below it."""
    tree, todo = {root}, [root]
    while todo:
        pid = todo.pop()
        if HAVE_CHILDREN_FILES:
            found = children(pid)
        else:
            found = {p for p in pids() if parent(p) == pid}
        for child in found - tree:
            tree.add(child)
            todo.append(child)
    return tree


def find_build(name, within=None):
    """Pid of the xen-create-image process building ``name`` (among ``within``), or None."""
    for pid in within if within is not None else pids():
        argv = cmdline(pid)
        if any(a.endswith("xen-create-image") for a in argv) and "--hostname=%s" % name in argv:
            return pid
    return None


def find_module(jid):
    """Pid of the xen_image module run by async job ``jid`` (below its async_wrapper), or None.

    The async_wrapper's argv holds the job ID without the ``.PID`` suffix;
    the module is the process that runs AnsiballZ_xen_image.py itself.
    """
    base = jid.rsplit(".", 1)[0]
    for pid in pids():
        if base in cmdline(pid):
            for child in sorted(descendants(pid)):
                argv = cmdline(child)
                if len(argv) > 1 and os.path.basename(argv[1]) == "AnsiballZ_xen_image.py":
                    return child
    return None


def mounts_of(disk):
    """Mount points (in this namespace) whose loop device is backed by ``disk``."""
    devices = set()
    for path in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            with open(path) as handle:
                backing = handle.read().strip()
        except OSError:
            continue  # detached since the glob (xen-tools' own loop devices come and go)
        if backing == os.path.realpath(disk):
            devices.add("/dev/" + path.split("/")[3])
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            if fields[fields.index("-", 6) + 2] in devices:
                points.append(fields[4])
    return points


def freeze(module):
    """SIGSTOP ``module`` and everything below it, until nothing new shows; returns the frozen pids."""
    frozen = set()
    while True:
        tree = descendants(module) - frozen
        if not tree:
            return frozen
        for pid in tree:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen |= tree


def kill(frozen):
    """SIGKILL the frozen pids and wait for them to go; returns what was killed."""
    killed = []
    for pid in sorted(frozen):
        argv = cmdline(pid)
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append({"pid": pid, "cmd": " ".join(os.path.basename(a) for a in argv[:3])})
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while any(cmdline(pid) for pid in frozen) and time.monotonic() < deadline:
        time.sleep(0.2)
    return killed


def mount_table_changes():
    """A poller that wakes when this namespace's mount table changes (POLLPRI on mountinfo)."""
    handle = open("/proc/self/mountinfo")  # pylint: disable=consider-using-with  # kept for the poll
    poller = select.poll()
    poller.register(handle, select.POLLPRI | select.POLLERR)
    return handle, poller


def main():
    """Wait for the stage, then strike."""
    mode, name, disk, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    jid = sys.argv[5] if len(sys.argv) > 5 else None
    deadline = time.monotonic() + timeout
    module = build = None
    frozen = set()
    _mountinfo, poller = mount_table_changes()
    while time.monotonic() < deadline:
        if mode == "kill-offline":
            # The offline write is short: freeze the module's whole tree the
            # moment its mount shows (woken by the mount table's change, not
            # by slow polling under TCG), before it or an umount child can
            # unmount.
            module = module or (find_module(jid) if jid else None)
            if not module:
                time.sleep(0.5)
                continue
            poller.poll(200)
            if mounts_of(disk):
                frozen = freeze(module)
                break
            if not cmdline(module):
                # The module ended (e.g. failed early): no need to wait out the timeout.
                print(json.dumps({"error": "%s: the module building %s ended before that stage" % (mode, name)}))
                return 3
            continue
        module = find_module(jid) if jid else None
        build = find_build(name, descendants(module) if module else None)
        if build and os.path.exists(disk) and (module or mode == "reboot"):
            break
        time.sleep(0.5)
    else:
        print(json.dumps({"error": "%s: the build of %s did not reach that stage within %ds" % (mode, name, timeout)}))
        return 3
    if mode == "reboot":
        print(json.dumps({"build_pid": build, "action": "reboot"}), flush=True)
        subprocess.run(["systemctl", "reboot"], check=True)
        return 0
    if not frozen:
        frozen = freeze(module)
    mounted = mounts_of(disk)
    killed = kill(frozen)
    print(json.dumps({"module_pid": module, "build_pid": build, "killed": killed, "mounted": mounted}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
