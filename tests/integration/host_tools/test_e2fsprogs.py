# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The superblock reader and the disk grower against the real e2fsprogs of this host.

They run mkfs, dumpe2fs, e2fsck and resize2fs on files in a temp dir (no
loop devices, no mounts), so they live beside the integration tests and
tests/unit stays free of host tools. Skipped where e2fsprogs is missing.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import (
    ext_filesystem_size,
    parse_layout,
    read_head,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_disk import DiskGrower
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import ext_head

MIB = 1024 * 1024
GIB = 1024 * MIB


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


def grower(runner):
    return DiskGrower(types.SimpleNamespace(check_mode=False), runner, set())


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
