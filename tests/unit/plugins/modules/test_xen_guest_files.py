# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_guest_files through main(): refusals before anything is mounted.

The attach/mount/always-unmount sequence is tested in module_utils/test_xen_guest_files_backend.py;
real loop mounts are proven by tests/integration/offline_local.yml.
"""

from __future__ import annotations

import os

from ansible_collections.kuutorvaja.xen.plugins.modules import xen_guest_files

from ...conftest import fixture_text
from ...conftest_helpers import ext_head, xl_list_long

XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))


def image(tmp_path):
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.write(ext_head())
        handle.truncate(64 << 20)
    return str(path)


def test_running_guest_is_not_mounted(module_harness, tmp_path):
    result = module_harness(xen_guest_files.main, dict(name="test1", image=image(tmp_path),
                                                       operations=[{"action": "read", "path": "/etc/hostname"}]), [XL_TEST1])
    assert result["failed"] and "refusing to mount its disk" in result["msg"]
    result["_script"].assert_done()


def test_another_live_guests_disk_is_not_mounted(module_harness, tmp_path):
    path = image(tmp_path)
    result = module_harness(xen_guest_files.main, dict(name="web1", image=path,
                                                       operations=[{"action": "read", "path": "/etc/hostname"}]), [
        (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt")),
        (["xl", "list", "-l"], 0, xl_list_long(disk=path)),
    ])
    assert result["failed"] and "is a disk of the live domain(s) test1" in result["msg"]
    assert "refusing to mount it while they run" in result["msg"]
    # Refused before losetup or mount: the script holds no more commands.
    result["_script"].assert_done()


def test_missing_password_hash_refused_by_the_spec(module_harness, tmp_path):
    result = module_harness(xen_guest_files.main, dict(name="web1", image=image(tmp_path),
                                                       operations=[{"action": "password"}]), [])
    assert result["failed"] and "password_hash" in result["msg"]


def test_move_needs_dest(module_harness, tmp_path):
    result = module_harness(xen_guest_files.main, dict(name="web1", image=image(tmp_path),
                                                       operations=[{"action": "move", "path": "/lib/tls"}]), [])
    assert result["failed"] and "dest" in result["msg"]


def test_the_mount_that_ran_is_nodev_nosuid_noexec(module_harness, tmp_path, monkeypatch):
    """commands_run shows the guest's filesystem mounted nodev,nosuid,noexec on a directory of this run."""
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files as backend

    monkeypatch.setattr(backend.os, "urandom", lambda n: b"\0" * n)
    path = image(tmp_path)
    point = "%s/%d-%s-00000000" % (backend.MOUNT_DIR, os.getpid(), backend._process_start(os.getpid()))
    result = module_harness(xen_guest_files.main, dict(name="web1", image=path,
                                                       operations=[{"action": "read", "path": "/etc/hostname"}]), [
        (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt")),
        (["xl", "list", "-l"], 0, xl_list_long()),
        (["losetup", "-j", path], 0, ""),
        (["losetup", "--find", "--show", "--read-only", path], 0, "/dev/loop4\n"),
        (["mount", "-o", "ro,nodev,nosuid,noexec", "/dev/loop4", point], 0, ""),
        (["umount", point], 0, ""),
        (["losetup", "-d", "/dev/loop4"], 0, ""),
    ], installed=("xl", "losetup", "mount", "umount"))
    assert not result.get("failed"), result
    assert ["/usr/sbin/mount", "-o", "ro,nodev,nosuid,noexec", "/dev/loop4", point] in result["commands_run"]
    assert result["files"] == {"/etc/hostname": None}
    result["_script"].assert_done()
