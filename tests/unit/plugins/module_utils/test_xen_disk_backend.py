# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image layout detection and the grow logic (commands scripted as data, files real)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import types

import pytest

from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import ScriptedRunner

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import (
    choose_partition,
    ext_filesystem_size,
    parse_layout,
    read_head,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_disk import DiskGrower
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import parse_persistent_net_rules
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError

MIB = 1024 * 1024
GIB = 1024 * MIB


def ext_head(size=64 * MIB, block_size=4096, bit64=True):
    """An image head (70000 bytes from offset 0) with a minimal ext4 superblock for a ``size``-byte filesystem.

    Only the fields a reader of the size needs, at the offsets of struct
    ext4_super_block (from byte 1024, little-endian; written here as literals,
    independently of the module): s_blocks_count_lo 0x04, s_log_block_size
    0x18, s_magic 0x38, s_feature_incompat 0x60 (64bit = 0x80),
    s_blocks_count_hi 0x150. test_crafted_superblock_matches_mkfs checks them
    against a real mkfs.ext4.
    """
    head = bytearray(70000)
    blocks = size // block_size
    struct.pack_into("<I", head, 1024 + 0x04, blocks & 0xFFFFFFFF)
    struct.pack_into("<I", head, 1024 + 0x18, block_size.bit_length() - 11)
    struct.pack_into("<H", head, 1024 + 0x38, 0xEF53)
    struct.pack_into("<I", head, 1024 + 0x60, 0x80 if bit64 else 0)
    struct.pack_into("<I", head, 1024 + 0x150, blocks >> 32 if bit64 else 0)
    return bytes(head)


def write_superblock(path, size, **kwargs):
    """Rewrite the superblock (bytes 1024-2047) of the image at ``path`` for a ``size``-byte filesystem."""
    with open(path, "r+b") as handle:
        handle.seek(1024)
        handle.write(ext_head(size, **kwargs)[1024:2048])


def tool(name):
    """Path of an e2fsprogs tool (also found in /usr/sbin and /sbin when they are not on PATH), or None."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


needs_e2fsprogs = pytest.mark.skipif(
    not all(tool(name) for name in ("mkfs.ext4", "mkfs.ext2", "dumpe2fs", "e2fsck", "resize2fs")),
    reason="needs e2fsprogs (mkfs.ext4, mkfs.ext2, dumpe2fs, e2fsck, resize2fs)",
)
C_ENV = dict(os.environ, LANG="C", LC_ALL="C")


def mkfs(path, size, mkfs_tool="mkfs.ext4", options=()):
    """A real filesystem made by ``mkfs_tool -q -F`` in a sparse ``size``-byte file."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    subprocess.run([tool(mkfs_tool), "-q", "-F"] + list(options) + [str(path)], check=True, capture_output=True, env=C_ENV)
    return str(path)


def dumpe2fs(path):
    """``dumpe2fs -h`` of ``path`` as a dict of its ``Key: value`` lines."""
    out = subprocess.run([tool("dumpe2fs"), "-h", str(path)], check=True, capture_output=True, text=True, env=C_ENV).stdout
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def dumpe2fs_size(path):
    """Block count x Block size as printed by the real ``dumpe2fs -h``."""
    fields = dumpe2fs(path)
    return int(fields["Block count"]) * int(fields["Block size"])


def mbr_head(entries):
    head = bytearray(70000)
    for index, (ptype, start, count) in enumerate(entries):
        raw = bytearray(16)
        raw[4] = ptype
        raw[8:16] = struct.pack("<II", start, count)
        head[446 + 16 * index:446 + 16 * (index + 1)] = raw
    head[510:512] = b"\x55\xaa"
    return bytes(head)


def test_bare_ext_filesystem():
    assert parse_layout(ext_head()) == {"kind": "filesystem", "filesystem": "ext", "table": None, "partitions": []}


def test_mbr_partitions_like_red_hats_os_img():
    layout = parse_layout(mbr_head([(0x83, 2048, 204800), (0x8E, 206848, 40000000)]))
    assert layout["kind"] == "partitioned" and layout["table"] == "mbr"
    assert layout["partitions"][0] == {"number": 1, "start": MIB, "size": 100 * MIB, "type": "linux"}
    assert layout["partitions"][1]["type"] == "lvm"
    assert choose_partition(layout)["number"] == 1
    with pytest.raises(GuestError, match="partition=3 does not exist"):
        choose_partition(layout, 3)


def test_gpt_partitions():
    head = bytearray(mbr_head([(0xEE, 1, 0xFFFFFFFF)]))
    head[512:520] = b"EFI PART"
    head[512 + 72:512 + 88] = struct.pack("<QII", 2, 128, 128)
    linux = bytes.fromhex("af3dc60f838472478e793d69d8477de4")  # 0fc63daf-8483-4772-8e79-3d69d8477de4
    entry = linux + b"\x01" * 16 + struct.pack("<QQ", 2048, 4095)
    head[1024:1024 + len(entry)] = entry
    layout = parse_layout(bytes(head))
    assert layout["table"] == "gpt"
    assert layout["partitions"] == [{"number": 1, "start": MIB, "size": MIB, "type": "linux"}]


def test_unknown_and_other_filesystems():
    assert parse_layout(bytes(70000))["kind"] == "unknown"
    assert parse_layout(b"XFSB" + bytes(69996))["filesystem"] == "xfs"
    swap = bytearray(70000)
    swap[4086:4096] = b"SWAPSPACE2"
    assert parse_layout(bytes(swap))["filesystem"] == "swap"


@needs_e2fsprogs
# block_size / bit64 None: whatever the host's mke2fs.conf picks (Debian's:
# 1 KiB blocks below 512 MiB, 64bit on for ext4).
@pytest.mark.parametrize("mkfs_tool, size, options, block_size, bit64", [
    ("mkfs.ext4", 64 * MIB, (), None, None),
    ("mkfs.ext4", 1 * GIB, (), None, None),
    ("mkfs.ext4", 64 * MIB, ("-b", "4096", "-O", "64bit"), 4096, True),
    ("mkfs.ext4", 1 * GIB, ("-b", "4096", "-O", "^64bit"), 4096, False),
    ("mkfs.ext4", 1 * GIB, ("-b", "1024", "-O", "64bit"), 1024, True),
    ("mkfs.ext4", 1 * GIB, ("-b", "1024", "-O", "^64bit"), 1024, False),
    ("mkfs.ext4", 100 * MIB + 3 * 1024, ("-b", "4096"), 4096, None),  # not a whole number of blocks
    ("mkfs.ext2", 64 * MIB, (), None, False),
    ("mkfs.ext2", 1 * GIB, (), None, False),
    ("mkfs.ext2", 64 * MIB, ("-b", "2048"), 2048, False),
])
def test_ext_filesystem_size_matches_real_dumpe2fs(tmp_path, mkfs_tool, size, options, block_size, bit64):
    path = mkfs(tmp_path / "fs.img", size, mkfs_tool, options)
    fields = dumpe2fs(path)
    # The image is what the case says it is (block size, 64bit feature).
    if block_size is not None:
        assert int(fields["Block size"]) == block_size
    if bit64 is not None:
        assert ("64bit" in fields["Filesystem features"].split()) is bit64
    expected = int(fields["Block count"]) * int(fields["Block size"])
    assert ext_filesystem_size(read_head(path)) == expected
    assert expected <= size


@needs_e2fsprogs
def test_crafted_superblock_matches_mkfs(tmp_path):
    """The fields ext_head() writes are where a real mkfs.ext4 puts them, with the same values."""
    real = read_head(mkfs(tmp_path / "fs.img", 64 * MIB, options=("-b", "4096", "-O", "64bit")))
    crafted = ext_head(64 * MIB)
    for offset, fmt in ((0x04, "<I"), (0x18, "<I"), (0x38, "<H"), (0x150, "<I")):
        assert struct.unpack_from(fmt, real, 1024 + offset) == struct.unpack_from(fmt, crafted, 1024 + offset)
    assert struct.unpack_from("<I", real, 1024 + 0x60)[0] & 0x80 == struct.unpack_from("<I", crafted, 1024 + 0x60)[0]
    assert ext_filesystem_size(crafted) == ext_filesystem_size(real) == dumpe2fs_size(tmp_path / "fs.img") == 64 * MIB
    assert parse_layout(crafted) == parse_layout(real)


@needs_e2fsprogs
@pytest.mark.parametrize("clear_64bit, expected_blocks", [
    (False, (1 << 32) + 65536),  # 64bit on: s_blocks_count_hi counts
    (True, 65536),  # 64bit off: s_blocks_count_hi is ignored, as e2fsprogs does
])
def test_blocks_count_hi(tmp_path, clear_64bit, expected_blocks):
    """A real superblock (1 KiB blocks) with s_blocks_count_hi set: a >4 TiB filesystem is too big to make in a test."""
    head = bytearray(read_head(mkfs(tmp_path / "fs.img", 64 * MIB, options=("-b", "1024", "-O", "64bit"))))
    assert struct.unpack_from("<I", head, 1024 + 0x04)[0] == 65536
    struct.pack_into("<I", head, 1024 + 0x150, 1)
    if clear_64bit:
        struct.pack_into("<I", head, 1024 + 0x60, struct.unpack_from("<I", head, 1024 + 0x60)[0] & ~0x80)
    assert ext_filesystem_size(bytes(head)) == expected_blocks * 1024


def patched(head, offset, fmt, value):
    raw = bytearray(head)
    struct.pack_into(fmt, raw, 1024 + offset, value)
    return bytes(raw)


@pytest.mark.parametrize("head, message", [
    (bytes(70000), "holds no ext2/3/4 superblock \\(magic 0x0000 at byte 1080, expected 0xef53\\)"),
    (b"XFSB" + bytes(69996), "holds no ext2/3/4 superblock"),
    (patched(ext_head(), 0x38, "<H", 0x53EF), "magic 0x53ef at byte 1080"),  # byte-swapped magic
    (ext_head()[:1300], "too short \\(1300 bytes\\) to hold an ext2/3/4 superblock \\(1364 bytes needed\\)"),
    (b"", "too short \\(0 bytes\\)"),
    (patched(ext_head(), 0x18, "<I", 7), "s_log_block_size=7 \\(the block size must be 1 KiB to 64 KiB\\)"),
    (patched(ext_head(), 0x18, "<I", 0xFFFFFFFF), "s_log_block_size=4294967295"),
    (patched(patched(ext_head(), 0x04, "<I", 0), 0x150, "<I", 0), "its block count is 0"),
])
def test_ext_filesystem_size_refuses(head, message):
    with pytest.raises(GuestError, match=message):
        ext_filesystem_size(head, "disk.img")


@pytest.mark.parametrize("size, block_size, bit64", [
    (64 * MIB, 1024, False),
    (128 * MIB, 4096, True),
    (64 * 1024 * GIB, 65536, True),  # largest block size
    (20 * 1024 * GIB, 4096, True),  # needs s_blocks_count_hi
])
def test_crafted_sizes_read_back(size, block_size, bit64):
    assert ext_filesystem_size(ext_head(size, block_size, bit64)) == size


def test_persistent_net_rules_etch_format():
    text = ('# This file was automatically generated by the /lib/udev/write_net_rules\n'
            '# PCI device 0x0000:0x0000 (vif)\n'
            'SUBSYSTEM=="net", DRIVERS=="?*", ATTR{address}=="00:16:3E:2C:7E:EF", NAME="eth0"\n'
            '# SUBSYSTEM=="net", ATTR{address}=="00:16:3e:00:00:99", NAME="eth9"\n')
    assert parse_persistent_net_rules(text) == [{"mac": "00:16:3e:2c:7e:ef", "name": "eth0"}]


def image(tmp_path, size=64 * MIB, fs_size=None):
    """A sparse ``size``-byte image holding an ext superblock for ``fs_size`` (default: the whole file)."""
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.write(ext_head(fs_size or size))
        handle.truncate(size)
    return str(path)


class ResizeRunner(ScriptedRunner):
    """A ScriptedRunner whose scripted ``resize2fs`` also changes the image the way the real one does.

    The real resize2fs writes the new block count into the superblock; here the
    superblock is rewritten for ``resized_to`` bytes (default: the file's size
    in whole 4 KiB blocks), so the grower's re-read has something real to read.
    """

    def __init__(self, calls, resized_to=None):
        super().__init__(calls)
        self.resized_to = resized_to

    def run(self, argv, check_rc=True, data=None, env=None):
        result = super().run(argv, check_rc=check_rc, data=data, env=env)
        if argv[0] == "resize2fs":
            path = argv[-1]
            write_superblock(path, self.resized_to or os.path.getsize(path) // 4096 * 4096)
        return result


class RealRunner:
    """Runs e2fsck and resize2fs for real; ``losetup -j`` answers "not attached" (no host loop devices consulted)."""

    def __init__(self):
        self.seen = []

    def run(self, argv, check_rc=True, data=None, env=None):
        self.seen.append(list(argv))
        if argv[0] == "losetup":
            return 0, "", ""
        assert argv[0] in ("e2fsck", "resize2fs"), argv
        proc = subprocess.run([tool(argv[0])] + list(argv[1:]), check=False, capture_output=True, text=True, env=C_ENV)
        if check_rc and proc.returncode:
            raise CommandError(argv, proc.returncode, proc.stdout, proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr


def grower(runner, check_mode=False, domains=()):
    return DiskGrower(types.SimpleNamespace(check_mode=check_mode), runner, set(domains))


def test_grow_sparse_then_fsck_and_resize(tmp_path):
    path = image(tmp_path)
    runner = ResizeRunner([
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 1, ""),  # rc 1: errors corrected, fine
        (["resize2fs", "-p", path], 0, ""),
    ])
    result = grower(runner).ensure("web1", path, 128 * MIB)
    assert result["changed"] and result["grown"] and result["fs_resized"]
    assert result["fs_size_before"] == 64 * MIB
    assert result["fs_size"] == 128 * MIB  # re-read from the superblock resize2fs rewrote
    st = (tmp_path / "disk.img").stat()
    assert st.st_size == 128 * MIB
    assert st.st_blocks * 512 < MIB  # sparse: no zeros written
    assert not runner.calls


def test_fs_size_is_what_resize2fs_left_in_the_superblock(tmp_path):
    """fs_size is read back from the image, not assumed to be the target size."""
    path = image(tmp_path)
    runner = ResizeRunner([
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 0, ""),
        (["resize2fs", "-p", path], 0, ""),
    ], resized_to=120 * MIB)
    result = grower(runner).ensure("web1", path, 128 * MIB)
    assert result["fs_size_before"] == 64 * MIB and result["fs_size"] == 120 * MIB


def test_already_grown_is_unchanged_and_runs_nothing(tmp_path):
    path = image(tmp_path, 128 * MIB)
    runner = ScriptedRunner([])
    result = grower(runner, domains={"web1"}).ensure("web1", path, 128 * MIB)
    assert not result["changed"]
    assert result["fs_size_before"] == result["fs_size"] == 128 * MIB
    assert runner.seen == []  # the size came from the superblock: no subprocess on a no-op run


def test_lagging_filesystem_is_resized_without_growing(tmp_path):
    path = image(tmp_path, 128 * MIB, fs_size=64 * MIB)
    runner = ResizeRunner([
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 0, ""),
        (["resize2fs", "-p", path], 0, ""),
    ])
    result = grower(runner).ensure("web1", path, 128 * MIB)
    assert result["changed"] and not result["grown"] and result["fs_resized"]
    assert result["fs_size_before"] == 64 * MIB and result["fs_size"] == 128 * MIB


def test_filesystem_within_a_mib_of_the_file_is_not_lagging(tmp_path):
    path = image(tmp_path, 128 * MIB, fs_size=128 * MIB - 512 * 1024)
    result = grower(ScriptedRunner([]), domains={"web1"}).ensure("web1", path, 128 * MIB)
    assert not result["changed"] and result["fs_size"] == 128 * MIB - 512 * 1024


def test_check_mode_changes_nothing(tmp_path):
    path = image(tmp_path)
    runner = ScriptedRunner([(["losetup", "-j", path], 0, "")])
    result = grower(runner, check_mode=True).ensure("web1", path, 128 * MIB)
    assert result["changed"] and result["fs_size_before"] == 64 * MIB and "fs_size" not in result
    assert (tmp_path / "disk.img").stat().st_size == 64 * MIB


def test_damaged_superblock_refused_before_anything_runs(tmp_path):
    path = image(tmp_path)
    with open(path, "r+b") as handle:
        handle.seek(1024 + 0x18)
        handle.write(struct.pack("<I", 9))
    runner = ScriptedRunner([])
    with pytest.raises(GuestError, match="disk.img has an implausible ext superblock: s_log_block_size=9"):
        grower(runner).ensure("web1", path, 128 * MIB)
    assert runner.seen == [] and (tmp_path / "disk.img").stat().st_size == 64 * MIB


@needs_e2fsprogs
def test_grow_a_real_filesystem_with_the_real_tools(tmp_path):
    """mkfs.ext4, then the grower with the real e2fsck and resize2fs: its sizes are dumpe2fs's."""
    path = mkfs(tmp_path / "disk.img", 64 * MIB)
    before = dumpe2fs_size(path)
    runner = RealRunner()
    result = grower(runner).ensure("web1", path, 128 * MIB)
    assert result["changed"] and result["grown"] and result["fs_resized"]
    assert result["fs_size_before"] == before == 64 * MIB
    assert result["fs_size"] == dumpe2fs_size(path) == 128 * MIB
    assert [argv[0] for argv in runner.seen] == ["losetup", "e2fsck", "resize2fs"]
    again = RealRunner()
    result = grower(again).ensure("web1", path, 128 * MIB)
    assert not result["changed"] and result["fs_size"] == 128 * MIB
    assert again.seen == []


def test_fsck_failure_stops_before_resize(tmp_path):
    path = image(tmp_path)
    runner = ScriptedRunner([
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 4, ""),
    ])
    with pytest.raises(GuestError, match="e2fsck -f -y .* failed \\(rc=4\\); not resizing"):
        grower(runner).ensure("web1", path, 128 * MIB)


@pytest.mark.parametrize("setup, kwargs, message", [
    ("ext", dict(size=32 * MIB), "smaller than the current disk"),
    ("mbr", dict(size=128 * MIB), "partition table"),
    ("xfs", dict(size=128 * MIB), "only ext2/3/4"),
    ("ext", dict(size=128 * MIB, guest="running1"), "running1 is running"),
    ("ext", dict(size=128 * MIB + 1), "multiple of 512"),
])
def test_refusals_leave_the_file_alone(tmp_path, setup, kwargs, message):
    path = tmp_path / "disk.img"
    head = {"ext": ext_head(), "mbr": mbr_head([(0x83, 2048, 100000)]), "xfs": b"XFSB" + bytes(69996)}[setup]
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(64 * MIB)
    runner = ScriptedRunner([])
    guest = kwargs.pop("guest", "web1")
    with pytest.raises(GuestError, match=message):
        grower(runner, domains={"running1"}).ensure(guest, str(path), kwargs["size"])
    assert path.stat().st_size == 64 * MIB
    assert runner.seen == []


def test_partitioned_file_can_be_extended_only(tmp_path):
    path = tmp_path / "os.img"
    with open(path, "wb") as handle:
        handle.write(mbr_head([(0x83, 2048, 100000)]))
        handle.truncate(64 * MIB)
    runner = ScriptedRunner([(["losetup", "-j", str(path)], 0, "")])
    result = grower(runner).ensure("domU-1", str(path), 128 * MIB, resize_fs=False)
    assert result["grown"] and not result["fs_resized"]
    assert path.stat().st_size == 128 * MIB


def test_attached_image_refused(tmp_path):
    path = image(tmp_path)
    runner = ScriptedRunner([(["losetup", "-j", path], 0, "/dev/loop3: []: (%s)\n" % path)])
    with pytest.raises(GuestError, match="attached to a loop device"):
        grower(runner).ensure("web1", path, 128 * MIB)
