# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guest mount: nodev,nosuid,noexec, SIGTERM/SIGHUP unwind it, a later run releases what a killed one left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import PATIENCE, ScriptedRunner, write_ext_image

from ansible_collections.kuutorvaja.xen.plugins.module_utils import host_tools, xen_guest_files
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import Mounts
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import GuestMount, _process_start

SAFE = "nodev,nosuid,noexec"


@pytest.mark.parametrize("options, expected", [
    (None, SAFE),
    ("ro", "ro," + SAFE),
    ("ro,noload", "ro,noload," + SAFE),
    ("exec,suid,dev,nodev,ro", "ro," + SAFE),
])
def test_every_guest_mount_is_nodev_nosuid_noexec(options, expected):
    assert Mounts.mount_argv("/dev/loop3", "/mnt/x", options) == ["mount", "-o", expected, "/dev/loop3", "/mnt/x"]


@pytest.fixture
def image(tmp_path):
    return write_ext_image(tmp_path / "disk.img", 64 << 20)


@pytest.fixture
def mountinfo(tmp_path, monkeypatch):
    """A stand-in /proc/self/mountinfo; returns a function that sets its mounts ``[(point, source)]``."""
    path = tmp_path / "mountinfo"
    path.write_text("")
    monkeypatch.setattr(host_tools, "MOUNTINFO", str(path))

    def set_mounts(mounts):
        path.write_text("".join("%d 1 7:0 / %s rw,nodev - ext4 %s rw\n" % (40 + i, point, source)
                                for i, (point, source) in enumerate(mounts)))
    return set_mounts


def run_ops_calls(img, device, read_only=True):
    """The commands of one clean offline access (after ``losetup -j``)."""
    attach = ["losetup", "--find", "--show"] + (["--read-only"] if read_only else []) + [img]
    return [(attach, 0, device + "\n"),
            (["mount", "-o", ("ro," if read_only else "") + SAFE, device], 0, ""),
            (["umount"], 0, ""),
            (["losetup", "-d", device], 0, "")]


def test_every_caller_mounts_with_the_guest_options(image):
    """run_operations read-only and read-write: the argv that ran, as the runner saw it."""
    for ops, read_only in (([{"action": "stat", "path": "/etc"}], True),
                           ([{"action": "move", "path": "/etc/motd", "dest": "/etc/motd.old"}], False)):
        runner = ScriptedRunner([(["losetup", "-j", image], 0, "")] + run_ops_calls(image, "/dev/loop4", read_only),
                                prefix=True)
        xen_guest_files.run_operations(runner, image, ops)
        mounts = [argv for argv in runner.seen if argv[0] == "mount"]
        assert len(mounts) == 1 and mounts[0][1] == "-o" and mounts[0][2].split(",")[-3:] == SAFE.split(",")
        assert mounts[0][4].startswith(xen_guest_files.MOUNT_DIR + "/%d-" % os.getpid())
        assert not runner.calls and os.listdir(xen_guest_files.MOUNT_DIR) == []


def leftover(token, image, device, with_record=True):
    """A killed run's mount directory (and record) under MOUNT_DIR; returns the mount point."""
    point = os.path.join(xen_guest_files.MOUNT_DIR, token)
    os.makedirs(point)
    if with_record:
        with open(point + ".json", "w") as handle:
            json.dump({"image": os.path.realpath(image), "device": device}, handle)
    return point


def dead_token():
    """A token whose process is gone: this pid with a start time it never had."""
    return "%d-1-deadbeef" % os.getpid()


def live_token():
    return "%d-%s-cafe" % (os.getpid(), _process_start(os.getpid()))


def test_killed_runs_mount_is_released_then_mounted_again(image, mountinfo):
    point = leftover(dead_token(), image, "/dev/loop5")
    mountinfo([("/", "/dev/sda1"), (point, "/dev/loop5")])
    runner = ScriptedRunner([
        (["losetup", "-j", image], 0, "/dev/loop5: [2049]:12 (%s)\n" % image),
        (["umount", point], 0, ""),
        (["losetup", "-d", "/dev/loop5"], 0, ""),
        (["losetup", "-j", image], 0, ""),
    ] + run_ops_calls(image, "/dev/loop6"), prefix=True)
    mountinfo_after = [("/", "/dev/sda1")]
    with GuestMount(runner, image, read_only=True) as mount:
        mountinfo(mountinfo_after)
        assert mount.released == [point]
    assert not runner.calls and os.listdir(xen_guest_files.MOUNT_DIR) == []


def test_killed_runs_attached_device_is_detached_by_its_record(image, mountinfo):
    """Killed after umount (or before mount): only the record proves the device was that run's."""
    leftover(dead_token(), image, "/dev/loop5")
    runner = ScriptedRunner([
        (["losetup", "-j", image], 0, "/dev/loop5: [2049]:12 (%s)\n" % image),
        (["losetup", "-d", "/dev/loop5"], 0, ""),
        (["losetup", "-j", image], 0, ""),
    ] + run_ops_calls(image, "/dev/loop5"), prefix=True)
    with GuestMount(runner, image, read_only=True):
        pass
    assert not runner.calls and os.listdir(xen_guest_files.MOUNT_DIR) == []


@pytest.mark.parametrize("case", ["live run", "mounted elsewhere too", "record of another image", "no proof",
                                  "not our directory"])
def test_what_is_not_provably_a_killed_runs_is_left_alone(image, mountinfo, case):
    token = live_token() if case == "live run" else dead_token()
    other = "/srv/other.img" if case == "record of another image" else image
    point = leftover(token, other, "/dev/loop5", with_record=case != "no proof")
    mounts = [(point, "/dev/loop5")] if case in ("live run", "mounted elsewhere too", "record of another image") else []
    if case == "mounted elsewhere too":
        mounts.append(("/mnt/admin", "/dev/loop5"))
    if case == "not our directory":
        os.rename(point, os.path.join(xen_guest_files.MOUNT_DIR, "someones"))
        mounts = [(os.path.join(xen_guest_files.MOUNT_DIR, "someones"), "/dev/loop5")]
    mountinfo(mounts)
    before = sorted(os.listdir(xen_guest_files.MOUNT_DIR))
    runner = ScriptedRunner([(["losetup", "-j", image], 0, "/dev/loop5: [2049]:12 (%s)\n" % image)], prefix=True)
    with pytest.raises(GuestError, match="already attached to /dev/loop5 .*not by a killed run of this module"):
        with GuestMount(runner, image, read_only=True):
            pass
    assert not runner.calls and sorted(os.listdir(xen_guest_files.MOUNT_DIR)) == before


def test_unreleasable_leftover_is_reported(image, mountinfo):
    point = leftover(dead_token(), image, "/dev/loop5")
    mountinfo([(point, "/dev/loop5")])
    runner = ScriptedRunner([(["losetup", "-j", image], 0, "/dev/loop5: [2049]:12 (%s)\n" % image)]
                            + [(["umount", point], 32, "")] * Mounts.umount_attempts, prefix=True)
    mount = GuestMount(runner, image, read_only=True)
    mount.mounts.sleep = lambda seconds: None
    with pytest.raises(GuestError, match="could not release what a killed run left on %s: umount %s failed" % (image, point)):
        with mount:
            pass
    assert os.path.isdir(point)


def test_signal_inside_the_block_unwinds_it(image, mountinfo):
    runner = ScriptedRunner([(["losetup", "-j", image], 0, "")] + run_ops_calls(image, "/dev/loop4"), prefix=True)
    previous = signal.getsignal(signal.SIGHUP)
    with pytest.raises(xen_guest_files.GuestInterrupted, match="stopped by SIGHUP during offline access"):
        with GuestMount(runner, image, read_only=True):
            os.kill(os.getpid(), signal.SIGHUP)
            raise AssertionError("not interrupted")
    assert not runner.calls and os.listdir(xen_guest_files.MOUNT_DIR) == []
    assert signal.getsignal(signal.SIGHUP) == previous


CHILD = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files

    log = open(sys.argv[3], "a")

    class Runner:
        def run(self, argv, check_rc=True, data=None, env=None):
            log.write(json.dumps(argv) + "\\n")
            log.flush()
            return 0, "/dev/loop9\\n" if argv[:2] == ["losetup", "--find"] else "", ""

    xen_guest_files.MOUNT_DIR = sys.argv[4]
    try:
        with xen_guest_files.GuestMount(Runner(), sys.argv[2]) as mount:
            print(mount.mountpoint, flush=True)
            time.sleep(60)
    except xen_guest_files.GuestInterrupted as exc:
        print("interrupted: %s" % exc, flush=True)
        sys.exit(3)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_to_a_real_process_releases_its_mount(image, tmp_path, signum):
    """A real child holding a (stubbed) mount: the signal turns into unmount, detach, directory and record removed."""
    import ansible_collections

    collections_root = os.path.dirname(os.path.dirname(os.path.abspath(ansible_collections.__path__[0] + "/x")))
    log, state = str(tmp_path / "commands.log"), str(tmp_path / "state")
    child = subprocess.Popen([sys.executable, "-c", CHILD, collections_root, image, log, state],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        point = child.stdout.readline().strip()
        assert point.startswith(state + "/%d-" % child.pid), child.stderr.read()
        assert os.path.isdir(point) and os.path.exists(point + ".json")
        child.send_signal(signum)
        out, err = child.communicate(timeout=PATIENCE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 3, (out, err)
    assert "interrupted: stopped by %s" % signal.Signals(signum).name in out
    ran = [json.loads(line) for line in open(log)]
    assert ran[-2:] == [["umount", point], ["losetup", "-d", "/dev/loop9"]]
    assert ["mount", "-o", SAFE, "/dev/loop9", point] in ran
    assert os.listdir(state) == []
