# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_disk`` module: grow a file-backed guest disk.

Private to the kuutorvaja.xen collection: no API promise to other code.

Growing is the guide's ``dd count=0 seek=`` (a sparse extend that writes no
zeros), then ``e2fsck -f -y`` and ``resize2fs -p`` for a bare ext2/3/4 image
only; the layout and the filesystem size are read from the image's first
bytes (``disk_layout``), so no tool runs for a disk that is already big enough.
"""

from __future__ import annotations

import os

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.disk_layout import (
    SECTOR,
    ext_filesystem_size,
    image_size,
    parse_layout,
    read_head,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    refuse_if_in_use,
    refuse_if_running,
    validate_abs_path,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import ExtFs, Loop


class DiskGrower:
    """Grow one file-backed guest disk to a target size, idempotently."""

    def __init__(self, module, runner, domains, disk_users=None):
        self.module = module
        self.runner = runner
        self.domains = domains
        # ``disk_users(path)``: the live domains that have that file or device
        # as a disk, whatever ``guest`` says (the toolstack's disk_users).
        self.disk_users = disk_users
        self.loop = Loop(runner)
        self.extfs = ExtFs(runner)

    def ensure(self, guest, path, size, resize_fs=True, extend_unknown_layout=False):
        """Grow ``path`` to ``size`` bytes and its bare ext filesystem with it.

        Refuses: a running guest, shrinking, a block device, filesystem work on
        a partitioned image or a non-ext filesystem, an image attached to a
        loop device, and a file whose layout is not recognised (no disk
        image: ``/etc/passwd`` given by mistake) unless both ``resize_fs`` is
        off and ``extend_unknown_layout`` is on. Returns the module result.
        """
        validate_abs_path(path, "path")
        if extend_unknown_layout and resize_fs:
            raise GuestError("extend_unknown_layout: true extends the file only; set resize_fs: false with it")
        if not os.path.exists(path):
            raise GuestError("path=%s does not exist" % path)
        if not os.path.isfile(path):
            raise GuestError("path=%s is not a regular file; only file-backed disks can be grown here" % path)
        if size % SECTOR:
            raise GuestError("size must be a multiple of %d bytes" % SECTOR)
        current = image_size(path)
        if size < current:
            raise GuestError("size=%d bytes is smaller than the current disk (%d bytes); shrinking is not supported" % (size, current))
        head = read_head(path)
        layout = parse_layout(head)
        result = {"path": path, "size_before": current, "size": size, "layout": layout["kind"],
                  "filesystem": layout["filesystem"], "grown": False, "fs_resized": False}
        if layout["kind"] == "unknown" and not extend_unknown_layout:
            raise GuestError(
                "%s holds no disk layout this module recognises (an ext2/3/4, xfs, btrfs or swap filesystem, or an "
                "MBR or GPT partition table, at its start); refusing to extend it, as it may be no disk image at all. "
                "If it is a guest disk of another kind, set resize_fs: false and extend_unknown_layout: true" % path
            )
        if resize_fs and layout["kind"] == "partitioned":
            raise GuestError(
                "%s holds a partition table; its filesystems are not resized (the guide's warning: "
                "make a new partition in the free space instead). Set resize_fs: false to extend the file only" % path
            )
        if resize_fs and layout["kind"] == "filesystem" and layout["filesystem"] != "ext":
            raise GuestError("%s holds a %s filesystem; only ext2/3/4 can be resized here. Set resize_fs: false to extend the file only"
                             % (path, layout["filesystem"]))
        do_fs = resize_fs and layout["kind"] == "filesystem"
        fs_size = None
        if do_fs:
            # From the superblock in the bytes already read: no dumpe2fs run.
            fs_size = ext_filesystem_size(head, path)
        result["fs_size_before"] = fs_size
        grow = size > current
        # The filesystem lags the file (an earlier run grew the file only):
        # resize it even when the file is already big enough.
        fs_lags = do_fs and fs_size is not None and fs_size + 1024 * 1024 <= size
        if not grow and not fs_lags:
            result.update(changed=False, fs_size=fs_size)
            return result
        refuse_if_running(guest, self.domains, "grow its disk %s" % path)
        if self.disk_users is not None:
            refuse_if_in_use(path, self.disk_users(path), "grow it")
        if self.loop.attachments(path):
            raise GuestError("%s is attached to a loop device (mounted somewhere?); detach it first" % path)
        result.update(changed=True, grown=grow, fs_resized=do_fs)
        if self.module.check_mode:
            return result
        if grow:
            try:
                # dd if=/dev/zero of=IMG bs=1 count=0 seek=SIZE: a sparse extend.
                os.truncate(path, size)
            except OSError as exc:
                # EFBIG, ENOSPC, EROFS: a file that did not grow keeps its old size.
                raise GuestError("could not grow %s to %d bytes: %s; the disk is unchanged (%d bytes)"
                                 % (path, size, exc.strerror or exc, current))
        if do_fs:
            try:
                self.extfs.fsck(path)
                self.extfs.resize(path)
                # resize2fs wrote the new block count into the superblock: read it back.
                result["fs_size"] = self.extfs.size(path)
            except (CommandError, GuestError) as exc:
                # The next run sees the filesystem lag its file and resizes it then.
                raise GuestError("%s%s; its filesystem was not resized. Run again to finish: the next run resizes "
                                 "the filesystem to fill the file" % ("grew %s to %d bytes, but " % (path, size) if grow
                                                                      else "%s: " % path, exc))
        return result
