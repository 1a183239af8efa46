# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_guest_config: write, idempotence, restart_required, check mode."""

from __future__ import annotations

import json
import os
import stat
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_config as backend
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_guest_config

from ...conftest import fixture_text

XL_DOM0 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"))
XL_TEST1 = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))
DRY_RUN_OUT = fixture_text("xen-4.17/xl-N-create-test1.json")
# test1's config and running domain, started with maxmem 512 (so memory up to 512 MiB is live).
TEST1_MAXMEM = fixture_text("xen-4.17/test1.cfg") + "maxmem      = '512'\n"


def details(max_memkb=262144):
    """``xl list -l test1`` of the recorded running test1, its memory ceiling at ``max_memkb``."""
    domains = json.loads(fixture_text("xen-4.17/xl-list-l-running.json"))
    domains[0]["config"]["b_info"]["max_memkb"] = max_memkb
    return (["xl", "list", "-l", "test1"], 0, json.dumps(domains))


@pytest.fixture
def candidate(monkeypatch, tmp_path):
    """The private copy the dry run reads: in a known directory, so the scripted argv can name it."""
    directory = tmp_path / "check"

    def mkdtemp(prefix=""):
        os.mkdir(str(directory), 0o700)
        return str(directory)

    monkeypatch.setattr(backend, "tempfile", types.SimpleNamespace(mkdtemp=mkdtemp))
    return str(directory / "test1.cfg")


def dry_run(path, rc=0, out=DRY_RUN_OUT, err="Parsing config from {path}\n", seen=None):
    """The scripted dry run of the copy at ``path``; records the copy's text and mode as it runs into ``seen``."""
    def look(argv):
        if seen is not None:
            seen.append((open(path).read(), stat.S_IMODE(os.stat(path).st_mode), stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)))
        return out
    return (["xl", "-N", "create", path], rc, look, err.format(path=path))


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


def test_memory_change_of_running_guest_is_checked_written_and_needs_restart(module_harness, tmp_path, candidate):
    """Above the memory test1 was started with: the dry run accepts it, xl list -l shows the ceiling, a restart is needed."""
    (tmp_path / "test1.cfg").write_text(fixture_text("xen-4.17/test1.cfg"))
    seen = []
    result = module_harness(xen_guest_config.main, args(tmp_path, memory="512M", _ansible_diff=True),
                            [XL_TEST1, dry_run(candidate, seen=seen), details()])
    assert result["changed"] and result["restart_required"] and result["change_class"] == "restart"
    assert result["restart_reasons"] == ["memory: 256 -> 512 MiB, above the 256 MiB the guest was started with (maxmem)"]
    assert result["validated"] and result["validated_by"] == "xl -N create"
    assert result["parsed"]["b_info"]["target_memkb"] == 524288 and "uuid" not in result["parsed"]["c_info"]
    assert not result["live_applied"] and result["live_changes"] == []
    assert "memory      = '256'" in result["diff"]["before"] and "memory      = '512'" in result["diff"]["after"]
    assert "memory      = '512'" in (tmp_path / "test1.cfg").read_text()
    # The dry run read the new text from a private copy (0600 in a 0700 directory), gone afterwards.
    assert len(seen) == 1 and "memory      = '512'" in seen[0][0] and seen[0][1:] == (0o600, 0o700)
    assert not os.path.exists(os.path.dirname(candidate))


def test_check_mode_runs_the_dry_run_and_writes_nothing(module_harness, tmp_path, candidate):
    result = module_harness(xen_guest_config.main, args(tmp_path, _ansible_check_mode=True), [XL_DOM0, dry_run(candidate)])
    assert result["changed"] and not result["restart_required"] and result["validated"]
    assert result["change_class"] == "config-only"
    assert result["_script"].seen[1] == ["xl", "-N", "create", candidate]
    assert not (tmp_path / "test1.cfg").exists() and not os.path.exists(os.path.dirname(candidate))


def test_new_config_then_idempotent(module_harness, tmp_path, candidate):
    first = module_harness(xen_guest_config.main, args(tmp_path), [XL_DOM0, dry_run(candidate)])
    second = module_harness(xen_guest_config.main, args(tmp_path), [XL_DOM0])
    assert first["changed"] and first["validated"] and not second["changed"]
    assert not second["validated"] and second["change_class"] == "none" and "parsed" not in second
    assert (tmp_path / "test1.cfg").read_text().startswith("# Managed by Ansible")


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_config_xl_rejects_fails_with_its_message_and_the_file_is_untouched(module_harness, tmp_path, candidate, check_mode):
    """More vcpus than maxvcpus passes the module's own checks; xl refuses it (recorded on the lab): xl's own words,
    the real file as it was, the copy gone."""
    before = fixture_text("xen-4.17/test1.cfg")
    (tmp_path / "test1.cfg").write_text(before)
    err = fixture_text("xen-4.17/xl-N-create-maxvcpus.stderr").replace("/tmp/kxprobe.cfg", candidate)
    result = module_harness(xen_guest_config.main, args(tmp_path, vcpus=2, settings={"dhcp": "dhcp", "maxvcpus": 1},
                                                        _ansible_check_mode=check_mode),
                            [XL_TEST1, dry_run(candidate, rc=1, out="", err=err)])
    path = str(tmp_path / "test1.cfg")
    assert result["failed"]
    assert result["msg"] == "xl -N create rejects the new config for %s, which is left as it was: xl: maxvcpus < vcpus" % path
    assert result["commands_run"][-1] == ["/usr/sbin/xl", "-N", "create", candidate]
    assert (tmp_path / "test1.cfg").read_text() == before
    assert not os.path.exists(os.path.dirname(candidate))


def test_xl_s_message_names_the_real_file_not_the_copy(module_harness, tmp_path, candidate):
    err = fixture_text("xen-4.17/xl-N-create-bad-disk.stderr").replace("/tmp/kxprobe-test1.cfg", candidate)
    result = module_harness(xen_guest_config.main, args(tmp_path), [XL_DOM0, dry_run(candidate, rc=1, out="", err=err)])
    path = str(tmp_path / "test1.cfg")
    assert result["failed"] and candidate not in result["msg"]
    assert ("which is left as it was: %s (new): config parsing error in disk specification: too many positional parameters"
            % path) in result["msg"]
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(candidate))


def test_without_a_toolstack_the_module_fails_before_reading_anything(module_harness, tmp_path):
    """No xl and no xm (the dry run cannot be had): today's message, the file untouched."""
    result = module_harness(xen_guest_config.main, args(tmp_path), [], installed=())
    assert result["failed"] and "neither 'xl' nor 'xm' was found on the host" in result["msg"]
    assert not (tmp_path / "test1.cfg").exists()


@pytest.mark.parametrize("check_mode", [False, True])
def test_apply_live_balloons_memory_within_maxmem(module_harness, tmp_path, candidate, check_mode):
    (tmp_path / "test1.cfg").write_text(TEST1_MAXMEM)
    calls = [XL_TEST1, dry_run(candidate), details(524288)] + ([] if check_mode else [(["xl", "mem-set", "test1", "384m"], 0, "")])
    result = module_harness(xen_guest_config.main, args(tmp_path, memory="384M", maxmem="512M", apply_live=True,
                                                        _ansible_check_mode=check_mode), calls)
    result["_script"].assert_done()
    assert result["changed"] and not result["restart_required"] and result["live_applied"]
    assert result["change_class"] == "live" and result["restart_reasons"] == []
    assert result["live_changes"] == [{"setting": "memory", "before": 256, "after": 384, "argv": ["xl", "mem-set", "test1", "384m"]}]
    assert ("memory      = '384'" in (tmp_path / "test1.cfg").read_text()) is not check_mode
    if not check_mode:
        again = module_harness(xen_guest_config.main, args(tmp_path, memory="384M", maxmem="512M", apply_live=True), [XL_TEST1])
        assert not again["changed"] and not again["restart_required"] and again["change_class"] == "none"


def test_a_live_change_without_apply_live_asks_for_a_restart(module_harness, tmp_path, candidate):
    (tmp_path / "test1.cfg").write_text(TEST1_MAXMEM)
    result = module_harness(xen_guest_config.main, args(tmp_path, memory="384M", maxmem="512M"),
                            [XL_TEST1, dry_run(candidate), details(524288)])
    assert result["change_class"] == "live" and result["restart_required"] and not result["live_applied"]


@pytest.mark.parametrize("changes, live_argv", [
    (dict(vcpus=1, settings={"dhcp": "dhcp", "maxvcpus": 2}), None),
    (dict(vifs=[{"mac": "00:16:3e:78:5d:6a", "bridge": "xenbr0"}, {"mac": "00:16:3e:00:00:02", "bridge": "xenbr0"}]),
     ["xl", "network-attach", "test1", "mac=00:16:3E:00:00:02", "bridge=xenbr0"]),
    (dict(disks=[{"target": "/srv/xen/domains/test1/disk.img", "vdev": "xvda2"},
                 {"target": "/srv/xen/domains/test1/swap.img", "vdev": "xvda1"},
                 {"target": "/srv/xen/domains/test1/data.img", "vdev": "xvdb"}]),
     ["xl", "block-attach", "test1", "file:/srv/xen/domains/test1/data.img,xvdb,w"]),
    (dict(settings={}), None),
])
def test_apply_live_runs_the_hot_plug_command(module_harness, tmp_path, candidate, changes, live_argv):
    """A NIC or disk added at the end is hot-plugged; maxvcpus (set at boot) needs a restart and nothing is applied;
    xen-tools' dhcp key (xl does not read it) is config-only: written, nothing to apply, no restart."""
    (tmp_path / "test1.cfg").write_text(fixture_text("xen-4.17/test1.cfg"))
    calls = [XL_TEST1, dry_run(candidate), details()] + ([(live_argv, 0, "")] if live_argv else [])
    result = module_harness(xen_guest_config.main, args(tmp_path, apply_live=True, **changes), calls)
    result["_script"].assert_done()
    assert result["changed"]
    if live_argv:
        assert result["change_class"] == "live" and result["live_applied"] and not result["restart_required"]
        assert [c["argv"] for c in result["live_changes"]] == [live_argv]
    elif changes == {"settings": {}}:
        assert result["change_class"] == "config-only" and result["config_only"] == ["dhcp"] and not result["restart_required"]
    else:
        assert result["change_class"] == "restart" and result["restart_required"] and not result["live_applied"]
        assert result["restart_reasons"] == ["maxvcpus: (unset) -> 2"]


def test_a_failed_live_change_says_the_file_is_written(module_harness, tmp_path, candidate):
    (tmp_path / "test1.cfg").write_text(TEST1_MAXMEM)
    calls = [XL_TEST1, dry_run(candidate), details(524288),
             (["xl", "mem-set", "test1", "384m"], 1, "", "libxl: error: cannot set memory target\n")]
    result = module_harness(xen_guest_config.main, args(tmp_path, memory="384M", maxmem="512M", apply_live=True), calls)
    assert result["failed"] and result["msg"].startswith("%s is written, but applying it to the running guest test1 failed: " % (tmp_path / "test1.cfg"))
    assert "cannot set memory target" in result["msg"] and "memory      = '384'" in (tmp_path / "test1.cfg").read_text()


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
