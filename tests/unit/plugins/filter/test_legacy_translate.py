# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The xen_legacy_translate filter, driven by the cases in test_legacy_translate.yaml.

The golden case is the guide's own setup (tests/unit/fixtures/seed): its
xend-config.sxp edits, kaks-silda.sh, the section-4 PV guest and the
section-9 HVM guest. Every translated guest is also put through
xen_guest_config's own argument spec and backend, and its text through xl's
config and disk readers.
"""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kuutorvaja.xen.plugins.filter.dom0_plan import FilterModule as PlanFilters
from ansible_collections.kuutorvaja.xen.plugins.filter.legacy_translate import FilterModule
from ansible_collections.kuutorvaja.xen.plugins.module_utils.legacy_migration import parse_sxp
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import parse_disk_spec, parse_xen_cfg
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import config_request
from ansible_collections.kuutorvaja.xen.plugins.modules.xen_guest_config import ARGUMENT_SPEC
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

TRANSLATE = FilterModule().filters()["xen_legacy_translate"]
NETWORK_PLAN = PlanFilters().filters()["xen_network_plan"]
HERE = os.path.dirname(__file__)
REPO = os.path.join(HERE, "..", "..", "..", "..")

with open(os.path.join(HERE, "test_legacy_translate.yaml")) as _handle:
    DATA = yaml.safe_load(_handle)


def _run(case):
    """The filter on a case's inputs (fixtures by name, or inline texts)."""
    xend = fixture_text(case["xend_config"]) if "xend_config" in case else case.get("xend_text", "")
    scripts = {name: fixture_text(path) for name, path in case.get("network_scripts", {}).items()}
    guests = {name: fixture_text(path) for name, path in case.get("guests", {}).items()}
    interfaces = fixture_text(case["interfaces"]) if "interfaces" in case else None
    return TRANSLATE(xend, scripts, guests, interfaces=interfaces, **case.get("options", {}))


def _not_echoed(case, result):
    """The case's secrets and commands appear nowhere in the result."""
    for text in case.get("not_echoed", []):
        assert text not in repr(result), text


def _triples(report):
    return [[e["guest"], e["setting"], e["action"]] for e in report]


CASES = sorted(DATA["cases"].items())


@pytest.mark.parametrize("case_id, case", CASES, ids=[c[0] for c in CASES])
def test_translation(case_id, case):
    result = _run(case)
    expect = case["expect"]
    assert result["xen_hypervisor"] == expect["xen_hypervisor"]
    assert result["xen_network"] == expect["xen_network"]
    assert list(result["guests"]) == list(expect["guests"])
    for name, guest in expect["guests"].items():
        got = result["guests"][name]
        assert got["options"] == guest["options"], name
        assert got["path"] == guest["options"]["path"]
        text = fixture_text(guest["config_file"]) if "config_file" in guest else guest["config"]
        assert got["config"] == text, name
    assert _triples(result["report"]) == expect["report"]
    _not_echoed(case, result)
    for entry in result["report"]:
        assert entry["action"] in ("translated", "dropped", "needs_attention")
        assert entry["why"]


@pytest.mark.parametrize("case_id, guest, setting, fragment", DATA["why"], ids=["%s-%s-%s" % tuple(w[:3]) for w in DATA["why"]])
def test_reasons(case_id, guest, setting, fragment):
    report = _run(DATA["cases"][case_id])["report"]
    reasons = [e["why"] for e in report if e["guest"] == guest and e["setting"] == setting]
    assert any(fragment in why for why in reasons), reasons


@pytest.mark.parametrize("case_id, case", CASES, ids=[c[0] for c in CASES])
def test_translated_guests_pass_xen_guest_config(case_id, case):
    """What the module would do with the options: its argument spec, its backend, then xl's readers on the text."""
    for name, guest in _run(case)["guests"].items():
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(guest["options"])
        assert not validation.error_messages, (name, validation.error_messages)
        _name, path, settings = config_request(validation.validated_parameters)
        assert path == guest["path"]
        assert settings == guest["settings"]
        assert parse_xen_cfg(guest["config"]) == settings
        for disk in settings["disk"]:
            parse_disk_spec(disk, strict=True)
        assert "builder" not in settings and "device_model" not in settings
        assert not any(v.startswith(("sd", "hd")) for v in (parse_disk_spec(d)["vdev"] for d in settings["disk"])) \
            or settings.get("type") == "hvm"


def test_guide_sxp_holds_the_guides_settings():
    """The fixture is the stock file with the guide's edits, which the digest quotes."""
    forms = {key: values for key, values, _line in parse_sxp(fixture_text("seed/xend-config.sxp"))}
    assert forms["dom0-cpus"] == ["1"]
    assert forms["dom0-min-mem"] == ["196"]
    assert forms["network-script"] == ["kaks-silda.sh"]
    assert forms["vnc-listen"] == ["127.0.0.1"]


INLINE = sorted(DATA["inline"].items())


@pytest.mark.parametrize("case_id, case", INLINE, ids=[c[0] for c in INLINE])
def test_inline_cases(case_id, case):
    guests = {"g": case["guest"]} if "guest" in case else {}
    result = TRANSLATE(case.get("xend_text", ""), case.get("network_scripts"), guests, interfaces=case.get("interfaces"))
    _not_echoed(case, result)
    if "expect_network" in case:
        assert result["xen_network"] == case["expect_network"]
    if "expect_config" in case:
        assert result["guests"]["g"]["config"] == case["expect_config"]
    assert _triples(result["report"]) == case["report"]


@pytest.mark.parametrize("args, fragment", DATA["errors"], ids=[e[1][:40] for e in DATA["errors"]])
def test_errors_name_the_problem(args, fragment):
    args = dict(args)
    xend = args.pop("xend_text", "")
    with pytest.raises(AnsibleFilterError, match="^xen_legacy_translate: ") as info:
        TRANSLATE(xend, **args)
    assert fragment in str(info.value)


def test_filter_is_registered_and_a_vnc_password_is_not_echoed():
    assert list(FilterModule().filters()) == ["xen_legacy_translate"]
    result = TRANSLATE("(vncpasswd 'sekret')\n(vnc-listen 0.0.0.0)\n",
                       guests={"h": "name='h'\nbuilder='hvm'\nmemory=256\ndisk=['phy:/dev/vg/h,hda,w']\nvnc=1\n"})
    assert "sekret" not in repr(result)
    assert result["guests"]["h"]["options"]["vnclisten"] == "0.0.0.0"


def _yaml_file(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


NETWORKS = [(case_id, case) for case_id, case in CASES + INLINE if case.get("interfaces")]


@pytest.mark.parametrize("case_id, case", NETWORKS, ids=[c[0] for c in NETWORKS])
def test_translated_network_passes_the_role(case_id, case):
    """The xen_network variables carried from an interfaces file: the role's argument spec and its plan take them."""
    if "expect" in case:
        network = _run(case)["xen_network"]
    else:
        network = TRANSLATE(case.get("xend_text", ""), case.get("network_scripts"), interfaces=case["interfaces"])["xen_network"]
    spec = _yaml_file("roles", "xen_network", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    validation = ArgumentSpecValidator(spec).validate(network)
    assert not validation.error_messages, validation.error_messages
    if network.get("xen_network_mode") == "bridge":
        settings = dict(_yaml_file("tests", "unit", "plugins", "filter", "test_dom0_plan.yaml")["xen_network_plan"]["base"]["bookworm"])
        settings["bridges"] = network["xen_network_bridges"]
        settings["facts"] = {"interfaces": ["lo", "eth0", "eth1", "eth2", "eth3"]}
        NETWORK_PLAN(settings)


def test_guide_with_our_interfaces_plans_the_labs_files():
    """The guide's dom0 with our interfaces file: the xen_network role writes what it wrote for the lab's group_vars."""
    translated = _run(DATA["cases"]["guide_dom0_interfaces"])["xen_network"]
    lab = _yaml_file("lab", "inventory", "group_vars", "xen_dom0.yml")
    assert translated["xen_network_mode"] == lab["xen_network_mode"]
    settings = _yaml_file("tests", "unit", "plugins", "filter", "test_dom0_plan.yaml")["xen_network_plan"]["base"]["bookworm"]
    plans = [NETWORK_PLAN(dict(settings, bridges=bridges))
             for bridges in (translated["xen_network_bridges"], lab["xen_network_bridges"])]
    assert plans[0]["files"] == plans[1]["files"]
    assert plans[0]["bridges"] == plans[1]["bridges"]
    assert [b["address"] for b in plans[0]["bridges"]] == ["", "172.16.92.128/24"]


def test_an_interfaces_file_too_large_is_refused():
    with pytest.raises(AnsibleFilterError, match="interfaces: larger than 262144 characters"):
        TRANSLATE("", interfaces="#" * (256 * 1024 + 1))
