# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dom0 roles' plan filters, driven by the cases in test_dom0_plan.yaml."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kuutorvaja.xen.plugins.filter.dom0_plan import FilterModule
from ansible_collections.kuutorvaja.xen.plugins.module_utils.dom0_files import set_keys

FILTERS = FilterModule().filters()
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")

with open(os.path.join(os.path.dirname(__file__), "test_dom0_plan.yaml")) as _handle:
    DATA = yaml.safe_load(_handle)


@pytest.mark.parametrize("value, mib", DATA["xen_size_mib"], ids=[repr(c[0]) for c in DATA["xen_size_mib"]])
def test_xen_size_mib(value, mib):
    assert FILTERS["xen_size_mib"](value) == mib


@pytest.mark.parametrize("value", DATA["xen_size_mib_bad"], ids=[repr(v) for v in DATA["xen_size_mib_bad"]])
def test_xen_size_mib_refuses(value):
    with pytest.raises(AnsibleFilterError, match="is not a Xen size"):
        FILTERS["xen_size_mib"](value)
    # With a default, the default instead (the role's preflight then refuses 0 MiB).
    assert FILTERS["xen_size_mib"](value, default=0) == 0


def _cases(name):
    return [(name, case_id, case) for case_id, case in DATA[name]["cases"].items()]


def _settings(name, case):
    settings = copy.deepcopy(DATA[name]["base"][case["base"]])
    settings.update(copy.deepcopy(case.get("settings", {})))
    settings["profile"].update(copy.deepcopy(case.get("profile", {})))
    for key in case.get("drop_profile", []):
        del settings["profile"][key]
    return settings


CASES = _cases("xen_hypervisor_plan") + _cases("xen_network_plan")


@pytest.mark.parametrize("name, case_id, case", CASES, ids=["%s-%s" % (c[0], c[1]) for c in CASES])
def test_plan(name, case_id, case):
    settings = _settings(name, case)
    if "error" in case:
        with pytest.raises(AnsibleFilterError) as caught:
            FILTERS[name](settings)
        assert case["error"] in str(caught.value)
        return
    plan = FILTERS[name](settings)
    for key, wanted in case["expect"].items():
        if key == "files_by_path":
            by_path = {f["path"]: f for f in plan["files"]}
            for entry in wanted:
                assert by_path.get(entry["path"]) == entry, entry["path"]
        else:
            assert plan[key] == wanted, key


@pytest.mark.parametrize("name, case_id, case", [c for c in CASES if "error" not in c[2]],
                         ids=["%s-%s" % (c[0], c[1]) for c in CASES if "error" not in c[2]])
def test_plan_is_plain_data(name, case_id, case):
    """The same input gives the same plan, and it survives JSON: a role compares plans to skip its checks."""
    first, second = FILTERS[name](_settings(name, case)), FILTERS[name](_settings(name, case))
    assert first == second
    assert json.loads(json.dumps(first)) == first


ROLE_VARS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "xen_hypervisor", "vars")


@pytest.mark.parametrize("release, wanted", sorted(DATA["hvm_packages"].items()))
def test_release_profiles_hvm_packages(release, wanted):
    """The device model and firmware each release profile (vars/<release>.yml) installs for HVM guests."""
    with open(os.path.join(ROLE_VARS, release + ".yml")) as handle:
        profile = yaml.safe_load(handle)
    assert profile["__xen_hypervisor_packages_hvm"] == wanted
    settings = _settings("xen_hypervisor_plan", {"base": "bookworm", "settings": {"hvm": True}})
    settings["profile"].update(packages=profile["__xen_hypervisor_packages"], packages_hvm=wanted)
    assert FILTERS["xen_hypervisor_plan"](settings)["packages"][-len(wanted):] == wanted


def test_settings_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="the role's settings mapping"):
        FILTERS["xen_network_plan"]("bridge")


def test_grub_cmdline_metacharacters_are_text_when_sourced():
    """update-grub sources the drop-in: $(...), backticks and ';' in a command line must not run."""
    settings = _settings("xen_hypervisor_plan", {"base": "bookworm", "settings": {
        "dom0_linux_cmdline": "console=hvc0 $(reboot) `id`; it's", "cmdline_extra": "loglvl=all"}})
    plan = FILTERS["xen_hypervisor_plan"](settings)
    dropin = [f for f in plan["files"] if f["path"].endswith("zz-kuutorvaja-xen.cfg")][0]["content"]
    assert "GRUB_CMDLINE_LINUX_XEN_REPLACE='console=hvc0 $(reboot) `id`; it'\\''s'\n" in dropin


@pytest.mark.parametrize("dir_value, lvm, message", [
    ("/srv/xen", "", ""),
    ("/data", "", ""),
    ("", "vg0", ""),
    ("/srv/xen", "vg0", ""),
    ("/srv/../etc", "", "xen_tools_dir='/srv/../etc' must be an absolute path without '..'"),
    ("srv", "", "xen_tools_dir='srv' must be an absolute path"),
    ("/srv/xen/", "", "xen_tools_dir='/srv/xen/' is not a normalised path"),
    ("/srv/xen", "..", "xen_tools_lvm='..' is not a volume group name"),
    ("", "-vg", "not starting with '-'"),
])
def test_xen_guest_storage_error(dir_value, lvm, message):
    found = FILTERS["xen_guest_storage_error"](dir_value, lvm, "xen_tools_dir", "xen_tools_lvm")
    assert (message in found and found) if message else found == ""


@pytest.mark.parametrize("log, timestamp, log_dir, words", [
    ("guest", "", "", ["--log=guest", "--timestamp=guest"]),
    ("all", "none", "/srv/xen-console.d", ["--log=all", "--timestamp=none", "--log-dir=/srv/xen-console.d"]),
    ("none", "", "", ["--log=none"]),
])
def test_xenconsoled_args_as_the_init_script_reads_them(tmp_path, log, timestamp, log_dir, words):
    """Debian's stock /etc/default/xen with our key: its lines kept, and sh splits $XENCONSOLED_ARGS into the options."""
    settings = _settings("xen_hypervisor_plan", {"base": "bookworm", "settings": {
        "console_log": log, "console_timestamp": timestamp, "console_log_dir": log_dir}})
    plan = FILTERS["xen_hypervisor_plan"](settings)
    spec = [f for f in plan["files"] if f["path"] == "/etc/default/xen"][0]
    with open(os.path.join(FIXTURES, "debian", "default.xen")) as handle:
        stock = handle.read()
    text = set_keys(stock, spec["settings"], "shell")
    assert text.startswith(stock)
    assert text[len(stock):].count("\n") == 1
    path = tmp_path / "xen"
    path.write_text(text)
    # As /etc/init.d/xen: sourced, then the variable expanded unquoted.
    out = subprocess.run(["sh", "-c", '. "$1"; for w in $XENCONSOLED_ARGS; do echo "$w"; done', "sh", str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == words
