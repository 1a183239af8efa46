# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xen_domain driven by the cases in test_xen_domain.yaml (commands stubbed as data)."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_domain as domain_utils
from ansible_collections.kuutorvaja.xen.plugins.module_utils import toolstack as toolstack_utils
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_domain
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

with open(os.path.join(os.path.dirname(__file__), "test_xen_domain.yaml")) as _handle:
    CASES = yaml.safe_load(_handle)["cases"]


def _fill(value, subst):
    """Replace {cfg}/{auto} placeholders and @fixture references, recursively."""
    if isinstance(value, str):
        if value.startswith("@"):
            return fixture_text(value[1:])
        for key, replacement in subst.items():
            value = value.replace("{%s}" % key, replacement)
        return value
    if isinstance(value, list):
        return [_fill(v, subst) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, subst) for k, v in value.items()}
    return value


def _autostart_state(link, cfg):
    if not os.path.lexists(link):
        return "none"
    if os.path.islink(link):
        return "link" if os.readlink(link) == cfg else "other"
    return "file"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_xen_domain(case, tmp_path, monkeypatch, module_harness):
    cfg = str(tmp_path / "etc-xen" / "test1.cfg")
    auto = str(tmp_path / "etc-xen" / "auto")
    save_dir = str(tmp_path / "save")
    subst = {"cfg": cfg, "auto": auto, "save": save_dir}
    save_file = os.path.join(save_dir, "test1.save")
    if case.get("save_file_before"):
        os.makedirs(save_dir)
        with open(save_file, "w") as handle:
            handle.write("an earlier xl save\n")
    os.makedirs(os.path.dirname(cfg))
    if not case.get("config_missing"):
        with open(cfg, "w") as handle:
            handle.write(case.get("config_text", fixture_text("xen-4.17/test1.cfg")))
    monkeypatch.setattr(domain_utils, "AUTOSTART_DIR", auto)
    # The trust check of autostart stops at the test's own directory (above it is
    # /tmp, world-writable) and trusts whoever runs the tests as it trusts root.
    trust = domain_utils.config_trust_problem
    monkeypatch.setattr(domain_utils, "config_trust_problem", lambda path: trust(path, top=str(tmp_path), uid=os.getuid()))
    if "config_mode" in case:
        os.chmod(cfg, int(case["config_mode"], 8))
    if "config_dir_mode" in case:
        os.chmod(os.path.dirname(cfg), int(case["config_dir_mode"], 8))
    link = os.path.join(auto, "test1.cfg")
    before = case.get("autostart_before", "none")
    if before != "none":
        os.makedirs(auto)
        if before == "link":
            os.symlink(cfg, link)
        elif before == "other":
            os.symlink("/etc/xen/other.cfg", link)
        else:
            with open(link, "w") as handle:
                handle.write("name = 'test1'\n")

    # xl's per-guest log (/var/log/xen/xl-test1.log), read after a reboot.
    monkeypatch.setattr(toolstack_utils.XlToolstack, "log_dir", str(tmp_path))
    if "xl_log" in case:
        (tmp_path / "xl-test1.log").write_text(case["xl_log"])

    # The dom0's view of the guests' vifs (wait_for=network): {domid: rx_packets}.
    monkeypatch.setattr(toolstack_utils.Toolstack, "net_dir", str(tmp_path / "net"))
    for domid, packets in (case.get("vif_rx") or {}).items():
        stats = tmp_path / "net" / ("vif%s.0" % domid) / "statistics"
        stats.mkdir(parents=True)
        (stats / "rx_packets").write_text("%d\n" % packets)

    args = _fill(dict(case["input"]), subst)
    args.setdefault("save_dir", save_dir)
    if case.get("check_mode"):
        args["_ansible_check_mode"] = True
    if case.get("diff"):
        args["_ansible_diff"] = True
    calls = _fill(case["calls"], subst)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    result = module_harness(xen_domain.main, args, calls, installed=tuple(case.get("installed", ["xl"])))

    result["_script"].assert_done()
    # commands_run is what really ran, on success and failure alike: the scripted calls, a poll once.
    ran = [[os.path.basename(argv[0])] + argv[1:] for argv in result.get("commands_run", [])]
    assert ran == [argv for i, argv in enumerate(result["_script"].seen) if i == 0 or result["_script"].seen[i - 1] != argv]
    for key, expected in _fill(case["output"], subst).items():
        assert result.get(key) == expected, "%s: expected %r, got %r (msg: %s)" % (key, expected, result.get(key), result.get("msg"))
    if "failed" not in case["output"]:
        assert not result.get("failed"), result.get("msg")
    if "msg_contains" in case:
        assert case["msg_contains"] in result["msg"]
    if "sleeps" in case:
        assert result["_clock"].sleeps == case["sleeps"]
    if "save_file_after" in case:
        state = "none"
        if os.path.exists(save_file):
            state = "mode %o" % (os.stat(save_file).st_mode & 0o7777)
        assert state == case["save_file_after"]
        assert not os.path.exists(save_file + ".partial")
    if "warnings_contain" in case:
        assert any(_fill(case["warnings_contain"], subst) in w for w in warnings), warnings
    if "autostart_after" in case:
        assert _autostart_state(link, cfg) == case["autostart_after"]
