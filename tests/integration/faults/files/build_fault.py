# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
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

Exit status 3 when the stage was not reached within TIMEOUT.
"""

import glob
import json
import os
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


def descendants(root):
    """``root`` and every process below it."""
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid in pids():
            if pid not in tree and parent(pid) in tree:
                tree.add(pid)
                grew = True
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
        with open(path) as handle:
            if handle.read().strip() == os.path.realpath(disk):
                devices.add("/dev/" + path.split("/")[3])
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            if fields[fields.index("-", 6) + 2] in devices:
                points.append(fields[4])
    return points


def kill_tree(module):
    """Freeze, then SIGKILL ``module`` and everything below it; returns what was killed."""
    frozen = set()
    while True:
        tree = descendants(module) - frozen
        if not tree:
            break
        for pid in tree:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen |= tree
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


def main():
    """Wait for the stage, then strike."""
    mode, name, disk, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    jid = sys.argv[5] if len(sys.argv) > 5 else None
    deadline = time.monotonic() + timeout
    module = build = None
    while time.monotonic() < deadline:
        if mode == "kill-offline":
            # The offline write is short: stop the module the moment its
            # mount shows, before it can unmount (polling slowly under TCG
            # struck during its cleanup).
            module = module or (find_module(jid) if jid else None)
            if module and mounts_of(disk):
                os.kill(module, signal.SIGSTOP)
                break
            time.sleep(0.1 if module else 0.5)
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
    mounted = mounts_of(disk)
    killed = kill_tree(module)
    print(json.dumps({"module_pid": module, "build_pid": build, "killed": killed, "mounted": mounted}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
