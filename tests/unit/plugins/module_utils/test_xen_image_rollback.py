# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A failed build removes what that run made, and only that; bounds are refused before anything is made.

Each step of a build fails in turn (a command, ENOSPC writing the swap
image, a rollback that cannot finish); the paths this run created must be
gone, the ones that were there before untouched, the marker gone (or kept
when the next run has cleanup left to do), and the message must name the
cause.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import shutil
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import golden_image
from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_image as image_backend
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import ImageManager, spec_from_params
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_image

from ...conftest import fixture_text
from ...conftest_helpers import ext_head, write_ext_image

MIB = 1024 * 1024
XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
HASH = "$6$saltsalt$" + "a" * 86


class HostRunner:
    """Does what each tool would to the files (cp copies, resize2fs rewrites the superblock, ...); ``fail_on`` fails one."""

    def __init__(self, fail_on=None):
        self.fail_on = fail_on
        self.seen = []

    def which(self, name, required=True):
        return "/usr/sbin/" + name

    def run(self, argv, check_rc=True, data=None, env=None):
        self.seen.append(list(argv))
        tool = argv[5] if argv[0] == "unshare" else argv[0]
        if tool == self.fail_on:
            if check_rc:
                raise CommandError(argv, 8, "", "%s: scripted failure" % tool)
            return 8, "", "%s: scripted failure" % tool
        out = ""
        if tool == "cp":
            shutil.copyfile(argv[-2], argv[-1])
        elif tool == "resize2fs":
            with open(argv[-1], "r+b") as handle:
                handle.write(ext_head(os.path.getsize(argv[-1])))
        elif tool == "ssh-keygen" and "-l" in argv:
            out = "256 SHA256:x root@test1 (ED25519)\n"
        elif tool == "ssh-keygen":
            for path in (argv[-1], argv[-1] + ".pub"):
                with open(path, "w") as handle:
                    handle.write("key\n")
        elif tool == "losetup" and "--find" in argv:
            out = "/dev/loop7\n"
        elif tool == "mount":
            for sub in ("etc/ssh", "etc/network", "root"):
                os.makedirs(os.path.join(argv[-1], sub), exist_ok=True)
            with open(os.path.join(argv[-1], "etc", "shadow"), "w") as handle:
                handle.write("root:*:19000:0:99999:7:::\n")
        elif tool == "umount":
            for entry in os.listdir(argv[-1]):
                shutil.rmtree(os.path.join(argv[-1], entry))
        elif tool == "xen-create-image":
            options = dict(a[2:].partition("=")[::2] for a in argv if a.startswith("--"))
            base = os.path.join(options["dir"], "domains", options["hostname"])
            os.makedirs(base, exist_ok=True)
            write_ext_image(os.path.join(base, "disk.img"), 16 * MIB)
            open(os.path.join(base, "swap.img"), "wb").close()
            with open(os.path.join(options["output"], options["hostname"] + ".cfg"), "w") as handle:
                handle.write("name = '%s'\n" % options["hostname"])
        return 0, out, ""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A dom0 under tmp_path with another guest (web1) already in dir and a file of the user's in the config dir."""
    for sub in ("etc-xen", "srv/domains/web1", "share/bookworm.d", "log", "tmp"):
        (tmp_path / sub).mkdir(parents=True)
    monkeypatch.setattr(image_backend, "STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(image_backend, "AUTOSTART_DIR", str(tmp_path / "etc-xen" / "auto"))
    monkeypatch.setattr(image_backend, "XEN_TOOLS_SHARE", str(tmp_path / "share"))
    monkeypatch.setattr(image_backend, "XEN_TOOLS_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setattr(golden_image, "HOST_KEY_TYPES", ("ed25519",))
    monkeypatch.setattr(golden_image.tempfile, "tempdir", str(tmp_path / "tmp"))
    golden = write_ext_image(str(tmp_path / "golden.img"), 32 * MIB)
    before = {}
    for path, content in ((tmp_path / "srv" / "domains" / "web1" / "disk.img", b"web1 disk"),
                          (tmp_path / "etc-xen" / "web1.cfg", b"name = 'web1'\n")):
        path.write_bytes(content)
        before[str(path)] = content
    base = tmp_path / "srv" / "domains" / "test1"
    return types.SimpleNamespace(
        root=tmp_path, before=before,
        golden_args=dict(name="test1", dist="bookworm", install_method="image", install_source=golden,
                         dir=str(tmp_path / "srv"), config_dir=str(tmp_path / "etc-xen"), size="64M", swap="16M",
                         dhcp=True, root_password_hash=HASH),
        tools_args=dict(name="test1", dist="bookworm", dir=str(tmp_path / "srv"), config_dir=str(tmp_path / "etc-xen"),
                        size="64M", dhcp=True, root_password_hash=HASH),
        made=[str(base / "disk.img"), str(base / "swap.img"), str(base), str(tmp_path / "etc-xen" / "test1.cfg")],
    )


def build(host, args, runner):
    module = types.SimpleNamespace(check_mode=False, warn=lambda msg: None)
    # No live domain has the golden image (that refusal is test_golden_image's).
    return ImageManager(module, runner, set(), disk_users=lambda path: []).ensure_present(
        spec_from_params(dict(args)), post_install_ops=xen_image.post_install_ops(args))


def assert_rolled_back(host):
    """Nothing this run made is left; what was there before is as it was; no marker."""
    assert [p for p in host.made if os.path.lexists(p)] == []
    for path, content in host.before.items():
        with open(path, "rb") as handle:
            assert handle.read() == content
    assert not os.listdir(str(host.root / "state"))


def test_the_golden_build_works_on_this_fake_host(host):
    result = build(host, host.golden_args, HostRunner())
    assert result["changed"] and all(os.path.exists(p) for p in host.made)


@pytest.mark.parametrize("step", ["cp", "e2fsck", "resize2fs", "mkswap", "ssh-keygen", "losetup", "mount"])
def test_a_golden_build_failing_at_each_step_removes_what_it_made(host, step):
    with pytest.raises(GuestError) as caught:
        build(host, host.golden_args, HostRunner(fail_on=step))
    message = str(caught.value)
    assert message.startswith("building guest test1 failed: ") and "%s: scripted failure" % step in message
    assert "Removed what this run created: " in message
    assert_rolled_back(host)


def test_out_of_space_while_making_swap_rolls_back_and_says_so(host, monkeypatch):
    def open_full(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        if path.endswith("swap.img") and "w" in mode:
            handle.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return handle

    monkeypatch.setattr(golden_image, "open", open_full, raising=False)
    with pytest.raises(GuestError) as caught:
        build(host, dict(host.golden_args, image="full"), HostRunner())
    message = str(caught.value)
    assert "the copy: No space left on device (%s)" % host.made[1] in message
    assert_rolled_back(host)


def allocated(path):
    """Whether every byte of ``path`` has its block (st_blocks counts 512-byte units)."""
    stat = os.stat(path)
    return stat.st_blocks * 512 >= stat.st_size


@pytest.mark.parametrize("kind", ["tools_args", "golden_args"])
def test_a_full_image_has_every_block_allocated_after_the_build(host, kind):
    # The fake xen-create-image leaves disk.img sparse, as mkfs.ext4 leaves
    # the full file dd wrote (it punches its free blocks out); the golden
    # path grows its copy by extending the file.
    result = build(host, dict(getattr(host, kind), image="full"), HostRunner())
    assert result["changed"]
    assert os.path.getsize(host.made[0]) >= 16 * MIB and allocated(host.made[0])
    assert allocated(host.made[1])


def test_a_sparse_image_keeps_its_holes(host):
    build(host, host.tools_args, HostRunner())
    assert os.path.getsize(host.made[0]) == 16 * MIB and not allocated(host.made[0])


def test_no_room_to_allocate_a_full_image_rolls_back_and_says_so(host, monkeypatch):
    def no_room(handle, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(image_backend.os, "posix_fallocate", no_room)
    with pytest.raises(GuestError) as caught:
        build(host, dict(host.tools_args, image="full"), HostRunner())
    assert "failed: allocating the image files (image=full): No space left on device. " in str(caught.value)
    assert_rolled_back(host)


@pytest.mark.parametrize("step", ["xen-create-image", "losetup", "mount"])
def test_a_xen_tools_build_failing_at_each_step_removes_what_it_made(host, step):
    with pytest.raises(GuestError) as caught:
        build(host, host.tools_args, HostRunner(fail_on=step))
    message = str(caught.value)
    if step == "xen-create-image":
        assert "xen-create-image failed with rc=8" in message and "Last lines of" in message
    else:
        # The offline step after xen-tools is not blamed on xen-tools.
        assert "command '%s" % step in message and "xen-create-image failed" not in message
    assert_rolled_back(host)


def test_a_rollback_that_cannot_finish_keeps_the_marker_for_the_next_run(host, monkeypatch):
    def stuck(self, paths):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), paths[0])

    monkeypatch.setattr(ImageManager, "_remove_paths", stuck)
    with pytest.raises(GuestError, match="mkswap: scripted failure.*Could not remove all this run created.*the next run"):
        build(host, host.golden_args, HostRunner(fail_on="mkswap"))
    assert os.listdir(str(host.root / "state")) == ["test1.json"]
    monkeypatch.undo()
    monkeypatch.setattr(image_backend, "STATE_DIR", str(host.root / "state"))
    # The next run is another process: this one, the marker's owner, counts as gone.
    with open(str(host.root / "state" / "test1.json")) as handle:
        record = json.load(handle)
    assert image_backend.marker_verdict(json.dumps(record), alive=lambda owner: False)[0] == "interrupted"
    record["owner"] = None
    with open(str(host.root / "state" / "test1.json"), "w") as handle:
        json.dump(record, handle)
    assert ImageManager(types.SimpleNamespace(check_mode=False), HostRunner(), set()).status(
        spec_from_params(dict(host.golden_args))) == "interrupted"


@pytest.mark.parametrize("changes, message", [
    (dict(config_dir="/srv/" + "c" * 300), "config_dir: " + "c" * 40 + "... in /srv/"),
    (dict(dir="/srv/" + "d" * 256), "is 256 bytes long; a file name holds at most 255"),
    (dict(dir="/srv" + "/d" * 2100), "bytes long; Linux takes paths of at most 4095"),
    (dict(vcpus=100000), "vcpus=100000 is more than 512 virtual CPUs"),
    (dict(root_password_hash="hunter2"), "root_password_hash is not a crypt(3) password hash"),
    (dict(root_password_hash="$6$salt$hash\nroot2::0:0"), "root_password_hash is not a crypt(3) password hash"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_bounds_are_refused_before_anything_runs_also_in_check_mode(module_harness, host, changes, message, check_mode):
    args = dict(host.tools_args, _ansible_check_mode=check_mode, **changes)
    result = module_harness(xen_image.main, args, [], installed=("xl", "xen-create-image", "unshare"))
    assert result["failed"] and message in result["msg"]
    assert "hunter2" not in result["msg"]
    result["_script"].assert_done()
    assert not os.path.exists(host.made[2]) and not os.path.exists(str(host.root / "state"))


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_full_image_bigger_than_the_room_in_dir_is_refused_before_anything_is_made(module_harness, host, monkeypatch, check_mode):
    monkeypatch.setattr(image_backend, "free_mib", lambda path: 70)
    args = dict(host.tools_args, image="full", swap="16M", _ansible_check_mode=check_mode)
    result = module_harness(xen_image.main, args, [XL_DOM0], installed=("xl", "xen-create-image", "unshare"))
    assert result["failed"]
    assert result["msg"] == ("size=64M and swap=16M with image=full needs 80 MiB, but %s has 70 MiB free; nothing was made"
                             % host.tools_args["dir"])
    assert not os.path.exists(host.made[2]) and not os.path.exists(str(host.root / "state"))


def test_a_sparse_image_is_not_held_to_the_room_in_dir(module_harness, host, monkeypatch):
    monkeypatch.setattr(image_backend, "free_mib", lambda path: 70)
    args = dict(host.tools_args, _ansible_check_mode=True)
    result = module_harness(xen_image.main, args, [XL_DOM0], installed=("xl", "xen-create-image", "unshare"))
    assert result["changed"] and not result.get("failed")


def test_a_marker_that_cannot_be_written_fails_before_anything_is_made(host, monkeypatch):
    def full(self, spec, created):
        with open(self._marker(spec), "w") as handle:
            handle.write("{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    os.makedirs(str(host.root / "state"))
    monkeypatch.setattr(ImageManager, "_write_marker", full)
    runner = HostRunner()
    with pytest.raises(GuestError, match="failed before it began: cannot record the build in .*No space left on device; nothing was made"):
        build(host, host.golden_args, runner)
    assert_rolled_back(host)
    assert not [argv for argv in runner.seen if argv[0] in ("cp", "xen-create-image")]
