# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A guest's filesystem is hostile: crafted trees must be refused cleanly, touching nothing outside them.

Each tree is a temp dir standing in for the mounted root, next to a
``dom0`` directory standing in for the dom0's own files: links into it
(absolute and by ``../..``), FIFOs and device nodes where the module reads
or writes, oversized files, a directory where a file is expected.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files
from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically_at
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import READ_LIMIT, FileOps

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def trees(tmp_path):
    """``(guest root, dom0 dir)``: a small guest and the dom0 files it must never reach."""
    dom0 = tmp_path / "dom0"
    (dom0 / "etc").mkdir(parents=True)
    (dom0 / "etc" / "shadow").write_text("root:DOM0SECRET:19000:0:99999:7:::\n")
    guest = tmp_path / "mnt" / "guest"
    (guest / "etc").mkdir(parents=True)
    (guest / "root").mkdir()
    (guest / "etc" / "hostname").write_text("web1\n")
    (guest / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n")
    (guest / "etc" / "group").write_text("root:x:0:\nwww:x:33:\n")
    (guest / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    return str(guest), str(dom0)


def snapshot(path):
    """Every entry under ``path`` with its type, size, mode, mtime and content (to prove nothing changed)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as handle:
                    content = handle.read(4096)
            found[full] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_uid, content)
    return found


@contextlib.contextmanager
def no_hang(seconds=10):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def on_alarm(signum, frame):
        raise AssertionError("the operation hung")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def operate(root, operations, check_mode=False):
    """What run_operations does inside the mount: resolve and try everything first, then apply."""
    with FileOps(root, check_mode=check_mode) as ops:
        ops.prepare(operations)
        return [ops.apply(op) for op in operations], ops.diff, ops.persistent_net()


def refused(root, dom0, operations, message):
    """``operations`` fail with ``message``, without a hang, and neither tree changed (nor a descriptor left open)."""
    before = snapshot(os.path.dirname(os.path.dirname(root)))
    fds = sorted(os.listdir("/proc/self/fd"))
    with no_hang(), pytest.raises(GuestError) as raised:
        operate(root, operations)
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert message in str(raised.value), str(raised.value)
    assert "DOM0SECRET" not in str(raised.value)
    assert snapshot(os.path.dirname(os.path.dirname(root))) == before
    return str(raised.value)


# -- links out of the guest ---------------------------------------------------------


@pytest.mark.parametrize("target", ["ABS", "../../../dom0/etc/shadow", "../../../../../../../../dom0/etc/shadow"])
def test_link_to_dom0_file_is_read_inside_the_guest(trees, target):
    root, dom0 = trees
    link = os.path.join(dom0, "etc", "shadow") if target == "ABS" else target
    os.symlink(link, os.path.join(root, "etc", "motd"))
    before = snapshot(os.path.dirname(dom0))
    results, _diff, _net = operate(root, [{"action": "read", "path": "/etc/motd"}])
    # The link leads to a path inside the guest, which does not exist there.
    assert results[0]["exists"] is False and results[0]["content"] is None
    assert snapshot(os.path.dirname(dom0)) == before


def test_absolute_link_means_the_guests_own_file(trees):
    root, _dom0 = trees
    os.symlink("/etc/shadow", os.path.join(root, "etc", "motd"))
    assert operate(root, [{"action": "read", "path": "/etc/motd"}])[0][0]["content"] == "root:*:19000:0:99999:7:::\n"


@pytest.mark.parametrize("target", ["ABS", "../../../dom0/etc", "/../../../dom0/etc"])
def test_write_through_a_link_to_a_dom0_directory_is_refused(trees, target):
    root, dom0 = trees
    os.symlink(os.path.join(dom0, "etc") if target == "ABS" else target, os.path.join(root, "etc", "ssh"))
    refused(root, dom0, [{"action": "write", "path": "/etc/ssh/ssh_host_rsa_key", "content": "x"}],
            "parent of /etc/ssh/ssh_host_rsa_key does not exist inside the guest")


@pytest.mark.parametrize("target", ["ABS", "../../../dom0/etc/shadow"])
def test_write_to_a_link_to_a_dom0_file_is_refused(trees, target):
    root, dom0 = trees
    os.symlink(os.path.join(dom0, "etc", "shadow") if target == "ABS" else target, os.path.join(root, "etc", "motd"))
    refused(root, dom0, [{"action": "write", "path": "/etc/motd", "content": "x"}], "parent of /etc/motd does not exist")


def test_password_through_a_shadow_link_never_reads_the_dom0(trees):
    root, dom0 = trees
    os.unlink(os.path.join(root, "etc", "shadow"))
    os.symlink(os.path.join(dom0, "etc", "shadow"), os.path.join(root, "etc", "shadow"))
    refused(root, dom0, [{"action": "password", "password_hash": "$6$x$y"}], "the guest has no /etc/shadow")


def test_shadow_linked_to_itself_is_refused(trees):
    root, dom0 = trees
    os.unlink(os.path.join(root, "etc", "shadow"))
    os.symlink("../../../etc/shadow", os.path.join(root, "etc", "shadow"))
    refused(root, dom0, [{"action": "password", "password_hash": "$6$x$y"}], "too many symlinks")


def test_move_into_a_link_out_of_the_guest_is_refused(trees):
    root, dom0 = trees
    os.symlink(os.path.join(dom0, "etc"), os.path.join(root, "aside"))
    refused(root, dom0, [{"action": "move", "path": "/etc/hostname", "dest": "/aside/hostname"}],
            "parent of /aside/hostname does not exist inside the guest")


def test_passwd_linked_out_gives_no_dom0_names(trees):
    root, dom0 = trees
    with open(os.path.join(dom0, "etc", "passwd"), "w") as handle:
        handle.write("dom0only:x:4242:4242::/:/bin/sh\n")
    os.unlink(os.path.join(root, "etc", "passwd"))
    os.symlink(os.path.join(dom0, "etc", "passwd"), os.path.join(root, "etc", "passwd"))
    refused(root, dom0, [{"action": "write", "path": "/etc/motd", "content": "x", "owner": "dom0only"}],
            "owner='dom0only' is not known in the guest's /etc/passwd")


def test_link_in_place_of_the_file_is_replaced_not_followed(trees):
    """A relative link to a guest file is followed inside the guest; the dom0 tree stays as it was."""
    root, dom0 = trees
    os.symlink("../etc/hostname", os.path.join(root, "root", "name"))
    before = snapshot(dom0)
    results, _diff, _net = operate(root, [{"action": "write", "path": "/root/name", "content": "web2\n"}])
    assert results[0]["changed"]
    assert open(os.path.join(root, "etc", "hostname")).read() == "web2\n"
    assert os.path.islink(os.path.join(root, "root", "name"))
    assert snapshot(dom0) == before


def test_write_atomically_at_replaces_a_planted_link(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("keep\n")
    target = tmp_path / "dir"
    target.mkdir()
    os.symlink(str(outside), str(target / "file"))
    fd = os.open(str(target), os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_atomically_at(fd, "file", b"new\n", 0o640, None)
    finally:
        os.close(fd)
    assert outside.read_text() == "keep\n"
    assert not os.path.islink(str(target / "file")) and (target / "file").read_text() == "new\n"
    assert stat.S_IMODE(os.stat(str(target / "file")).st_mode) == 0o640
    assert sorted(os.listdir(str(target))) == ["file"]


# -- FIFOs, devices, directories, sizes -----------------------------------------------


def plant(root, path, kind):
    full = os.path.join(root, path.lstrip("/"))
    if os.path.isdir(full) and not os.path.islink(full):
        os.rmdir(full)
    elif os.path.lexists(full):
        os.unlink(full)
    if kind == "fifo":
        os.mkfifo(full)
    elif kind == "char_device":
        os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    elif kind == "directory":
        os.mkdir(full)
    return full


KINDS = ["fifo", "directory"] + (["char_device"] if IS_ROOT else [])


@pytest.mark.parametrize("kind", KINDS)
def test_odd_passwd_refused_before_any_write(trees, kind):
    root, dom0 = trees
    plant(root, "/etc/passwd", kind)
    message = refused(root, dom0, [
        {"action": "write", "path": "/etc/hostname", "content": "changed\n"},
        {"action": "write", "path": "/root/key", "content": "x", "owner": "www"},
    ], "/etc/passwd inside the guest is a %s, not a regular file; refusing to read it" % kind.replace("_", " "))
    assert message.startswith("operations[1] (write /root/key): ")


@pytest.mark.parametrize("kind", KINDS)
def test_odd_file_refused_for_read(trees, kind):
    root, dom0 = trees
    plant(root, "/etc/hostname", kind)
    refused(root, dom0, [{"action": "read", "path": "/etc/hostname"}],
            "/etc/hostname inside the guest is a %s, not a regular file; refusing to read it" % kind.replace("_", " "))


@pytest.mark.parametrize("kind", KINDS)
def test_odd_file_refused_for_write(trees, kind):
    root, dom0 = trees
    plant(root, "/etc/hostname", kind)
    refused(root, dom0, [{"action": "write", "path": "/etc/hostname", "content": "x\n"}],
            "/etc/hostname exists inside the guest and is not a regular file (a %s)" % kind.replace("_", " "))


@pytest.mark.parametrize("kind", KINDS)
def test_odd_shadow_refused_for_password(trees, kind):
    root, dom0 = trees
    plant(root, "/etc/shadow", kind)
    refused(root, dom0, [{"action": "password", "password_hash": "$6$x$y"}], "/etc/shadow inside the guest is a")


@pytest.mark.parametrize("kind", KINDS)
def test_odd_persistent_net_rules_refused(trees, kind):
    root, dom0 = trees
    os.makedirs(os.path.join(root, "etc", "udev", "rules.d"))
    plant(root, xen_guest_files.PERSISTENT_NET_FILES[0], kind)
    refused(root, dom0, [], "z25_persistent-net.rules inside the guest is a")


def test_fifo_behind_a_link_refused(trees):
    root, dom0 = trees
    plant(root, "/etc/fifo", "fifo")
    os.symlink("/etc/fifo", os.path.join(root, "etc", "motd"))
    refused(root, dom0, [{"action": "read", "path": "/etc/motd"}],
            "/etc/motd (resolved to /etc/fifo) inside the guest is a fifo, not a regular file")


def test_file_where_a_directory_is_expected(trees):
    root, dom0 = trees
    refused(root, dom0, [{"action": "directory", "path": "/etc/hostname"}],
            "/etc/hostname exists inside the guest and is not a directory (a file)")
    refused(root, dom0, [{"action": "write", "path": "/etc/hostname/x", "content": "x"}],
            "parent of /etc/hostname/x does not exist inside the guest")


def test_stat_names_odd_types_without_opening_them(trees):
    root, _dom0 = trees
    plant(root, "/etc/fifo", "fifo")
    with no_hang():
        assert operate(root, [{"action": "stat", "path": "/etc/fifo"}])[0][0]["type"] == "fifo"


def test_oversized_passwd_refused_with_its_name(trees):
    root, dom0 = trees
    with open(os.path.join(root, "etc", "passwd"), "ab") as handle:
        handle.truncate(READ_LIMIT + 1)
    refused(root, dom0, [{"action": "write", "path": "/root/key", "content": "x", "owner": "www"}],
            "/etc/passwd inside the guest is %d bytes, more than the %d this module reads" % (READ_LIMIT + 1, READ_LIMIT))


def test_oversized_read_is_cut_at_the_cap(trees):
    root, _dom0 = trees
    with open(os.path.join(root, "etc", "big"), "wb") as handle:
        handle.truncate(READ_LIMIT * 3)
    result = operate(root, [{"action": "read", "path": "/etc/big"}])[0][0]
    assert result["truncated"] and len(result["content"]) == READ_LIMIT


def test_oversized_file_is_replaced_without_being_read(trees):
    root, _dom0 = trees
    with open(os.path.join(root, "etc", "big"), "wb") as handle:
        handle.truncate(READ_LIMIT * 3)
    results, diff, _net = operate(root, [{"action": "write", "path": "/etc/big", "content": "small\n"}])
    assert results[0]["changed"] and open(os.path.join(root, "etc", "big")).read() == "small\n"
    assert "[%d bytes, not shown]" % (READ_LIMIT * 3) in diff["before"]


# -- everything resolved before the first write ---------------------------------------


@pytest.mark.parametrize("bad, message", [
    ({"action": "write", "path": "/root/key", "content": "x", "owner": "nobody"}, "owner='nobody' is not known"),
    ({"action": "directory", "path": "/srv", "group": "nogroup"}, "group='nogroup' is not known"),
    ({"action": "write", "path": "/no/such/dir/file", "content": "x"}, "parent of /no/such/dir/file does not exist"),
    ({"action": "move", "path": "/etc/group", "dest": "/etc/passwd"}, "both exist"),
    ({"action": "write", "path": "/etc/passwd/x", "content": "x"}, "parent of /etc/passwd/x does not exist"),
    ({"action": "password", "user": "ghost", "password_hash": "$6$x$y"}, "user ghost has no entry"),
])
def test_a_bad_last_operation_changes_nothing(trees, bad, message):
    root, dom0 = trees
    refused(root, dom0, [
        {"action": "write", "path": "/etc/hostname", "content": "changed\n"},
        {"action": "directory", "path": "/root/.ssh", "mode": "0700"},
        {"action": "write", "path": "/root/.ssh/authorized_keys", "content": "ssh-ed25519 AAAA\n", "mode": "0600"},
        bad,
    ], message)


def test_a_bad_value_after_a_password_change_changes_nothing(trees):
    root, dom0 = trees
    refused(root, dom0, [
        {"action": "password", "password_hash": "$6$new$hash"},
        {"action": "write", "path": "/root/key", "content": "x", "owner": "nobody"},
    ], "owner='nobody' is not known")


def test_operations_that_build_on_earlier_ones_are_not_refused(trees):
    """A later operation inside what an earlier one makes is tried only in its turn (here through a link too)."""
    root, _dom0 = trees
    os.makedirs(os.path.join(root, "run"))
    os.makedirs(os.path.join(root, "var"))
    os.symlink("/run", os.path.join(root, "var", "run"))
    results, _diff, _net = operate(root, [
        {"action": "directory", "path": "/var/run/app", "mode": "0750"},
        {"action": "write", "path": "/run/app/pid", "content": "1\n"},
        {"action": "move", "path": "/etc/hostname", "dest": "/etc/hostname.old"},
        {"action": "write", "path": "/etc/hostname", "content": "web2\n"},
    ])
    assert [r["changed"] for r in results] == [True, True, True, True]
    assert open(os.path.join(root, "run", "app", "pid")).read() == "1\n"
    assert stat.S_IMODE(os.stat(os.path.join(root, "run", "app")).st_mode) == 0o750


@pytest.mark.skipif(not IS_ROOT, reason="chown needs root")
def test_owner_names_come_from_the_guest_as_it_was(trees):
    root, _dom0 = trees
    results, _diff, _net = operate(root, [
        {"action": "write", "path": "/etc/passwd", "content": "root:x:0:0::/root:/bin/sh\nwww:x:99:99::/:/bin/sh\n"},
        {"action": "write", "path": "/root/key", "content": "x", "owner": "www", "group": "www", "mode": "4750"},
    ])
    st = os.stat(os.path.join(root, "root", "key"))
    assert (st.st_uid, st.st_gid) == (33, 33) and stat.S_IMODE(st.st_mode) == 0o4750
    assert results[1]["changed"]


def test_the_root_itself(trees):
    root, dom0 = trees
    refused(root, dom0, [{"action": "write", "path": "/", "content": "x"}], "is the guest's root directory, not a regular file")
    refused(root, dom0, [{"action": "move", "path": "/..", "dest": "/old"}], "cannot move the guest's root directory")
    refused(root, dom0, [{"action": "read", "path": "/../.."}], "/../.. (resolved to /) inside the guest is a directory")
    results, _diff, _net = operate(root, [{"action": "directory", "path": "/etc/.."},
                                          {"action": "stat", "path": "/../../etc/.."}])
    assert not results[0]["changed"] and results[1]["type"] == "directory"
