# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guest mount against this host's real losetup, mount and ext4 (root and loop devices needed, else skipped).

A real image with a FIFO and a device node planted where the module reads,
mounted nodev,nosuid,noexec; a run killed with SIGKILL while it holds the
mount, whose leftovers the next run releases.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import parse_mountinfo
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import PATIENCE

TOOLS = ("losetup", "mount", "umount", "mkfs.ext4")
C_ENV = dict(os.environ, LANG="C", LC_ALL="C")


def tool(name):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control") or not all(tool(t) for t in TOOLS),
    reason="needs root, loop devices and %s" % ", ".join(TOOLS),
)


class RealRunner:
    """Runs the command for real (argv list, no shell), as CommandRunner does."""

    def run(self, argv, check_rc=True, data=None, env=None):
        proc = subprocess.run([tool(argv[0])] + list(argv[1:]), check=False, capture_output=True, text=True, env=C_ENV)
        if check_rc and proc.returncode:
            raise CommandError(argv, proc.returncode, proc.stdout, proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr


def mounts():
    with open("/proc/self/mountinfo") as handle:
        text = handle.read()
    return text, parse_mountinfo(text)


@pytest.fixture
def image(tmp_path, monkeypatch):
    monkeypatch.setattr(xen_guest_files, "MOUNT_DIR", str(tmp_path / "guest-mounts"))
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.truncate(16 << 20)
    subprocess.run([tool("mkfs.ext4"), "-q", "-F", str(path)], check=True, capture_output=True, env=C_ENV)
    yield str(path)
    attached = RealRunner().run(["losetup", "-j", str(path)], check_rc=False)[1]
    assert not attached, "left attached: %s" % attached


def test_planted_fifo_and_device_on_a_real_nodev_mount(image):
    with xen_guest_files.GuestMount(RealRunner(), image) as mount:
        text, table = mounts()
        line = next(line for line in text.splitlines() if (" %s " % mount.mountpoint) in line)
        assert {"nodev", "nosuid", "noexec"} <= set(line.split()[5].split(","))
        assert mount.mountpoint in [point for point, _source in table]
        root = mount.mountpoint
        os.makedirs(os.path.join(root, "etc"))
        os.mkfifo(os.path.join(root, "etc", "passwd"))
        os.mknod(os.path.join(root, "etc", "shadow"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        with open(os.path.join(root, "etc", "hostname"), "w") as handle:
            handle.write("web1\n")
    for operations, message in (
        ([{"action": "write", "path": "/etc/hostname", "content": "x\n"},
          {"action": "write", "path": "/etc/motd", "content": "x", "owner": "www"}],
         "/etc/passwd inside the guest is a fifo, not a regular file"),
        ([{"action": "password", "password_hash": "$6$x$y"}], "/etc/shadow inside the guest is a char device"),
    ):
        with pytest.raises(GuestError, match=message):
            xen_guest_files.run_operations(RealRunner(), image, operations)
    results, _diff, _facts = xen_guest_files.run_operations(RealRunner(), image, [{"action": "read", "path": "/etc/hostname"}])
    assert results[0]["content"] == "web1\n"
    assert os.listdir(xen_guest_files.MOUNT_DIR) == []


CHILD = textwrap.dedent("""
    import os, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files

    class Runner:
        def run(self, argv, check_rc=True, data=None, env=None):
            proc = subprocess.run(argv, capture_output=True, text=True)
            assert proc.returncode == 0 or not check_rc, proc.stderr
            return proc.returncode, proc.stdout, proc.stderr

    xen_guest_files.MOUNT_DIR = sys.argv[3]
    with xen_guest_files.GuestMount(Runner(), sys.argv[2]) as mount:
        print(mount.mountpoint, flush=True)
        time.sleep(120)
""")


def test_the_next_run_releases_what_a_killed_run_left(image):
    import ansible_collections

    collections_root = os.path.dirname(os.path.abspath(list(ansible_collections.__path__)[0]))
    child = subprocess.Popen([sys.executable, "-c", CHILD, collections_root, image, xen_guest_files.MOUNT_DIR],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        point = child.stdout.readline().strip()
        assert point, child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=PATIENCE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert point in [p for p, _source in mounts()[1]]
    with xen_guest_files.GuestMount(RealRunner(), image, read_only=True) as mount:
        assert mount.released == [point]
        assert point not in [p for p, _source in mounts()[1]]
    assert os.listdir(xen_guest_files.MOUNT_DIR) == []
