# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print, as JSON, what a fault must not leave behind or change on the dom0.

Usage: host_state.py [--ignore REGEX] [--procs REGEX] DIR...

* files:   every entry under each DIR (not DIR itself; a missing DIR is
           empty): type, mode, size of regular files, symlink target. No
           times: a running guest's disk changes its mtime on its own.
* sums:    sha256 of the regular files up to 1 MiB (configs, markers).
* mounts:  every mount: mount point, type, source, and the backing file of
           a loop device.
* loops:   the backing file of every attached loop device (not the device:
           the kernel numbers them).
* domains: name, ID, memory and vCPUs of each domain (``xl list``).
* procs:   command lines matching --procs (e.g. a build that should be gone).

Entries matching --ignore are left out: on a shared lab, other sessions'
guests come and go while a fault runs.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import stat
import subprocess

SUM_LIMIT = 1024 * 1024


def _kind(mode):
    for test, letter in ((stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"), (stat.S_ISREG, "f")):
        if test(mode):
            return letter
    return "o"


def files(roots):
    """(listing, sums) of the entries below ``roots``."""
    listing, sums = [], []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                path = os.path.join(dirpath, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                kind = _kind(info.st_mode)
                entry = "%s %04o %s" % (kind, stat.S_IMODE(info.st_mode), path)
                if kind == "f":
                    entry += " size=%d" % info.st_size
                    if info.st_size <= SUM_LIMIT:
                        with open(path, "rb") as handle:
                            sums.append("%s %s" % (hashlib.sha256(handle.read()).hexdigest(), path))
                elif kind == "l":
                    entry += " -> " + os.readlink(path)
                listing.append(entry)
    return listing, sums


def loops():
    """Loop device -> backing file."""
    found = {}
    for path in glob.glob("/sys/block/loop*/loop/backing_file"):
        device = "/dev/" + path.split("/")[3]
        with open(path) as handle:
            found[device] = handle.read().strip()
    return found


def mounts(backing):
    """Every mount as 'point type source [<- backing file]'.

    A mount inside a loop mount (xen-tools binds /proc and /dev/pts into the
    guest it installs) carries that loop device's backing file too, so that
    it is named by the guest it belongs to.
    """
    rows = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            dash = fields.index("-", 6)
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            rows.append((point, fields[dash + 1], fields[dash + 2]))
    loop_points = {point: backing[source] for point, _kind, source in rows if source in backing}
    out = []
    for point, kind, source in rows:
        entry = "%s %s %s" % (point, kind, source)
        holders = [p for p in loop_points if point == p or point.startswith(p.rstrip("/") + "/")]
        if holders:
            entry += " <- " + loop_points[max(holders, key=len)]
        out.append(entry)
    return out


def domains():
    """'name id memory vcpus' per domain (CPU time and run flags move on their own)."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    listed = subprocess.run(["xl", "list"], env=env, check=True, capture_output=True, text=True).stdout
    return [" ".join(line.split()[:4]) for line in listed.splitlines()[1:] if line.strip()]


def procs(pattern):
    """Command lines of the processes matching ``pattern`` (this script left out)."""
    found = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        if path.split("/")[2] == str(os.getpid()):
            continue
        try:
            with open(path, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if cmdline and re.search(pattern, cmdline):
            found.append(cmdline)
    return found


def main():
    """Collect and print the state."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ignore", default="")
    parser.add_argument("--procs", default="xen-create-image")
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    listing, sums = files(args.dirs)
    backing = loops()
    state = {
        "files": listing,
        "sums": sums,
        "mounts": mounts(backing),
        # Backing files alone: after a reboot (fault 3) xendomains attaches
        # the same guests' disks to other loop devices.
        "loops": list(backing.values()),
        "domains": domains(),
        "procs": procs(args.procs),
    }
    ignore = re.compile(args.ignore) if args.ignore else None
    print(json.dumps({key: sorted(v for v in values if not (ignore and ignore.search(v)))
                      for key, values in state.items()}))


if __name__ == "__main__":
    main()
