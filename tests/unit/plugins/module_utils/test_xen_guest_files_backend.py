# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline guest file access: path confinement, file operations, always-unmount."""

from __future__ import annotations

import os

import pytest

from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import ScriptedRunner

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import FileOps, GuestMount, GuestTree, run_operations

from .test_xen_disk_backend import ext_head, mbr_head


@pytest.fixture
def root(tmp_path):
    guest = tmp_path / "guest"
    (guest / "etc" / "console").mkdir(parents=True)
    (guest / "etc" / "hostname").write_text("web1\n")
    (guest / "etc" / "console" / "boottime.kmap.gz").write_bytes(b"kmap")
    (guest / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n")
    (guest / "etc" / "group").write_text("root:x:0:\nwww:x:33:\n")
    (guest / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    (guest / "lib" / "tls").mkdir(parents=True)
    return str(guest)


def resolved(root, path, follow_last=True):
    with GuestTree(root) as tree, tree.locate(path, follow_last) as loc:
        return loc.guest_path


def test_absolute_symlink_resolves_inside_the_guest(root):
    os.symlink("/etc/hostname", os.path.join(root, "etc", "link"))
    assert resolved(root, "/etc/link") == "/etc/hostname"
    os.symlink("../../../../../../etc", os.path.join(root, "escape"))
    assert resolved(root, "/escape/hostname") == "/etc/hostname"
    assert resolved(root, "/../../etc/hostname") == "/etc/hostname"
    assert resolved(root, "/etc/console/..") == "/etc"
    assert resolved(root, "/etc/link", follow_last=False) == "/etc/link"
    with pytest.raises(GuestError, match="must be absolute"):
        resolved(root, "etc/hostname")


def test_symlink_loop_refused(root):
    os.symlink("/b", os.path.join(root, "a"))
    os.symlink("/a", os.path.join(root, "b"))
    with pytest.raises(GuestError, match="too many symlinks"):
        resolved(root, "/a/x")


def test_read_and_stat(root):
    ops = FileOps(root)
    assert ops.apply({"action": "read", "path": "/etc/hostname"})["content"] == "web1\n"
    assert ops.apply({"action": "read", "path": "/etc/missing"}) == {
        "exists": False, "content": None, "action": "read", "path": "/etc/missing", "changed": False}
    assert ops.apply({"action": "stat", "path": "/lib/tls"})["type"] == "directory"


def test_seed_fixes_move_aside_idempotently(root):
    ops = FileOps(root)
    kmap = {"action": "move", "path": "/etc/console/boottime.kmap.gz",
            "dest": "/etc/console/boottime.kmap.gz-muidu-segab-xenni"}
    tls = {"action": "move", "path": "/lib/tls", "dest": "/lib/tls.disabled"}
    assert ops.apply(kmap)["changed"] and ops.apply(tls)["changed"]
    assert os.path.exists(os.path.join(root, "etc/console/boottime.kmap.gz-muidu-segab-xenni"))
    assert os.path.isdir(os.path.join(root, "lib/tls.disabled"))
    again = ops.apply(kmap)
    assert not again["changed"] and again["state"] == "moved"
    assert ops.apply({"action": "move", "path": "/nothing", "dest": "/nothing.old"})["state"] == "missing"


def test_move_refused_when_both_exist(root):
    open(os.path.join(root, "lib/tls.disabled"), "w").close()
    with pytest.raises(GuestError, match="both exist"):
        FileOps(root).apply({"action": "move", "path": "/lib/tls", "dest": "/lib/tls.disabled"})


def test_write_directory_and_owner_names_from_the_guest(root):
    ops = FileOps(root)
    uid = os.getuid()
    owner = "www" if uid == 0 else None
    d = ops.apply({"action": "directory", "path": "/root", "mode": "0700"})
    assert d["changed"]
    w = ops.apply({"action": "write", "path": "/root/authorized_keys", "content": "ssh-ed25519 AAAA x\n",
                   "mode": "0600", "owner": owner})
    assert w["changed"]
    st = os.stat(os.path.join(root, "root/authorized_keys"))
    assert oct(st.st_mode & 0o777) == "0o600"
    if uid == 0:
        assert st.st_uid == 33
    assert ops.diff["after"] == "# /root/authorized_keys\nssh-ed25519 AAAA x\n"
    again = FileOps(root).apply({"action": "write", "path": "/root/authorized_keys", "content": "ssh-ed25519 AAAA x\n",
                                 "mode": "0600", "owner": owner})
    assert not again["changed"]


def test_write_needs_parent_and_unknown_owner_refused(root):
    with pytest.raises(GuestError, match="parent of /no/such/file does not exist"):
        FileOps(root).apply({"action": "write", "path": "/no/such/file", "content": "x"})
    with pytest.raises(GuestError, match="owner='nobody' is not known in the guest"):
        FileOps(root).apply({"action": "write", "path": "/etc/hostname", "content": "x", "owner": "nobody"})


def test_check_mode_writes_nothing(root):
    ops = FileOps(root, check_mode=True)
    assert ops.apply({"action": "write", "path": "/etc/hostname", "content": "other\n"})["changed"]
    assert ops.apply({"action": "move", "path": "/lib/tls", "dest": "/lib/tls.disabled"})["changed"]
    assert open(os.path.join(root, "etc/hostname")).read() == "web1\n"
    assert os.path.isdir(os.path.join(root, "lib/tls"))


def test_password_hash_set_and_never_in_diff(root):
    ops = FileOps(root)
    pw_hash = "$6$salt$abcdefghijklmnopqrstuvwxyz"
    result = ops.apply({"action": "password", "user": "root", "password_hash": pw_hash})
    assert result["changed"] and pw_hash not in repr(result) and pw_hash not in repr(ops.diff)
    assert open(os.path.join(root, "etc/shadow")).read().startswith("root:%s:19000" % pw_hash)
    assert not FileOps(root).apply({"action": "password", "user": "root", "password_hash": pw_hash})["changed"]
    with pytest.raises(GuestError, match="no entry"):
        FileOps(root).apply({"action": "password", "user": "ghost", "password_hash": pw_hash})


def test_persistent_net(root):
    os.makedirs(os.path.join(root, "etc/udev/rules.d"))
    with open(os.path.join(root, "etc/udev/rules.d/z25_persistent-net.rules"), "w") as handle:
        handle.write('SUBSYSTEM=="net", DRIVERS=="?*", ATTR{address}=="00:16:3e:2c:7e:ef", NAME="eth0"\n')
    assert FileOps(root).persistent_net() == [
        {"mac": "00:16:3e:2c:7e:ef", "name": "eth0", "file": "/etc/udev/rules.d/z25_persistent-net.rules"}]


def prefix_runner(calls):
    """The shared scripted runner, matching argv prefixes."""
    return ScriptedRunner(calls, prefix=True)


def write_image(path, head):
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(64 << 20)


def test_mount_unmounts_and_detaches_even_when_the_body_fails(tmp_path):
    img = str(tmp_path / "disk.img")
    write_image(img, ext_head())
    runner = prefix_runner([
        (["losetup", "-j", img], 0, ""),
        (["losetup", "--find", "--show", img], 0, "/dev/loop7\n"),
        (["mount", "-o", "nodev,nosuid,noexec", "/dev/loop7"], 0, ""),
        (["umount"], 0, ""),
        (["losetup", "-d", "/dev/loop7"], 0, ""),
    ])
    with pytest.raises(RuntimeError, match="operation failed"):
        with GuestMount(runner, img) as mount:
            mountpoint = mount.mountpoint
            raise RuntimeError("operation failed")
    assert not runner.calls and not os.path.exists(mountpoint)


def test_failed_mount_still_detaches(tmp_path):
    img = str(tmp_path / "disk.img")
    write_image(img, ext_head())
    runner = prefix_runner([
        (["losetup", "-j", img], 0, ""),
        (["losetup", "--find", "--show", "--read-only", img], 0, "/dev/loop7\n"),
        (["mount", "-o", "ro,nodev,nosuid,noexec", "/dev/loop7"], 32, ""),
        (["mount", "-o", "ro,noload,nodev,nosuid,noexec", "/dev/loop7"], 32, ""),
        (["losetup", "-d", "/dev/loop7"], 0, ""),
    ])
    with pytest.raises(CommandError):
        with GuestMount(runner, img, read_only=True):
            pass
    assert not runner.calls


def test_partitioned_image_mounted_at_the_partition_offset(tmp_path):
    img = str(tmp_path / "os.img")
    write_image(img, mbr_head([(0x82, 2048, 2048), (0x83, 4096, 8192)]))
    runner = prefix_runner([
        (["losetup", "-j", img], 0, ""),
        (["losetup", "--find", "--show", "--offset", str(4096 * 512), "--sizelimit", str(8192 * 512), img], 0, "/dev/loop2\n"),
        (["mount", "-o", "nodev,nosuid,noexec", "/dev/loop2"], 0, ""),
        (["umount"], 0, ""),
        (["losetup", "-d", "/dev/loop2"], 0, ""),
    ])
    with GuestMount(runner, img) as mount:
        assert mount.part["number"] == 2
    assert not runner.calls


def test_already_attached_image_refused(tmp_path):
    img = str(tmp_path / "disk.img")
    write_image(img, ext_head())
    runner = prefix_runner([(["losetup", "-j", img], 0, "/dev/loop0: [2049]:12 (%s)\n" % img)])
    with pytest.raises(GuestError, match="already attached"):
        with GuestMount(runner, img):
            pass


@pytest.mark.parametrize("op, message", [
    ({"action": "write", "path": "etc/motd", "content": "hi"}, "operations[0].path='etc/motd' must be absolute"),
    ({"action": "move", "path": "/etc/motd", "dest": "motd.old"}, "operations[0].dest='motd.old' must be absolute"),
    ({"action": "directory", "path": "/srv", "mode": "999"}, "operations[0].mode='999' must be an octal string"),
])
def test_bad_operations_refused_before_mounting(op, message):
    """Nothing is run (the runner would fail the test) for operations that cannot work."""
    class NoRunner:
        def run(self, argv, **kwargs):
            raise AssertionError("ran %r" % (argv,))

    with pytest.raises(GuestError) as raised:
        run_operations(NoRunner(), "/nonexistent.img", [op])
    assert message in str(raised.value)
