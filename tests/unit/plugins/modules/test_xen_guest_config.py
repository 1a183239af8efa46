# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_guest_config: write, idempotence, restart_required, check mode."""

from __future__ import annotations

from ansible_collections.kuutorvaja.xen.plugins.modules import xen_guest_config

from ...conftest import fixture_text

XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))


def args(tmp_path, **changes):
    base = dict(
        name="test1", path=str(tmp_path / "test1.cfg"), config_dir=str(tmp_path), type="pygrub", memory="256M", root="/dev/xvda2 ro",
        disks=[{"target": "/srv/xen/domains/test1/disk.img", "vdev": "xvda2"},
               {"target": "/srv/xen/domains/test1/swap.img", "vdev": "xvda1"}],
        vifs=[{"mac": "00:16:3e:78:5d:6a", "bridge": "xenbr0"}],
        on_poweroff="destroy", on_reboot="restart", on_crash="restart", settings={"dhcp": "dhcp"},
    )
    base.update(changes)
    return base


def test_xen_tools_config_is_left_alone(module_harness, tmp_path):
    """The recorded config xen-tools wrote on Xen 4.17 already matches: no rewrite, no restart."""
    (tmp_path / "test1.cfg").write_text(fixture_text("xen-4.17/test1.cfg"))
    result = module_harness(xen_guest_config.main, args(tmp_path), [XL_TEST1])
    assert not result["changed"] and not result["restart_required"] and result["running"]
    assert (tmp_path / "test1.cfg").read_text() == fixture_text("xen-4.17/test1.cfg")


def test_memory_change_of_running_guest_is_written_and_needs_restart(module_harness, tmp_path):
    (tmp_path / "test1.cfg").write_text(fixture_text("xen-4.17/test1.cfg"))
    result = module_harness(xen_guest_config.main, args(tmp_path, memory="512M", _ansible_diff=True), [XL_TEST1])
    assert result["changed"] and result["restart_required"]
    assert "memory      = '256'" in result["diff"]["before"] and "memory      = '512'" in result["diff"]["after"]
    assert "memory      = '512'" in (tmp_path / "test1.cfg").read_text()


def test_check_mode_writes_nothing(module_harness, tmp_path):
    result = module_harness(xen_guest_config.main, args(tmp_path, _ansible_check_mode=True), [XL_DOM0])
    assert result["changed"] and not result["restart_required"]
    assert not (tmp_path / "test1.cfg").exists()


def test_new_config_then_idempotent(module_harness, tmp_path):
    first = module_harness(xen_guest_config.main, args(tmp_path), [XL_DOM0])
    second = module_harness(xen_guest_config.main, args(tmp_path), [XL_DOM0])
    assert first["changed"] and not second["changed"]
    assert (tmp_path / "test1.cfg").read_text().startswith("# Managed by Ansible")


def test_bad_mac_refused_and_nothing_written(module_harness, tmp_path):
    result = module_harness(xen_guest_config.main, args(tmp_path, vifs=[{"mac": "03:00:00:00:00:01"}]), [])
    assert result["failed"] and "vifs[0].mac" in result["msg"] and "multicast" in result["msg"]
    assert not (tmp_path / "test1.cfg").exists()


def test_path_climbing_out_of_its_directory_refused(module_harness, tmp_path):
    """A config path with '..' could name any file (e.g. /etc/xen/../passwd): refused for present and absent."""
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    for state in ("present", "absent"):
        path = str(tmp_path / "etc-xen" / ".." / "victim")
        result = module_harness(xen_guest_config.main, args(tmp_path, path=path, state=state), [])
        assert result["failed"] and "path=" in result["msg"] and "without '..'" in result["msg"]
    assert victim.read_text() == "keep me\n"


def test_absent_refused_while_running(module_harness, tmp_path):
    (tmp_path / "test1.cfg").write_text(fixture_text("xen-4.17/test1.cfg"))
    result = module_harness(xen_guest_config.main, dict(name="test1", path=str(tmp_path / "test1.cfg"), config_dir=str(tmp_path), state="absent"), [XL_TEST1])
    assert result["failed"] and "running" in result["msg"]
    assert (tmp_path / "test1.cfg").exists()
