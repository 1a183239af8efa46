# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""locks: lock file names, owner records, and real flock serialisation between processes."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import locks
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import (
    LockTimeout,
    disk_lock_names,
    guest_lock_name,
    locked,
    owner_alive,
    process_owner,
    process_start_time,
)
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import PATIENCE

# -- names ---------------------------------------------------------------------


def test_guest_lock_name():
    assert guest_lock_name("web1") == "guest-web1.lock"


def test_the_default_directory_is_under_run_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(locks, "LOCK_DIR", None)
    assert locks.lock_dir() == "/run/lock/kuutorvaja-xen"
    assert locks.lock_dir((str(tmp_path / "none"), str(tmp_path))) == str(tmp_path / "kuutorvaja-xen")
    with pytest.raises(GuestError, match="no lock directory"):
        locks.lock_dir((str(tmp_path / "none"),))


def test_two_names_of_one_file_share_a_lock(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"")
    os.link(str(disk), str(tmp_path / "hard.img"))
    os.symlink(str(disk), str(tmp_path / "soft.img"))
    st = disk.stat()
    identity = "disk-file-%d-%d.lock" % (st.st_dev, st.st_ino)
    for name in ("disk.img", "hard.img", "soft.img"):
        assert identity in disk_lock_names(str(tmp_path / name))


def test_a_path_keeps_its_path_lock_when_the_file_appears(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink("real", str(tmp_path / "via"))
    missing = disk_lock_names(str(tmp_path / "via" / "disk.img"))
    assert len(missing) == 1 and missing[0].startswith("disk-path-") and missing[0].endswith(".lock")
    (tmp_path / "real" / "disk.img").write_bytes(b"")
    present = disk_lock_names(str(tmp_path / "real" / "disk.img"))
    assert missing[0] in present and len(present) == 2


def test_a_block_device_is_named_by_its_numbers():
    names = disk_lock_names("/dev/vg0/web1-disk", identities=lambda _p: {("block", os.makedev(253, 3))})
    assert "disk-block-253-3.lock" in names


# -- owners --------------------------------------------------------------------


def fake_proc(tmp_path, pid, stat_line, boot="boot-a"):
    proc = tmp_path / "proc"
    (proc / "sys" / "kernel" / "random").mkdir(parents=True, exist_ok=True)
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text(boot + "\n")
    if pid is not None:
        (proc / str(pid)).mkdir(exist_ok=True)
        (proc / str(pid) / "stat").write_text(stat_line)
    return str(proc)


# Field 22 is 4242; the command name holds a space and a ')'.
STAT = "77 (a b) c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 10 18446744073709551615\n"


def test_start_time_is_field_22_counted_after_the_command_name(tmp_path):
    assert process_start_time(77, fake_proc(tmp_path, 77, STAT)) == 4242
    assert process_start_time(78, fake_proc(tmp_path, 77, STAT)) is None


@pytest.mark.parametrize("owner, alive", [
    (dict(pid=77, start_time=4242, boot_id="boot-a"), True),
    (dict(pid=77, start_time=4241, boot_id="boot-a"), False),  # the pid was reused
    (dict(pid=77, start_time=4242, boot_id="boot-b"), False),  # another boot
    (dict(pid=78, start_time=4242, boot_id="boot-a"), False),  # dead
    (dict(pid=77, start_time=None, boot_id="boot-a"), False),  # incomplete
    (dict(pid=True, start_time=4242, boot_id="boot-a"), False),
    (dict(pid="77", start_time=4242, boot_id="boot-a"), False),
    (None, False),
    ("77", False),
])
def test_owner_alive_as_data(tmp_path, owner, alive):
    assert owner_alive(owner, fake_proc(tmp_path, 77, STAT)) is alive


def test_this_process_is_alive_and_a_finished_one_is_not():
    assert owner_alive(process_owner())
    child = subprocess.Popen(["sleep", "30"])
    owner = process_owner(child.pid)
    assert owner_alive(owner)
    child.kill()
    child.wait()
    assert not owner_alive(owner)


# -- the lock itself, between real processes -----------------------------------


def test_a_second_run_waits_for_the_first_then_proceeds(lock_holder, lock_dir):
    first = lock_holder("web1")
    with open(os.path.join(lock_dir, "guest-web1.lock")) as handle:
        assert handle.read() == "%d guest web1\n" % first.pid
    # Let the first go a moment after the second starts to wait.
    releaser = multiprocessing.get_context("fork").Process(target=lambda: (time.sleep(0.5), first.release.set()))
    releaser.start()
    asked = time.time()
    with locked(guest="web1", timeout=PATIENCE):
        got = time.time()
        with open(os.path.join(lock_dir, "guest-web1.lock")) as handle:
            assert handle.read() == "%d guest web1\n" % os.getpid()
    releaser.join(PATIENCE)
    first.join(PATIENCE)
    with open(first.log) as handle:
        released = float(handle.read().split()[1])
    assert got - asked >= 0.4 and got >= released
    # Released: our pid is gone from the file again.
    with open(os.path.join(lock_dir, "guest-web1.lock")) as handle:
        assert handle.read() == ""


def test_a_short_timeout_fails_naming_the_lock_file_and_its_holder(lock_holder, lock_dir):
    first = lock_holder("web1")
    started = time.monotonic()
    with pytest.raises(LockTimeout) as caught:
        with locked(guest="web1", timeout=0.5):
            pytest.fail("got a lock another process holds")
    assert time.monotonic() - started >= 0.5
    message = str(caught.value)
    assert os.path.join(lock_dir, "guest-web1.lock") in message
    assert "held by pid %d (working on guest web1)" % first.pid in message and "0.5 s" in message


def test_another_guest_does_not_wait(lock_holder):
    lock_holder("web1")
    with locked(guest="web2", timeout=0.2):
        pass


def test_two_names_of_one_disk_are_one_lock_across_guests(lock_holder, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"")
    os.symlink(str(disk), str(tmp_path / "alias.img"))
    lock_holder("web1", disks=[str(disk)])
    with pytest.raises(LockTimeout, match="working on disk %s" % disk):
        with locked(guest="web2", disks=[str(tmp_path / "alias.img")], timeout=0.3):
            pytest.fail("got a disk lock another process holds")


def test_check_runs_share_and_a_real_run_waits_for_them(lock_holder):
    lock_holder("web1", shared=True)
    with locked(guest="web1", shared=True, timeout=0.3):
        pass
    with pytest.raises(LockTimeout, match="a check-mode run"):
        with locked(guest="web1", timeout=0.3):
            pytest.fail("an exclusive lock beside a shared one")


def test_disk_locks_follow_a_file_that_appeared_while_waiting(lock_dir, tmp_path):
    seen = []

    def identities(_path):
        # Missing on the first look; there (as inode 9 on device 1) once the path lock is held.
        seen.append(_path)
        return set() if len(seen) == 1 else {("file", 1, 9)}

    with locked(disks=[str(tmp_path / "disk.img")], identities=identities, timeout=1):
        with open(os.path.join(lock_dir, "disk-file-1-9.lock")) as handle:
            assert handle.read().startswith("%d disk " % os.getpid())
    assert len(seen) == 3


def test_a_lock_directory_others_can_write_is_refused(tmp_path, monkeypatch):
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o777)
    monkeypatch.setattr(locks, "LOCK_DIR", str(directory))
    with pytest.raises(GuestError, match="refusing to use it"):
        with locked(guest="web1"):
            pass
