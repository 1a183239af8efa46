# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kuutorvaja.xen.xen_disk through main(): commands as data, real sparse files."""

from __future__ import annotations

from ansible_collections.kuutorvaja.xen.plugins.modules import xen_disk

from ...conftest import fixture_text
from ..module_utils.test_disk_image import ext_head

XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))
MIB = 1 << 20


def image(tmp_path):
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.write(ext_head())
        handle.truncate(64 * MIB)
    return str(path)


def dumpe2fs(size):
    return "Block count: %d\nBlock size: 4096\n" % (size // 4096)


def test_grow_the_seeds_way(module_harness, tmp_path):
    """DIGEST section 11: sparse extend, e2fsck -f -y, resize2fs -p."""
    path = image(tmp_path)
    result = module_harness(xen_disk.main, dict(name="fc4", path=path, size="128M"), [
        XL_DOM0,
        (["dumpe2fs", "-h", path], 0, dumpe2fs(64 * MIB)),
        (["losetup", "-j", path], 0, ""),
        (["e2fsck", "-f", "-y", path], 0, ""),
        (["resize2fs", "-p", path], 0, ""),
        (["dumpe2fs", "-h", path], 0, dumpe2fs(128 * MIB)),
    ], installed=("xl", "dumpe2fs", "losetup", "e2fsck", "resize2fs"))
    assert result["changed"] and result["grown"] and result["fs_resized"] and result["fs_size"] == 128 * MIB
    result["_script"].assert_done()


def test_running_guest_refused(module_harness, tmp_path):
    path = image(tmp_path)
    result = module_harness(xen_disk.main, dict(name="test1", path=path, size="128M"), [
        XL_TEST1, (["dumpe2fs", "-h", path], 0, dumpe2fs(64 * MIB)),
    ], installed=("xl", "dumpe2fs"))
    assert result["failed"] and "guest test1 is running" in result["msg"]
    assert (tmp_path / "disk.img").stat().st_size == 64 * MIB


def test_missing_toolstack_fails_clearly(module_harness, tmp_path):
    result = module_harness(xen_disk.main, dict(name="fc4", path=image(tmp_path), size="128M"), [], installed=())
    assert result["failed"] and "neither 'xl' nor 'xm'" in result["msg"]


def test_bad_size_refused(module_harness, tmp_path):
    result = module_harness(xen_disk.main, dict(name="fc4", path=image(tmp_path), size="5 parsecs"), [])
    assert result["failed"] and result["msg"].startswith("size=")
