# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""classify_changes driven by the cases in test_xen_guest_config_classify.yaml."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import XlToolstack, parse_xl_list_long
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import parse_xen_cfg
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import classify_changes, dry_run_summary

from ...conftest import fixture_text

with open(os.path.join(os.path.dirname(__file__), "test_xen_guest_config_classify.yaml")) as _handle:
    CASES = yaml.safe_load(_handle)["cases"]


def _changed(base, changes):
    settings = dict(base)
    for key, value in (changes or {}).items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    return settings


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_classify(case):
    base = parse_xen_cfg(fixture_text("xen-4.17/test1.cfg"))
    old = None if case.get("old") == "none" else _changed(base, case.get("old"))
    new = _changed(base, case.get("new"))
    details = None
    if case.get("details") != "none":
        details = dict(parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-running.json"))["test1"], **(case.get("details") or {}))
    result = classify_changes(old, new, details, XlToolstack(None))
    assert result["change_class"] == case["class"]
    assert [[c["setting"], c["before"], c["after"]] for c in result["live_changes"]] == case.get("live", [])
    if "argv" in case:
        assert [c["argv"] for c in result["live_changes"]] == case["argv"]
    assert result["config_only"] == case.get("config_only", [])
    reasons = result["restart_reasons"]
    assert len(reasons) == len(case.get("restart", [])), reasons
    for reason, wanted in zip(reasons, case.get("restart", [])):
        assert wanted in reason


def test_dry_run_summary_drops_the_uuid_and_empty_members():
    parsed = dry_run_summary(fixture_text("xen-4.17/xl-N-create-test1.json"))
    assert "uuid" not in parsed["c_info"] and parsed["c_info"]["name"] == "test1"
    assert parsed["b_info"]["max_memkb"] == 524288 and "sched_params" not in parsed["b_info"] and "type.pv" not in parsed["b_info"]
    assert [d["vdev"] for d in parsed["disks"]] == ["xvda2", "xvda1"]


@pytest.mark.parametrize("out", ["(domain (name web1))", "", "[1, 2]"])
def test_dry_run_summary_of_what_is_no_json_object(out):
    assert dry_run_summary(out) is None


def test_dry_run_summary_of_a_huge_config_keeps_the_main_sections():
    huge = '{"c_info": {"name": "a"}, "b_info": {"max_vcpus": 1}, "pcidevs": [%s]}' % ", ".join(['{"bdf": "0000:00:01.0"}'] * 5000)
    assert dry_run_summary(huge) == {"c_info": {"name": "a"}, "b_info": {"max_vcpus": 1}}
