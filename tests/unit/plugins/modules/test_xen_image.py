# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_image: idempotence, refusals, cleanup after failure, deletion."""

from __future__ import annotations

import json
import os
import subprocess
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import golden_image, guest_model, host_tools, locks
from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_image as image_backend
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import XenCreateImage
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import parse_xen_cfg
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import ImageManager, spec_from_params
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_image

from ...conftest import fixture_text

XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake dom0 layout under tmp_path: xen-tools dists, /etc/xen, state and log dirs."""
    share = tmp_path / "share"
    (share / "bookworm.d").mkdir(parents=True)
    (tmp_path / "etc-xen" / "auto").mkdir(parents=True)
    (tmp_path / "srv").mkdir()
    tarball = tmp_path / "guest.tar"
    tarball.write_bytes(b"")
    monkeypatch.setattr(image_backend, "XEN_TOOLS_SHARE", str(share))
    monkeypatch.setattr(image_backend, "STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(image_backend, "AUTOSTART_DIR", str(tmp_path / "etc-xen" / "auto"))
    monkeypatch.setattr(host_tools, "XEN_TOOLS_LOG_DIR", str(tmp_path / "log"))
    return types.SimpleNamespace(
        root=tmp_path,
        args=dict(name="test1", dist="bookworm", install_method="tar", install_source=str(tarball),
                  dir=str(tmp_path / "srv"), config_dir=str(tmp_path / "etc-xen"), size="2G", dhcp=True),
        config=str(tmp_path / "etc-xen" / "test1.cfg"),
        disk=str(tmp_path / "srv" / "domains" / "test1" / "disk.img"),
        swap=str(tmp_path / "srv" / "domains" / "test1" / "swap.img"),
    )


def make_guest(host, disks=True, config=True):
    os.makedirs(os.path.dirname(host.disk), exist_ok=True)
    if config:
        with open(host.config, "w") as handle:
            handle.write(fixture_text("xen-4.17/test1.cfg"))
    if disks:
        for path in (host.disk, host.swap):
            open(path, "wb").close()


def create_argv(host, *extra):
    return XenCreateImage.argv(spec_from_params(dict(host.args))) + list(extra)


def run_argv(host, *extra):
    """What actually runs: xen-create-image in a private mount namespace."""
    return ["unshare", "--mount", "--propagation", "private", "--"] + create_argv(host, *extra)


def test_existing_guest_is_unchanged_with_one_toolstack_read(module_harness, host):
    make_guest(host)
    result = module_harness(xen_image.main, host.args, [XL_TEST1])
    assert not result["changed"] and not result["rebuilt"] and result["status"] == "present"
    assert result["config"] == host.config and result["disks"] == [host.disk, host.swap]
    assert result["mac"] == guest_model.derive_mac("test1") and result["ip"] == "dhcp"
    result["_script"].assert_done()


def test_check_mode_reports_the_build_and_runs_nothing(module_harness, host):
    result = module_harness(xen_image.main, dict(host.args, _ansible_check_mode=True), [XL_DOM0],
                            installed=("xl", "xen-create-image", "unshare"))
    assert result["changed"] and result["command"] == create_argv(host)
    assert not os.path.exists(host.config) and not os.path.exists(os.path.dirname(host.disk))


def test_mirror_password_is_masked_in_command_and_commands_run(module_harness, host):
    mirror = "http://deb:s3cr3t@mirror.example.org/debian"
    result = module_harness(xen_image.main, dict(host.args, mirror=mirror, _ansible_check_mode=True), [XL_DOM0],
                            installed=("xl", "xen-create-image", "unshare"))
    assert "--mirror=http://deb:********@mirror.example.org/debian" in result["command"]
    shown = json.dumps({k: v for k, v in result.items() if not k.startswith("_")})
    assert "s3cr3t" not in shown and len(result["commands_run"]) == 1  # check mode: only the toolstack read ran


def test_failed_build_removes_what_it_created_and_quotes_the_log(module_harness, host):
    os.makedirs(host.root / "log")
    (host.root / "log" / "test1.log").write_text(fixture_text("xen-tools/test1-failed.log"))
    result = module_harness(xen_image.main, host.args, [
        XL_DOM0, (run_argv(host), 127, "", "Aborting"),
    ], installed=("xl", "xen-create-image", "unshare"))
    assert result["failed"]
    assert "xen-create-image failed with rc=127" in result["msg"]
    assert "System installation failed: /bin/ls missing." in result["msg"]
    assert "hunter2" not in json.dumps({k: v for k, v in result.items() if not k.startswith("_")})
    assert not os.path.exists(os.path.join(str(host.root), "state", "test1.json"))


def test_partial_guest_is_refused_without_force(module_harness, host):
    make_guest(host, disks=False)
    result = module_harness(xen_image.main, host.args, [XL_DOM0])
    assert result["failed"] and "only partly there" in result["msg"] and "force: true" in result["msg"]
    assert os.path.exists(host.config)


def test_force_rebuild_refused_while_running(module_harness, host):
    make_guest(host)
    result = module_harness(xen_image.main, dict(host.args, force=True), [XL_TEST1])
    assert result["failed"] and "guest test1 is running" in result["msg"]


def test_force_rebuild_says_so(module_harness, host):
    make_guest(host)
    result = module_harness(xen_image.main, dict(host.args, force=True, _ansible_check_mode=True), [XL_DOM0],
                            installed=("xl", "xen-create-image", "unshare"))
    assert result["changed"] and result["rebuilt"] and "--force" in result["command"]


@pytest.mark.parametrize("changes, message", [
    (dict(name="test1; reboot"), "not a valid guest name"),
    (dict(dist="nosuchdist"), "dist='nosuchdist' is not known to xen-tools"),
    (dict(mac="01:16:3e:00:00:01"), "multicast"),
    (dict(bridge="nosuchbr0"), "bridge=nosuchbr0 does not exist"),
    (dict(size="lots"), "size="),
])
def test_bad_input_refused_before_anything_runs(module_harness, host, changes, message):
    calls = [] if "name" in changes or "mac" in changes or "size" in changes else [XL_DOM0]
    result = module_harness(xen_image.main, dict(host.args, **changes), calls, installed=("xl", "xen-create-image", "unshare"))
    assert result["failed"] and message in result["msg"]
    result["_script"].assert_done()
    assert not os.path.exists(os.path.dirname(host.disk))


def test_absent_removes_link_config_and_disks(module_harness, host):
    make_guest(host)
    link = host.root / "etc-xen" / "auto" / "test1.cfg"
    os.symlink(host.config, str(link))
    args = dict(name="test1", dir=host.args["dir"], config_dir=host.args["config_dir"], state="absent")
    result = module_harness(xen_image.main, args, [XL_DOM0])
    assert result["changed"]
    assert set(result["removed"]) == {str(link), host.config, host.disk, host.swap, os.path.dirname(host.disk)}
    assert not os.path.lexists(str(link)) and not os.path.exists(host.config)
    assert not os.path.exists(os.path.dirname(host.disk))
    again = module_harness(xen_image.main, args, [XL_DOM0])
    assert not again["changed"]


def test_absent_refused_while_running(module_harness, host):
    make_guest(host)
    args = dict(name="test1", dir=host.args["dir"], config_dir=host.args["config_dir"], state="absent")
    result = module_harness(xen_image.main, args, [XL_TEST1])
    assert result["failed"] and "running" in result["msg"]
    assert os.path.exists(host.disk) and os.path.exists(host.config)


class BuildingRunner:
    """A runner whose xen-create-image 'builds': it makes the files xen-tools would."""

    def __init__(self, host, fail=False):
        self.host, self.fail, self.seen = host, fail, []

    def which(self, name, required=True):
        return "/usr/sbin/" + name

    def run(self, argv, check_rc=True, data=None, env=None):
        self.seen.append(argv)
        make_guest(self.host)
        return 0, fixture_text("xen-tools/create-tar-dhcp.stdout"), ""


def manager(host, runner, domains=()):
    module = types.SimpleNamespace(check_mode=False, warn=lambda msg: None)
    return ImageManager(module, runner, set(domains))


def test_build_then_post_install_then_summary(host, monkeypatch):
    runner = BuildingRunner(host)
    spec = spec_from_params(dict(host.args, mac="00:16:3e:78:5d:6a"))
    mounted = []
    monkeypatch.setattr(image_backend, "run_operations", lambda _runner, image, ops: mounted.append((image, ops)))
    ops = xen_image.post_install_ops(dict(authorized_keys=["ssh-ed25519 AAAA test"]))
    result = manager(host, runner).ensure_present(spec, post_install_ops=ops)
    assert result["changed"] and not result["rebuilt"] and result["status"] == "absent"
    # The build's mounts stay in a namespace of its own; the result shows the xen-tools argv.
    assert runner.seen == [["unshare", "--mount", "--propagation", "private", "--"] + result["command"]]
    assert result["summary"]["mac"] == "00:16:3e:78:5d:6a"
    assert mounted == [(host.disk, ops)]
    assert not os.listdir(str(host.root / "state"))


def test_no_post_install_ops_no_mount(host, monkeypatch):
    mounted = []
    monkeypatch.setattr(image_backend, "run_operations", lambda *args: mounted.append(args))
    manager(host, BuildingRunner(host)).ensure_present(spec_from_params(dict(host.args)))
    assert mounted == []


def test_without_nics_the_config_is_the_one_xen_create_image_wrote(host, monkeypatch):
    monkeypatch.setattr(image_backend, "run_operations", lambda *args: pytest.fail("no offline step without keys or NICs"))
    result = manager(host, BuildingRunner(host)).ensure_present(spec_from_params(dict(host.args)))
    with open(host.config) as handle:
        assert handle.read() == fixture_text("xen-4.17/test1.cfg")
    assert result["nics"] == [dict(mac=guest_model.derive_mac("test1"), bridge=None, ip="dhcp")]


@pytest.mark.parametrize("changes, vifs, kind", [
    # The guide's two networks: eth1 into the guest, a vif for each NIC into the config.
    # (No bridges: this host has none; check_host's tests cover them.)
    (dict(dhcp=False, nics=[dict(), dict(ip="172.16.92.10", netmask="255.255.255.0")]), 2, None),
    # PVH: one NIC, the config written again with its type.
    (dict(pvh=True, kernel="vmlinuz"), 1, "pvh"),
])
def test_what_xen_create_image_cannot_write_is_written_after_it(host, monkeypatch, changes, vifs, kind):
    mounted = []
    monkeypatch.setattr(image_backend, "run_operations", lambda _runner, image, ops: mounted.append((image, ops)))
    if "kernel" in changes:
        (host.root / "vmlinuz").write_bytes(b"")
        changes = dict(changes, kernel=str(host.root / "vmlinuz"))
    spec = spec_from_params(dict(host.args, **changes))
    keys = xen_image.post_install_ops(dict(authorized_keys=["ssh-ed25519 AAAA test"]))
    result = manager(host, BuildingRunner(host)).ensure_present(spec, post_install_ops=keys)
    written = parse_xen_cfg(open(host.config).read())
    assert len(written["vif"]) == vifs and written.get("type") == kind
    # One mount: the keys, then (with more NICs) the guest's whole interfaces file.
    interfaces = [golden_image.interfaces_op(spec)] if vifs > 1 else []
    assert mounted == [(host.disk, keys + interfaces)]
    assert [nic["ip"] for nic in result["nics"]] == (["dhcp", "172.16.92.10"] if vifs > 1 else ["dhcp"])


def test_failed_post_install_rolls_back_the_build(host, monkeypatch):
    spec = spec_from_params(dict(host.args))

    def broken(_runner, _image, _ops):
        raise GuestError("could not write authorized_keys")

    monkeypatch.setattr(image_backend, "run_operations", broken)
    with pytest.raises(GuestError, match="could not write authorized_keys.*Removed what this run created"):
        manager(host, BuildingRunner(host)).ensure_present(spec, post_install_ops=[dict(action="directory", path="/root/.ssh")])
    assert not os.path.exists(host.config) and not os.path.exists(host.disk)
    assert not os.path.exists(os.path.dirname(host.disk))


def test_interrupted_build_is_cleaned_and_rebuilt(host):
    spec = spec_from_params(dict(host.args))
    make_guest(host, disks=False)  # the config got written, then the run was killed
    os.makedirs(str(host.root / "state"))
    with open(str(host.root / "state" / "test1.json"), "w") as handle:
        json.dump({"created": [host.config, host.disk, host.swap, "/etc/passwd"]}, handle)
    mgr = manager(host, BuildingRunner(host))
    assert mgr.status(spec) == "interrupted"
    result = mgr.ensure_present(spec)
    assert result["changed"] and result["status"] == "interrupted"
    assert os.path.exists("/etc/passwd")  # never outside the guest's own paths
    assert os.path.exists(host.config) and os.path.exists(host.disk)


class ScriptedBuildRunner(BuildingRunner):
    """Like :class:`BuildingRunner`, but every other command is scripted as (argv, rc, stdout).

    A ``umount`` that succeeds takes the topmost mount at its path out of the
    host's mountinfo file, as the kernel would.
    """

    def __init__(self, host, calls):
        super().__init__(host)
        self.calls = list(calls)

    def run(self, argv, check_rc=True, data=None, env=None):
        if "xen-create-image" in argv:
            return super().run(argv, check_rc, data, env)
        self.seen.append(list(argv))
        want, rc, out = self.calls.pop(0)
        assert list(argv) == want, (argv, want)
        if argv[0] == "umount" and rc == 0:
            path = self.host.root / "mountinfo"
            lines = path.read_text().splitlines(True)
            point = argv[1].replace(" ", "\\040")
            index = max(i for i, line in enumerate(lines) if line.split()[4] == point)
            path.write_text("".join(lines[:index] + lines[index + 1:]))
        return rc, out, ""


def interrupted(host, mountinfo, monkeypatch):
    """A build killed after xen-tools loop-mounted the new disk: marker, disk, and these mounts left."""
    make_guest(host, config=False)
    os.makedirs(str(host.root / "state"))
    with open(str(host.root / "state" / "test1.json"), "w") as handle:
        json.dump({"created": [host.config, host.disk, host.swap, os.path.dirname(host.disk)]}, handle)
    path = host.root / "mountinfo"
    path.write_text(mountinfo)
    monkeypatch.setattr(host_tools, "MOUNTINFO", str(path))


# /proc/self/mountinfo after xen-create-image was killed while installing
# (mounted with -o loop on a tempdir, /proc and /dev/pts bound inside), plus
# someone else's loop mount that must be left alone.
KILLED_MOUNTINFO = """\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
120 22 7:3 / /tmp/9Bq2x\\040k rw,relatime shared:60 - ext4 /dev/loop3 rw
121 120 0:21 / /tmp/9Bq2x\\040k/proc rw,relatime shared:61 - proc proc rw
122 120 0:23 / /tmp/9Bq2x\\040k/dev/pts rw,relatime shared:62 - devpts devpts rw,mode=600
130 22 7:4 / /tmp/other rw,relatime shared:70 - ext4 /dev/loop4 rw
"""


def test_interrupted_build_releases_its_mounts_before_deleting(host, monkeypatch):
    interrupted(host, KILLED_MOUNTINFO, monkeypatch)
    mount_point = "/tmp/9Bq2x k"
    runner = ScriptedBuildRunner(host, [
        (["losetup", "-j", host.disk], 0, "/dev/loop3: [65025]:1234 (%s)\n" % host.disk),
        (["losetup", "-j", host.swap], 0, ""),
        (["umount", mount_point + "/dev/pts"], 0, ""),
        (["umount", mount_point + "/proc"], 0, ""),
        (["umount", mount_point], 0, ""),
        (["losetup", "-j", host.disk], 0, ""),  # -o loop: detached by the umount
        (["losetup", "-j", host.swap], 0, ""),
    ])
    spec = spec_from_params(dict(host.args))
    mgr = manager(host, runner)
    assert mgr.status(spec) == "interrupted"
    result = mgr.ensure_present(spec)
    assert result["changed"] and result["status"] == "interrupted" and "--force" in result["command"]
    assert not runner.calls
    assert runner.seen[-1][:6] == ["unshare", "--mount", "--propagation", "private", "--", "xen-create-image"]
    assert os.path.exists(host.disk) and not os.listdir(str(host.root / "state"))


def test_interrupted_offline_step_detaches_its_loop_device(host, monkeypatch):
    # Killed inside xen_guest_files' mount: losetup attached the device, so it outlives the umount.
    interrupted(host, "120 22 7:5 / /tmp/kuutorvaja-xen-guest-x1 rw - ext4 /dev/loop5 rw\n", monkeypatch)
    runner = ScriptedBuildRunner(host, [
        (["losetup", "-j", host.disk], 0, "/dev/loop5: [65025]:1234 (%s)\n" % host.disk),
        (["losetup", "-j", host.swap], 0, ""),
        (["umount", "/tmp/kuutorvaja-xen-guest-x1"], 0, ""),
        (["losetup", "-j", host.disk], 0, "/dev/loop5: [65025]:1234 (%s)\n" % host.disk),
        (["losetup", "-d", "/dev/loop5"], 0, ""),
        (["losetup", "-j", host.swap], 0, ""),
    ])
    result = manager(host, runner).ensure_present(spec_from_params(dict(host.args)))
    assert result["changed"] and not runner.calls


def killed_build_umounts(host):
    """The lookups and inner umounts that release KILLED_MOUNTINFO's mounts, up to the disk's own mount point."""
    return [
        (["losetup", "-j", host.disk], 0, "/dev/loop3: [65025]:1234 (%s)\n" % host.disk),
        (["losetup", "-j", host.swap], 0, ""),
        (["umount", "/tmp/9Bq2x k/dev/pts"], 0, ""),
        (["umount", "/tmp/9Bq2x k/proc"], 0, ""),
    ]


def test_absent_after_an_interrupted_build_releases_its_mounts(host, monkeypatch):
    interrupted(host, KILLED_MOUNTINFO, monkeypatch)
    runner = ScriptedBuildRunner(host, killed_build_umounts(host) + [
        (["umount", "/tmp/9Bq2x k"], 0, ""),
        (["losetup", "-j", host.disk], 0, ""),
        (["losetup", "-j", host.swap], 0, ""),
    ])
    spec = spec_from_params(dict(host.args, state="absent"), for_delete=True)
    result = manager(host, runner).ensure_absent(spec)
    assert result["changed"] and not runner.calls
    assert not os.path.exists(host.disk) and not os.listdir(str(host.root / "state"))


def test_no_loop_device_no_mount_is_touched(host, monkeypatch):
    interrupted(host, KILLED_MOUNTINFO, monkeypatch)
    runner = ScriptedBuildRunner(host, [
        (["losetup", "-j", host.disk], 0, ""),
        (["losetup", "-j", host.swap], 0, ""),
    ])
    manager(host, runner).ensure_present(spec_from_params(dict(host.args)))
    assert not runner.calls and not any(argv[0] == "umount" for argv in runner.seen)


def test_xenstored_down_fails_naming_it(module_harness, host):
    stderr = fixture_text("xen-4.17/xl-no-xenstore.stderr")
    result = module_harness(xen_image.main, host.args, [(["xl", "list"], 1, "", stderr)],
                            installed=("xl", "xen-create-image", "unshare"))
    assert result["failed"] and result["msg"].startswith("xenstored is not running or cannot be reached")
    assert "cannot connect to xenstore" in result["msg"]
    assert not os.path.exists(os.path.dirname(host.disk))


class FailingRunner(BuildingRunner):
    """xen-create-image fails (after xen-tools removed its own work, as with --nokeep)."""

    def run(self, argv, check_rc=True, data=None, env=None):
        from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError

        self.seen.append(argv)
        raise CommandError(argv, 1, "", "Aborting")


@pytest.mark.parametrize("free, noted", [(140, True), (2176, False), (None, False)])
def test_failed_build_says_when_dir_had_less_room_than_the_disks(host, monkeypatch, free, noted):
    monkeypatch.setattr(image_backend, "free_mib", lambda path: free)
    spec = spec_from_params(dict(host.args))  # 2048M disk + 128M swap = 2176 MiB
    with pytest.raises(GuestError) as caught:
        manager(host, FailingRunner(host)).ensure_present(spec)
    message = str(caught.value)
    assert message.startswith("building guest test1 failed: xen-create-image failed with rc=1. ")
    note = "Probably out of disk space: %s had 140 MiB free before the build, less than the 2176 MiB" % host.args["dir"]
    assert (note in message) is noted


def test_a_build_that_filled_its_filesystem_fails_and_is_removed(host, monkeypatch):
    free = iter([140, 0])  # MiB free before the build, and after it
    monkeypatch.setattr(image_backend, "free_mib", lambda path: next(free))
    spec = spec_from_params(dict(host.args))
    with pytest.raises(GuestError) as caught:
        manager(host, BuildingRunner(host)).ensure_present(spec)
    message = str(caught.value)
    assert message.startswith("building guest test1 failed: the filesystem holding %s was full when "
                              "xen-create-image finished" % host.args["dir"])
    assert "Probably out of disk space: %s had 140 MiB free" % host.args["dir"] in message
    assert not os.path.exists(host.disk) and not os.path.exists(host.config)


class NokeepFailingRunner(FailingRunner):
    """xen-create-image makes DIR/domains/NAME, fails, and its --nokeep removes only NAME's own directory."""

    def run(self, argv, check_rc=True, data=None, env=None):
        guest_dir = os.path.dirname(self.host.disk)
        os.makedirs(guest_dir)
        os.rmdir(guest_dir)
        return super().run(argv, check_rc, data, env)


@pytest.mark.parametrize("other_guest", [False, True])
def test_failed_build_on_a_fresh_dir_leaves_no_domains_directory(host, monkeypatch, other_guest):
    monkeypatch.setattr(image_backend, "free_mib", lambda path: None)
    domains = os.path.dirname(os.path.dirname(host.disk))
    if other_guest:
        os.makedirs(os.path.join(domains, "web1"))
    with pytest.raises(GuestError, match="Removed what this run created: %s" % (
            "nothing" if other_guest else domains)):
        manager(host, NokeepFailingRunner(host)).ensure_present(spec_from_params(dict(host.args)))
    assert os.path.isdir(domains) is other_guest


def test_a_mount_that_will_not_go_is_named_and_nothing_is_deleted(host, monkeypatch):
    interrupted(host, KILLED_MOUNTINFO, monkeypatch)
    monkeypatch.setattr(host_tools.Mounts, "umount_attempts", 2)
    runner = ScriptedBuildRunner(host, killed_build_umounts(host) + [
        (["umount", "/tmp/9Bq2x k"], 32, ""),  # target is busy, and stays so when asked again
        (["umount", "/tmp/9Bq2x k"], 32, ""),
    ])
    with pytest.raises(GuestError, match="could not unmount /tmp/9Bq2x k, left mounted by an interrupted build"):
        manager(host, runner).ensure_present(spec_from_params(dict(host.args)))
    assert os.path.exists(host.disk) and os.path.exists(str(host.root / "state" / "test1.json"))


# -- build markers: who made them, and what an unreadable one may clean ----------

@pytest.mark.parametrize("text, verdict", [
    ("", "unreadable"),
    ("{", "unreadable"),
    ('{"created": ["/srv/xen/domains/test1/disk.img"', "unreadable"),  # cut off while written
    ("[]", "unreadable"),
    ('{"created": "/etc/passwd"}', "unreadable"),
    ('{"created": [1]}', "unreadable"),
    ('{"created": []}', "interrupted"),  # an older marker: no owner, so no live build to spare
    ('{"created": [], "owner": {"pid": 1, "start_time": 5, "boot_id": "b"}}', "interrupted"),
    ('{"created": [], "owner": "LIVE"}', "live"),
])
def test_marker_verdict_as_data(text, verdict):
    assert image_backend.marker_verdict(text, alive=lambda owner: owner == "LIVE")[0] == verdict


def write_marker(host, text):
    os.makedirs(str(host.root / "state"), exist_ok=True)
    path = host.root / "state" / "test1.json"
    path.write_text(text)
    return path


def warned_manager(host, runner):
    warnings = []
    module = types.SimpleNamespace(check_mode=False, warn=warnings.append)
    return ImageManager(module, runner, set()), warnings


@pytest.mark.parametrize("text", ["", '{"created": ["%s", "/etc/passwd"'])
def test_an_unreadable_marker_cleans_only_the_guests_own_paths_then_rebuilds(host, text):
    outside = host.root / "keep.img"
    outside.write_bytes(b"data")
    make_guest(host, disks=False)  # the config got written, then the run was killed
    marker = write_marker(host, text.replace("%s", str(outside)) if "%s" in text else text)
    spec = spec_from_params(dict(host.args, mac="00:16:3e:78:5d:6a"))  # the MAC the stub build reports
    runner = BuildingRunner(host)
    mgr, warnings = warned_manager(host, runner)
    assert mgr.status(spec) == "interrupted"
    result = mgr.ensure_present(spec)
    assert result["changed"] and result["status"] == "interrupted" and "--force" in result["command"]
    assert len(warnings) == 1 and str(marker) in warnings[0] and "unreadable" in warnings[0]
    assert host.config in warnings[0] and str(outside) not in warnings[0]
    assert outside.read_bytes() == b"data" and os.path.exists("/etc/passwd")
    assert os.path.exists(host.config) and os.path.exists(host.disk) and not marker.exists()


def owner_marker(host, owner):
    return write_marker(host, json.dumps({"created": [host.config, host.disk, host.swap], "owner": owner}))


def dead_owner():
    child = subprocess.Popen(["sleep", "30"])
    owner = locks.process_owner(child.pid)
    child.kill()
    child.wait()
    return owner


@pytest.mark.parametrize("owner", [
    pytest.param(dead_owner, id="dead-pid"),
    pytest.param(lambda: dict(locks.process_owner(), boot_id="00000000-0000-0000-0000-000000000000"), id="other-boot"),
    pytest.param(lambda: dict(locks.process_owner(), start_time=locks.process_owner()["start_time"] - 1), id="reused-pid"),
])
def test_a_marker_whose_owner_is_gone_is_cleaned(host, owner):
    make_guest(host, disks=False)
    owner_marker(host, owner())
    spec = spec_from_params(dict(host.args))
    mgr = manager(host, BuildingRunner(host))
    assert mgr.status(spec) == "interrupted"
    result = mgr.ensure_present(spec)
    assert result["changed"] and result["status"] == "interrupted"
    assert os.path.exists(host.disk) and not os.listdir(str(host.root / "state"))


def test_a_marker_of_a_live_owner_is_never_cleaned(host):
    make_guest(host, disks=False)
    marker = owner_marker(host, locks.process_owner())
    spec = spec_from_params(dict(host.args))
    runner = BuildingRunner(host)
    mgr = manager(host, runner)
    assert mgr.status(spec) == "building"
    with pytest.raises(GuestError, match="being built right now by pid %d" % os.getpid()):
        mgr.ensure_present(spec, force=True)
    with pytest.raises(GuestError, match="refusing to delete it"):
        mgr.ensure_absent(spec_from_params(dict(host.args, state="absent"), for_delete=True))
    with pytest.raises(GuestError, match="refusing to clean up after it"):
        mgr.cleanup_interrupted(spec)
    assert runner.seen == [] and marker.exists() and os.path.exists(host.config)


def test_the_marker_names_its_owner_and_is_written_whole(host):
    spec = spec_from_params(dict(host.args))
    mgr = manager(host, BuildingRunner(host))
    mgr._write_marker(spec, [host.disk])
    assert os.listdir(str(host.root / "state")) == ["test1.json"]  # no temporary file left
    record = json.loads((host.root / "state" / "test1.json").read_text())
    assert record == {"created": [host.disk], "owner": locks.process_owner()}
    assert mgr.marker(spec)[0] == "live"
    assert oct(os.stat(str(host.root / "state" / "test1.json")).st_mode & 0o777) == "0o600"
