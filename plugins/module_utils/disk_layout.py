# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What is in a disk image, read from its first bytes in Python.

Private to the kuutorvaja.xen collection: no API promise to other code.

The partition table (MBR, GPT) and the filesystem magic tell a bare
filesystem from a partitioned disk without any tool; the size of a bare
ext2/3/4 filesystem comes from its superblock in the same bytes (what
``dumpe2fs -h`` prints, without running it). :func:`disk_identities` tells
which object a disk path is, whatever it is called.
"""

from __future__ import annotations

import os
import stat
import struct

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError

SECTOR = 512
# Where the kernel shows a block device by number (a loop device's backing file under loop/).
SYS_DEV_BLOCK = "/sys/dev/block"
LOOP_MAJOR = 7
# GPT partition type GUIDs (mixed-endian text form) we can name.
_GPT_TYPES = {
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "linux",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "swap",
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "efi",
    "21686148-6449-6e6f-744e-656564454649": "bios-boot",
    "e6d6d379-f507-44c2-a23c-238f2a3df928": "lvm",
}
_MBR_TYPES = {0x83: "linux", 0x82: "swap", 0x8E: "lvm", 0x05: "extended", 0x0F: "extended", 0xEF: "efi"}


def _guid(raw):
    """Text form of a GPT GUID (first three fields little-endian)."""
    a, b, c = struct.unpack("<IHH", raw[:8])
    rest = raw[8:].hex()
    return "%08x-%04x-%04x-%s-%s" % (a, b, c, rest[:4], rest[4:])


def filesystem_magic(head):
    """Name the filesystem whose superblock magic is in ``head`` (bytes from offset 0), or None."""
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return "ext"
    if head[:4] == b"XFSB":
        return "xfs"
    if len(head) >= 0x10048 and head[0x10040:0x10048] == b"_BHRfS_M":
        return "btrfs"
    if len(head) >= 4096 and head[4086:4096] in (b"SWAPSPACE2", b"SWAP-SPACE"):
        return "swap"
    return None


def parse_layout(head):
    """Describe the image whose first bytes are ``head``.

    Returns ``{"kind": "filesystem"|"partitioned"|"unknown", "filesystem": ...,
    "table": "mbr"|"gpt"|None, "partitions": [{number, start, size, type}]}``
    with start/size in bytes.
    """
    layout = {"kind": "unknown", "filesystem": None, "table": None, "partitions": []}
    fs = filesystem_magic(head)
    if len(head) >= SECTOR and head[510:512] == b"\x55\xaa":
        entries = []
        for index in range(4):
            raw = head[446 + 16 * index:446 + 16 * (index + 1)]
            ptype = raw[4]
            start, count = struct.unpack("<II", raw[8:16])
            if ptype and count and raw[0] in (0x00, 0x80):
                entries.append({"number": index + 1, "start": start * SECTOR, "size": count * SECTOR,
                                "type": _MBR_TYPES.get(ptype, "0x%02x" % ptype)})
        if entries and any(e["type"] == "0xee" for e in entries):
            layout.update(table="gpt", kind="partitioned", partitions=_parse_gpt(head))
            return layout
        if entries and fs != "ext":
            # An ext superblock at 1080 with a boot sector in front is still a
            # bare filesystem (e.g. a bootloader in the ext boot block).
            layout.update(table="mbr", kind="partitioned", partitions=entries)
            return layout
    if fs:
        layout.update(kind="filesystem", filesystem=fs)
    return layout


def _parse_gpt(head):
    """GPT partitions from the header at LBA 1 (entries must lie inside ``head``)."""
    hdr = head[SECTOR:2 * SECTOR]
    if hdr[:8] != b"EFI PART":
        return []
    entries_lba, count, entry_size = struct.unpack("<QII", hdr[72:88])
    parts = []
    for index in range(count):
        offset = entries_lba * SECTOR + index * entry_size
        raw = head[offset:offset + entry_size]
        if len(raw) < 56:
            break
        type_guid = _guid(raw[:16])
        if type_guid == "00000000-0000-0000-0000-000000000000":
            continue
        first, last = struct.unpack("<QQ", raw[32:48])
        parts.append({"number": index + 1, "start": first * SECTOR, "size": (last - first + 1) * SECTOR,
                      "type": _GPT_TYPES.get(type_guid, type_guid)})
    return parts


# Enough to hold the MBR, a GPT with 128 entries and the btrfs superblock.
HEAD_BYTES = 0x10048 + 4096


def read_head(path, length=HEAD_BYTES):
    """The first ``length`` bytes of the image (or block device) at ``path`` (fewer if it is shorter)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(length)
    except OSError as exc:
        # /proc/self/mem, a device that fails: a refusal naming the path, not a traceback.
        raise GuestError("cannot read the start of %s: %s" % (path, exc.strerror or exc))


def read_layout(path):
    """:func:`parse_layout` of the image (or block device) at ``path``."""
    return parse_layout(read_head(path))


# The ext2/3/4 superblock (struct ext4_super_block in Linux fs/ext4/ext4.h,
# struct ext2_super_block in e2fsprogs lib/ext2fs/ext2_fs.h): 1024 bytes into
# the filesystem, little-endian. Offsets below are from the superblock's start.
EXT_SUPERBLOCK_OFFSET = 1024
_EXT_BLOCKS_COUNT_LO = 0x04  # __le32 s_blocks_count_lo
_EXT_LOG_BLOCK_SIZE = 0x18  # __le32 s_log_block_size: block size = 1024 << value
_EXT_MAGIC = 0x38  # __le16 s_magic
_EXT_FEATURE_INCOMPAT = 0x60  # __le32 s_feature_incompat
_EXT_BLOCKS_COUNT_HI = 0x150  # __le32 s_blocks_count_hi, counts only with INCOMPAT_64BIT
EXT_SUPER_MAGIC = 0xEF53
EXT4_FEATURE_INCOMPAT_64BIT = 0x80
# Block sizes ext2/3/4 allow: 1 KiB (log 0) to 64 KiB (log 6).
_EXT_MAX_LOG_BLOCK_SIZE = 6
# Bytes from the image's offset 0 that ext_filesystem_size() needs.
EXT_SUPERBLOCK_END = EXT_SUPERBLOCK_OFFSET + _EXT_BLOCKS_COUNT_HI + 4


def ext_filesystem_size(head, name="the image"):
    """Size in bytes of the ext2/3/4 filesystem whose superblock is in ``head``.

    ``head`` holds the filesystem's bytes from offset 0 (at least
    :data:`EXT_SUPERBLOCK_END` of them, e.g. :func:`read_head`). The size is
    the block count (``s_blocks_count_lo``, plus ``s_blocks_count_hi << 32``
    when the 64bit feature is on) times the block size (``1024 <<
    s_log_block_size``): the ``Block count`` times ``Block size`` that
    ``dumpe2fs -h`` prints, without running it. ``name`` is used in messages.

    Raises GuestError when ``head`` is too short, holds no ext magic (0xEF53)
    or holds implausible values (a block size outside 1 KiB..64 KiB, no blocks).
    """
    if len(head) < EXT_SUPERBLOCK_END:
        raise GuestError("%s is too short (%d bytes) to hold an ext2/3/4 superblock (%d bytes needed)"
                         % (name, len(head), EXT_SUPERBLOCK_END))
    sb = head[EXT_SUPERBLOCK_OFFSET:EXT_SUPERBLOCK_END]
    (magic,) = struct.unpack_from("<H", sb, _EXT_MAGIC)
    if magic != EXT_SUPER_MAGIC:
        raise GuestError("%s holds no ext2/3/4 superblock (magic 0x%04x at byte %d, expected 0x%04x)"
                         % (name, magic, EXT_SUPERBLOCK_OFFSET + _EXT_MAGIC, EXT_SUPER_MAGIC))
    (log_block_size,) = struct.unpack_from("<I", sb, _EXT_LOG_BLOCK_SIZE)
    if log_block_size > _EXT_MAX_LOG_BLOCK_SIZE:
        raise GuestError("%s has an implausible ext superblock: s_log_block_size=%d (the block size must be 1 KiB to 64 KiB)"
                         % (name, log_block_size))
    (blocks,) = struct.unpack_from("<I", sb, _EXT_BLOCKS_COUNT_LO)
    (incompat,) = struct.unpack_from("<I", sb, _EXT_FEATURE_INCOMPAT)
    if incompat & EXT4_FEATURE_INCOMPAT_64BIT:
        (blocks_hi,) = struct.unpack_from("<I", sb, _EXT_BLOCKS_COUNT_HI)
        blocks |= blocks_hi << 32
    if not blocks:
        raise GuestError("%s has an implausible ext superblock: its block count is 0" % name)
    return blocks * (1024 << log_block_size)


def image_size(path):
    """Size in bytes of a file or block device."""
    st = os.stat(path)
    if stat.S_ISBLK(st.st_mode):
        with open(path, "rb") as handle:
            return handle.seek(0, os.SEEK_END)
    return st.st_size


def choose_partition(layout, number=None, option="partition"):
    """The partition to use: ``number`` if given, else the largest Linux one."""
    parts = layout["partitions"]
    if number is not None:
        for part in parts:
            if part["number"] == number:
                return part
        raise GuestError("%s=%s does not exist; the image has partitions %s"
                         % (option, number, ", ".join(str(p["number"]) for p in parts) or "none"))
    linux = [p for p in parts if p["type"] == "linux"]
    if not linux:
        raise GuestError("the image holds no Linux partition to pick; set %s to the partition number" % option)
    return max(linux, key=lambda p: p["size"])


def disk_identities(path, sys_dev_block=SYS_DEV_BLOCK):
    """What ``path`` is as the kernel sees it, whatever name it goes by: a set of identities.

    ``("file", st_dev, st_ino)`` for a regular file (a hard link or symlink to
    it is the same), ``("block", st_rdev)`` for a block device (LVM's
    ``/dev/VG/LV`` and ``/dev/dm-N`` are the same); a loop device adds its
    backing file's, so ``/dev/loopN`` and the image behind it meet. Two paths
    are one disk when their sets intersect. Empty when ``path`` is missing.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return set()
    if stat.S_ISREG(st.st_mode):
        return {("file", st.st_dev, st.st_ino)}
    if not stat.S_ISBLK(st.st_mode):
        return set()
    found = {("block", st.st_rdev)}
    if os.major(st.st_rdev) == LOOP_MAJOR:
        backing = os.path.join(sys_dev_block, "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)), "loop", "backing_file")
        try:
            with open(backing) as handle:
                name = handle.read().strip()
        except (OSError, UnicodeDecodeError):
            name = ""
        # A regular file only: a loop over a loop would otherwise recurse.
        if name and not name.endswith(" (deleted)") and os.path.isfile(name):
            found |= disk_identities(name, sys_dev_block)
    return found
