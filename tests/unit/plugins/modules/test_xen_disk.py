# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_disk through main(): commands as data, real sparse files."""

from __future__ import annotations

import os

import pytest

from ansible_collections.kuutorvaja.xen.plugins.modules import xen_disk

from ...conftest import CommandScript, fixture_text
from ...conftest_helpers import ext_head, xl_list_long
from ..module_utils.test_xen_disk_backend import write_superblock

XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))
MIB = 1 << 20


def image(tmp_path, size=64 * MIB):
    """A sparse ``size``-byte image holding an ext superblock for a filesystem that fills it."""
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.write(ext_head(size))
        handle.truncate(size)
    return str(path)


@pytest.fixture
def resize2fs_rewrites_superblock(monkeypatch):
    """A scripted ``resize2fs`` that succeeds also does to the image what the real one does.

    The real resize2fs writes the new block count into the superblock, which
    the module reads back for ``fs_size``; here the superblock is rewritten for
    the file's size in whole 4 KiB blocks.
    """
    scripted = CommandScript.__call__

    def call(self, module, args, **kwargs):
        rc, out, err = scripted(self, module, args, **kwargs)
        if os.path.basename(args[0]) == "resize2fs" and rc == 0:
            write_superblock(args[-1], os.path.getsize(args[-1]) // 4096 * 4096)
        return rc, out, err

    monkeypatch.setattr(CommandScript, "__call__", call)


def test_grow_the_seeds_way(module_harness, tmp_path, resize2fs_rewrites_superblock):
    """The guide's growth: sparse extend, e2fsck -f -y, resize2fs -p."""
    path = image(tmp_path)
    result = module_harness(xen_disk.main, dict(name="fc4", path=path, size="128M"), [
        XL_DOM0,
        (["xl", "list", "-l"], 0, xl_list_long()),
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 0, ""),
        (["resize2fs", "-p", path], 0, ""),
    ], installed=("xl", "losetup", "e2fsck", "resize2fs"))
    assert result["changed"] and result["grown"] and result["fs_resized"]
    assert result["fs_size_before"] == 64 * MIB and result["fs_size"] == 128 * MIB
    result["_script"].assert_done()


@pytest.mark.parametrize("offered", ["hardlink", "symlink", "same"])
def test_another_live_guests_disk_is_refused_whatever_it_is_called(module_harness, tmp_path, offered):
    """test1 runs from disk.img; the same file offered as guest fc4, under its own or another name."""
    path = image(tmp_path)
    alias = str(tmp_path / "fc4.img")
    if offered == "hardlink":
        os.link(path, alias)
    elif offered == "symlink":
        os.symlink(path, alias)
    else:
        alias = path
    before = open(path, "rb").read(4096), os.path.getsize(path)
    result = module_harness(xen_disk.main, dict(name="fc4", path=alias, size="128M"), [
        XL_DOM0,  # fc4 is not running: the name says nothing
        (["xl", "list", "-l"], 0, xl_list_long(disk=path)),
    ], installed=("xl",))
    assert result["failed"]
    assert result["msg"] == (
        "%s is a disk of the live domain(s) test1 (the same file or device, whatever it is called); "
        "refusing to grow it while they run. Shut them down first" % alias)
    assert (open(path, "rb").read(4096), os.path.getsize(path)) == before
    result["_script"].assert_done()


def test_nothing_to_grow_runs_only_the_domain_list(module_harness, tmp_path):
    path = image(tmp_path, 128 * MIB)
    result = module_harness(xen_disk.main, dict(name="fc4", path=path, size="128M"), [XL_DOM0], installed=("xl",))
    assert not result["changed"] and not result["grown"] and not result["fs_resized"]
    assert result["fs_size_before"] == result["fs_size"] == 128 * MIB
    result["_script"].assert_done()


def test_running_guest_refused(module_harness, tmp_path):
    path = image(tmp_path)
    result = module_harness(xen_disk.main, dict(name="test1", path=path, size="128M"), [XL_TEST1], installed=("xl",))
    assert result["failed"] and "guest test1 is running" in result["msg"]
    assert (tmp_path / "disk.img").stat().st_size == 64 * MIB


def test_missing_toolstack_fails_clearly(module_harness, tmp_path):
    result = module_harness(xen_disk.main, dict(name="fc4", path=image(tmp_path), size="128M"), [], installed=())
    assert result["failed"] and "neither 'xl' nor 'xm'" in result["msg"]


def test_bad_size_refused(module_harness, tmp_path):
    result = module_harness(xen_disk.main, dict(name="fc4", path=image(tmp_path), size="5 parsecs"), [])
    assert result["failed"] and result["msg"].startswith("size=")


def grow_calls(path, resize_rc=0):
    return [XL_DOM0, (["xl", "list", "-l"], 0, xl_list_long()), (["losetup", "-j", path], 0, ""),
            (["e2fsck", "-f", "-y", path], 0, ""), (["resize2fs", "-p", path], resize_rc, "", "No space left on device")]


def test_a_file_that_cannot_grow_is_named_and_left_as_it_was(module_harness, tmp_path, monkeypatch):
    path = image(tmp_path)

    def too_large(target, size):
        raise OSError(27, "File too large", target)

    monkeypatch.setattr(os, "truncate", too_large)
    result = module_harness(xen_disk.main, dict(name="fc4", path=path, size="128M"), grow_calls(path)[:3],
                            installed=("xl", "losetup", "e2fsck", "resize2fs"))
    assert result["failed"]
    assert result["msg"] == "could not grow %s to %d bytes: File too large; the disk is unchanged (%d bytes)" % (
        path, 128 * MIB, 64 * MIB)
    assert os.path.getsize(path) == 64 * MIB
    result["_script"].assert_done()


def test_a_failed_resize_after_the_file_grew_says_so_and_the_next_run_finishes(module_harness, tmp_path,
                                                                               resize2fs_rewrites_superblock):
    path = image(tmp_path)
    args = dict(name="fc4", path=path, size="128M")
    installed = ("xl", "losetup", "e2fsck", "resize2fs")
    result = module_harness(xen_disk.main, args, grow_calls(path, resize_rc=1), installed=installed)
    assert result["failed"]
    assert result["msg"].startswith("grew %s to %d bytes, but command '/usr/sbin/resize2fs -p %s' failed" % (path, 128 * MIB, path))
    assert result["msg"].endswith("its filesystem was not resized. Run again to finish: the next run resizes "
                                  "the filesystem to fill the file")
    assert os.path.getsize(path) == 128 * MIB
    # The file is big enough now; the filesystem still lags it, and this run resizes it.
    result = module_harness(xen_disk.main, args, grow_calls(path), installed=installed)
    assert result["changed"] and not result["grown"] and result["fs_resized"] and result["fs_size"] == 128 * MIB
    result["_script"].assert_done()
