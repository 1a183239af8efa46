# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kuutorvaja.xen.xen_image: idempotence, refusals, cleanup after failure, deletion."""

from __future__ import annotations

import json
import os
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_tools
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_common import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_tools import ImageManager, spec_from_params
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
    monkeypatch.setattr(xen_tools, "XEN_TOOLS_SHARE", str(share))
    monkeypatch.setattr(xen_tools, "STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(xen_tools, "AUTOSTART_DIR", str(tmp_path / "etc-xen" / "auto"))
    monkeypatch.setattr(xen_tools, "XEN_TOOLS_LOG_DIR", str(tmp_path / "log"))
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
    return xen_tools.build_create_argv(spec_from_params(dict(host.args))) + list(extra)


def test_existing_guest_is_unchanged_with_one_toolstack_read(module_harness, host):
    make_guest(host)
    result = module_harness(xen_image.main, host.args, [XL_TEST1])
    assert not result["changed"] and not result["rebuilt"] and result["status"] == "present"
    assert result["config"] == host.config and result["disks"] == [host.disk, host.swap]
    assert result["mac"] == xen_tools.derive_mac("test1") and result["ip"] == "dhcp"
    result["_script"].assert_done()


def test_check_mode_reports_the_build_and_runs_nothing(module_harness, host):
    result = module_harness(xen_image.main, dict(host.args, _ansible_check_mode=True), [XL_DOM0],
                            installed=("xl", "xen-create-image"))
    assert result["changed"] and result["command"] == create_argv(host)
    assert not os.path.exists(host.config) and not os.path.exists(os.path.dirname(host.disk))


def test_failed_build_removes_what_it_created_and_quotes_the_log(module_harness, host):
    os.makedirs(host.root / "log")
    (host.root / "log" / "test1.log").write_text(fixture_text("xen-tools/test1-failed.log"))
    result = module_harness(xen_image.main, host.args, [
        XL_DOM0, (create_argv(host), 127, "", "Aborting"),
    ], installed=("xl", "xen-create-image"))
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
                            installed=("xl", "xen-create-image"))
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
    result = module_harness(xen_image.main, dict(host.args, **changes), calls, installed=("xl", "xen-create-image"))
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


def test_build_then_post_install_then_summary(host):
    runner = BuildingRunner(host)
    spec = spec_from_params(dict(host.args, mac="00:16:3e:78:5d:6a"))
    installed = []
    result = manager(host, runner).ensure_present(spec, post_install=installed.append)
    assert result["changed"] and not result["rebuilt"] and result["status"] == "absent"
    assert result["summary"]["mac"] == "00:16:3e:78:5d:6a"
    assert installed == [spec]
    assert not os.listdir(str(host.root / "state"))


def test_failed_post_install_rolls_back_the_build(host):
    spec = spec_from_params(dict(host.args))

    def broken(_spec):
        raise GuestError("could not write authorized_keys")

    with pytest.raises(GuestError, match="could not write authorized_keys.*Removed what this run created"):
        manager(host, BuildingRunner(host)).ensure_present(spec, post_install=broken)
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
