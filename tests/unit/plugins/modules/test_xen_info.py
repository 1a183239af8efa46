# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xen_info with commands stubbed as data: read-only, same in check mode, optional dmesg and details."""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_info as info
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_info
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

INFO = (["xl", "info"], 0, fixture_text("xen-4.17/xl-info.txt"))
LIST = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"))


@pytest.mark.parametrize("check_mode", [False, True])
def test_facts_and_domains(module_harness, check_mode):
    args = {"_ansible_check_mode": True} if check_mode else {}
    result = module_harness(xen_info.main, args, [INFO, LIST])
    result["_script"].assert_done()
    assert result["changed"] is False
    hypervisor = result["hypervisor"]
    assert (hypervisor["toolstack"], hypervisor["version"], hypervisor["free_memory_mib"]) == ("xl", "4.17.7", 3028)
    assert hypervisor["xen_commandline"].startswith("placeholder dom0_mem=1024M,max:1024M")
    assert result["info"]["xen_scheduler"] == "credit2"
    assert [(d["name"], d["domid"], d["state"]) for d in result["domains"]] == [("Domain-0", 0, "running"), ("test1", 1, "running")]
    assert "dmesg" not in result


def test_dmesg_and_details(module_harness):
    calls = [
        INFO,
        LIST,
        (["xl", "list", "-l"], 0, fixture_text("xen-4.17/xl-list-l-all.json")),
        (["xl", "dmesg"], 0, fixture_text("xen-4.17/xl-dmesg.txt")),
    ]
    result = module_harness(xen_info.main, {"xen_dmesg": True, "domain_details": True}, calls)
    result["_script"].assert_done()
    assert result["dmesg"].startswith("(XEN) Xen version 4.17.7")
    details = {d["name"]: d["details"] for d in result["domains"]}
    assert details["test1"]["nics"] == [{"mac": "00:16:3e:78:5d:6a", "bridge": "xenbr0"}]
    assert details["Domain-0"]["memory_mib"] == 1024


def test_xm_host(module_harness):
    calls = [(["xm", "info"], 0, fixture_text("xm-3.x/xm-info.txt")), (["xm", "list"], 0, fixture_text("xm-3.x/xm-list.txt"))]
    result = module_harness(xen_info.main, {}, calls, installed=("xm",))
    assert result["hypervisor"]["toolstack"] == "xm"
    assert result["hypervisor"]["version"] == "3.0.3-1"
    assert [d["name"] for d in result["domains"]] == ["Domain-0", "xen.loomaaed.tartu.ee", "full-virt"]


def test_cli_failure_is_a_clear_message(module_harness):
    calls = [(["xl", "info"], 1, "", "xencall: error: Could not obtain handle on privileged command interface: No such file or directory\n")]
    result = module_harness(xen_info.main, {}, calls)
    assert result["failed"]
    assert "command '/usr/sbin/xl info' failed with rc=1: xencall: error: Could not obtain handle" in result["msg"]


@pytest.fixture
def capabilities(tmp_path, monkeypatch):
    """Point the module at a capabilities file in tmp_path; returns it (not created)."""
    path = tmp_path / "capabilities"
    monkeypatch.setattr(info, "CAPABILITIES", str(path))
    return path


@pytest.fixture(autouse=True)
def meminfo(tmp_path, monkeypatch):
    """A /proc/meminfo of 2 GiB for every test (the module reads it on every run)."""
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:        2097152 kB\nMemFree:          123456 kB\n")
    monkeypatch.setattr(info, "MEMINFO", str(path))
    return path


def test_only_on_dom0_a_running_dom0_gets_the_facts(module_harness, capabilities):
    capabilities.write_text("control_d\n")
    result = module_harness(xen_info.main, {"only_on_dom0": True}, [INFO, LIST])
    result["_script"].assert_done()
    assert result["dom0"] is True
    assert result["hypervisor"]["version"] == "4.17.7"


@pytest.mark.parametrize("content", [None, ""], ids=["no-file", "domU"])
def test_only_on_dom0_elsewhere_asks_no_toolstack(module_harness, capabilities, content):
    # A domU has the file, empty; a host not on Xen (or before Xen is installed) has none.
    if content is not None:
        capabilities.write_text(content)
    result = module_harness(xen_info.main, {"only_on_dom0": True}, [], installed=())
    result["_script"].assert_done()
    assert result == {"changed": False, "dom0": False, "mem_total_mib": 2048, "_script": result["_script"], "_clock": result["_clock"]}


def test_only_on_dom0_unreadable_capabilities_fail(module_harness, capabilities):
    capabilities.mkdir()  # reading a directory: an OSError other than "not found"
    result = module_harness(xen_info.main, {"only_on_dom0": True}, [], installed=())
    assert result["failed"]
    assert "cannot read %s to tell whether this host is a running dom0" % capabilities in result["msg"]


def test_without_only_on_dom0_a_host_without_toolstack_fails(module_harness, capabilities):
    result = module_harness(xen_info.main, {}, [], installed=())
    assert result["failed"]
    assert "neither 'xl' nor 'xm' was found" in result["msg"]


def test_mem_total_is_the_running_kernels(module_harness, meminfo):
    result = module_harness(xen_info.main, {}, [INFO, LIST])
    assert result["mem_total_mib"] == 2048  # dom0's share; the host's is the hypervisor's total
    assert result["hypervisor"]["total_memory_mib"] != result["mem_total_mib"]


@pytest.mark.parametrize("content", [None, "MemFree: 1 kB\n", "MemTotal: many kB\n"], ids=["no-file", "no-line", "garbled"])
def test_mem_total_unreadable_is_null(meminfo, content):
    if content is None:
        meminfo.unlink()
    else:
        meminfo.write_text(content)
    assert info.mem_total_mib(str(meminfo)) is None
