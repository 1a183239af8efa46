# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The xen inventory plugin, driven through parse() with ssh replaced by recorded dom0 outputs.

subprocess.run is stubbed: each call's remote command (after ``-- ADDRESS``)
is answered from the Xen 4.17 lab recordings (tests/unit/fixtures/xen-4.17)
and the argv is kept, so the tests see the real ssh calls the plugin makes.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import add_fragments

from ansible_collections.kuutorvaja.xen.plugins.inventory import xen
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text, xl_list_long

LIST = ("env", "LC_ALL=C", "LANG=C", "xl", "list")
LIST_LONG = LIST + ("-l",)
NEIGH = ("env", "LC_ALL=C", "LANG=C", "ip", "-j", "neigh", "show")
NEIGH_TEXT = ("env", "LC_ALL=C", "LANG=C", "ip", "neigh", "show")
TEST1_MAC = "00:16:3e:78:5d:6a"


def lab_outputs(changes=None):
    """The lab dom0 running test1: (rc, stdout, stderr) per remote command, with ``changes`` replacing some."""
    outputs = {
        LIST: (0, fixture_text("xen-4.17/xl-list-running.txt"), ""),
        LIST_LONG: (0, xl_list_long(), ""),
        NEIGH: (0, fixture_text("xen-4.17/ip-j-neigh.json"), ""),
    }
    outputs.update(changes or {})
    return outputs


class FakeSsh:
    """Stands in for subprocess.run: answers by (address, remote command), records every argv."""

    def __init__(self, outputs):
        self.outputs = outputs  # address -> {remote command tuple: (rc, out, err)}
        self.calls = []

    def __call__(self, argv, **kwargs):
        assert isinstance(argv, list) and kwargs.get("stdin") is subprocess.DEVNULL
        assert "shell" not in kwargs
        self.calls.append(list(argv))
        split = argv.index("--")
        address, remote = argv[split + 1], tuple(argv[split + 2:])
        rc, out, err = self.outputs[address][remote]
        return subprocess.CompletedProcess(argv, rc, out, err)

    def remotes(self):
        return [tuple(c[c.index("--") + 2:]) for c in self.calls]


@pytest.fixture(scope="module", autouse=True)
def plugin_options():
    """Register the plugin's options (its DOCUMENTATION and fragments), as ansible's plugin loader does."""
    doc = yaml.safe_load(xen.DOCUMENTATION)
    add_fragments(doc, xen.__file__, fragment_loader=fragment_loader)
    C.config.initialize_plugin_configuration_definitions("inventory", xen.InventoryModule.NAME, doc["options"])


@pytest.fixture
def warnings():
    return []


def run_plugin(tmp_path, monkeypatch, config, outputs, warnings, inventory=None, cache=True, name="lab.xen.yml"):
    """Parse ``config`` (a dict, written as ``name``) with ssh answered from ``outputs``; (inventory, fake ssh)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": "kuutorvaja.xen.xen"}, **config)))
    fake = FakeSsh(outputs)
    monkeypatch.setattr(subprocess, "run", fake)
    plugin = xen.InventoryModule()
    # What the plugin loader sets (ansible-core 2.17 reads it in _read_config_data).
    plugin._load_name = xen.InventoryModule.NAME
    plugin._redirected_names = [xen.InventoryModule.NAME]
    monkeypatch.setattr(plugin.display, "warning", warnings.append)
    inventory = inventory if inventory is not None else InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    # What ansible's inventory manager does after a parse (no cache loaded: nothing to do).
    try:
        plugin.update_cache_if_changed()
    except AttributeError:
        pass
    return inventory, fake


LAB = {"dom0s": [{"name": "lab-dom0", "address": "127.0.0.1", "port": 2222, "user": "root", "private_key_file": "/keys/id_ed25519"}]}


def test_lists_guests_with_vars_groups_and_proxyjump(tmp_path, monkeypatch, warnings):
    inventory, fake = run_plugin(tmp_path, monkeypatch, LAB, {"127.0.0.1": lab_outputs()}, warnings)
    assert sorted(inventory.hosts) == ["test1"]
    assert "Domain-0" not in inventory.hosts
    hostvars = inventory.get_host("test1").get_vars()
    assert hostvars["ansible_host"] == "10.0.2.16"
    assert hostvars["ansible_ssh_common_args"] == "-o ProxyJump=root@127.0.0.1:2222"
    assert hostvars["xen_dom0"] == "lab-dom0"
    assert hostvars["xen_state"] == "running"
    assert hostvars["xen_domid"] == 1
    assert hostvars["xen_memory_mib"] == 256
    assert hostvars["xen_max_memory_mib"] == 256
    assert hostvars["xen_vcpus"] == 1
    assert hostvars["xen_type"] == "pv"
    assert hostvars["xen_macs"] == [TEST1_MAC]
    assert hostvars["xen_nics"] == [{"mac": TEST1_MAC, "bridge": "xenbr0"}]
    # The link-local entry of the same MAC is left out: it needs the dom0's interface.
    assert hostvars["xen_addresses"] == ["10.0.2.16"]
    groups = {g.name for g in inventory.get_host("test1").get_groups()}
    assert {"xen_dom0_lab_dom0", "xen_state_running", "xen_guests"} <= groups
    assert set(inventory.groups["xen_guests"].child_groups) == {
        inventory.groups["xen_dom0_lab_dom0"], inventory.groups["xen_state_running"]}
    ssh = ["ssh", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "-p", "2222", "-i", "/keys/id_ed25519", "-l", "root",
           "--", "127.0.0.1"]
    assert fake.calls == [ssh + list(LIST), ssh + list(LIST_LONG), ssh + list(NEIGH)]
    assert warnings == []


def test_proxy_command_carries_the_dom0_ssh_call(tmp_path, monkeypatch, warnings):
    config = dict(LAB, proxy="command", ssh_executable="/usr/bin/ssh", ssh_args=["-o", "ConnectTimeout=5"])
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, {"127.0.0.1": lab_outputs()}, warnings)
    args = shlex.split(inventory.get_host("test1").get_vars()["ansible_ssh_common_args"])
    assert args[0] == "-o" and args[1].startswith("ProxyCommand=") and len(args) == 2
    assert shlex.split(args[1][len("ProxyCommand="):]) == [
        "/usr/bin/ssh", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-p", "2222", "-i", "/keys/id_ed25519",
        "-l", "root", "-W", "%h:%p", "--", "127.0.0.1"]


def test_proxy_none_leaves_ssh_args_alone(tmp_path, monkeypatch, warnings):
    inventory, _fake = run_plugin(tmp_path, monkeypatch, dict(LAB, proxy="none"), {"127.0.0.1": lab_outputs()}, warnings)
    assert "ansible_ssh_common_args" not in inventory.get_host("test1").get_vars()


def test_proxyjump_brackets_an_ipv6_dom0(tmp_path, monkeypatch, warnings):
    config = {"dom0s": [{"name": "v6", "address": "2001:db8::10", "port": 22}]}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, {"2001:db8::10": lab_outputs()}, warnings)
    assert inventory.get_host("test1").get_vars()["ansible_ssh_common_args"] == "-o ProxyJump=[2001:db8::10]:22"


def test_constructed_compose_groups_keyed_groups(tmp_path, monkeypatch, warnings):
    config = dict(
        LAB,
        compose={"ansible_ssh_common_args": "ansible_ssh_common_args ~ ' -o StrictHostKeyChecking=no'",
                 "guest_mib": "xen_memory_mib * 2"},
        groups={"small": "xen_memory_mib < 512", "big": "xen_memory_mib >= 512"},
        keyed_groups=[{"key": "xen_type", "prefix": "type"}, {"key": "xen_dom0", "prefix": "on"}],
    )
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, {"127.0.0.1": lab_outputs()}, warnings)
    hostvars = inventory.get_host("test1").get_vars()
    assert hostvars["ansible_ssh_common_args"] == "-o ProxyJump=root@127.0.0.1:2222 -o StrictHostKeyChecking=no"
    # A number from 2.19 on; ansible-core before it renders compose to text (no jinja2_native).
    assert str(hostvars["guest_mib"]) == "512"
    groups = {g.name for g in inventory.get_host("test1").get_groups()}
    assert {"small", "type_pv", "on_lab_dom0"} <= groups
    assert "big" not in groups


def test_use_extra_vars_in_compose(tmp_path, monkeypatch, warnings):
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict

    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=('{"site": "tartu"}',)))
    config = dict(LAB, use_extra_vars=True, compose={"where": "site ~ '/' ~ xen_dom0"})
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, {"127.0.0.1": lab_outputs()}, warnings)
    assert inventory.get_host("test1").get_vars()["where"] == "tartu/lab-dom0"


def test_cache_is_read_then_refreshed(tmp_path, monkeypatch, warnings):
    config = dict(LAB, cache=True, cache_plugin="jsonfile", cache_connection=str(tmp_path / "cache"), cache_timeout=3600)
    outputs = {"127.0.0.1": lab_outputs()}
    first, fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings)
    assert len(fake.calls) == 3 and "test1" in first.hosts
    # A second run reads the cache: no ssh at all, the same hosts and vars.
    second, fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings)
    assert fake.calls == []
    assert second.get_host("test1").get_vars()["ansible_host"] == "10.0.2.16"
    assert {g.name for g in second.get_host("test1").get_groups()} >= {"xen_dom0_lab_dom0", "xen_state_running"}
    # cache=False (--flush-cache, refresh_inventory) reads the dom0 again and stores what it found.
    outputs["127.0.0.1"][LIST] = (0, fixture_text("xen-4.17/xl-list-dom0.txt"), "")
    third, fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings, cache=False)
    assert len(fake.calls) == 3 and "test1" not in third.hosts
    fourth, fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings)
    assert fake.calls == [] and "test1" not in fourth.hosts


def test_without_cache_option_every_run_reads(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs()}
    run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    _inventory, fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert len(fake.calls) == 3


UNREACHABLE = (255, "", "ssh: connect to host 192.0.2.99 port 22: No route to host\r\n")


def test_unreachable_dom0_fails_the_source_by_default(tmp_path, monkeypatch, warnings):
    config = {"dom0s": [{"name": "gone", "address": "192.0.2.99"}]}
    with pytest.raises(AnsibleParserError) as error:
        run_plugin(tmp_path, monkeypatch, config, {"192.0.2.99": {LIST: UNREACHABLE}}, warnings)
    message = str(error.value)
    assert "dom0 gone" in message and "rc=255" in message and "No route to host" in message
    assert "on_dom0_error=warn" in message


def test_unreachable_dom0_warns_and_others_are_listed(tmp_path, monkeypatch, warnings):
    config = {"dom0s": [{"name": "gone", "address": "192.0.2.99"}, LAB["dom0s"][0]], "on_dom0_error": "warn"}
    outputs = {"192.0.2.99": {LIST: UNREACHABLE}, "127.0.0.1": lab_outputs()}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings)
    assert sorted(inventory.hosts) == ["test1"]
    assert "xen_dom0_gone" not in inventory.groups
    assert len(warnings) == 1 and "dom0 gone" in warnings[0] and "left out" in warnings[0]


def test_toolstack_failure_is_a_dom0_error(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": {LIST: (1, "", fixture_text("xen-4.17/xl-no-xenstore.stderr"))}}
    with pytest.raises(AnsibleParserError) as error:
        run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert "dom0 lab-dom0: 'xl list' failed with rc=1" in str(error.value)


def test_unparsable_domain_list_is_a_dom0_error(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs({LIST: (0, "Name ID\nthis is not a domain row\n", "")})}
    with pytest.raises(AnsibleParserError, match="cannot parse domain list line"):
        run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)


def test_failed_long_list_lists_guests_without_macs(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs({LIST_LONG: (1, "", "libxl: error")})}
    inventory, fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    hostvars = inventory.get_host("test1").get_vars()
    assert hostvars["xen_macs"] == [] and "ansible_host" not in hostvars and hostvars["xen_state"] == "running"
    assert NEIGH not in fake.remotes()
    assert len(warnings) == 1 and "xl list -l" in warnings[0]


def test_old_iproute_without_json_falls_back_to_text(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs({
        NEIGH: (1, "", 'Option "-j" is unknown, try "ip -help".\n'),
        NEIGH_TEXT: (0, fixture_text("xen-4.17/ip-neigh.txt"), ""),
    })}
    inventory, fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert fake.remotes()[-2:] == [NEIGH, NEIGH_TEXT]
    assert inventory.get_host("test1").get_vars()["ansible_host"] == "10.0.2.16"
    assert warnings == []


def test_no_neighbour_entry_no_ansible_host(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs({NEIGH: (0, "[]", "")})}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    hostvars = inventory.get_host("test1").get_vars()
    assert "ansible_host" not in hostvars and hostvars["xen_addresses"] == []


def test_hostile_names_macs_and_addresses_are_left_out(tmp_path, monkeypatch, warnings):
    listing = fixture_text("xen-4.17/xl-list-running.txt") + (
        "a$(reboot)                                   2   256     1     -b----       1.0\n"
        "1234                                         3   256     1     -b----       1.0\n"
        "web1--incoming                               4   256     1     --p---       0.0\n"
    )
    long_text = xl_list_long().replace(TEST1_MAC, "not-a-mac")
    neigh = '[{"dst":"10.0.2.16; reboot","dev":"xenbr0","lladdr":"00:16:3e:78:5d:6a","state":["REACHABLE"]}]'
    outputs = {"127.0.0.1": {LIST: (0, listing, ""), LIST_LONG: (0, long_text, ""), NEIGH: (0, neigh, "")}}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert sorted(inventory.hosts) == ["test1"]
    hostvars = inventory.get_host("test1").get_vars()
    assert hostvars["xen_macs"] == [] and hostvars["xen_nics"] == [{"mac": None, "bridge": "xenbr0"}]
    assert "ansible_host" not in hostvars
    assert len(warnings) == 2
    assert any("'a$(reboot)'" in w for w in warnings) and any("all digits" in w for w in warnings)


def test_dom0_output_is_never_rendered_as_a_template(tmp_path, monkeypatch, warnings):
    from ansible.template import Templar

    try:
        from ansible.template import trust_as_template  # ansible-core 2.19+: only trusted text is a template
    except ImportError:
        def trust_as_template(text):
            return text

    long_text = xl_list_long().replace('"type": "pv"', '"type": "{{ 6 * 7 }}"')
    assert "{{ 6 * 7 }}" in long_text
    outputs = {"127.0.0.1": lab_outputs({LIST_LONG: (0, long_text, "")})}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    hostvars = inventory.get_host("test1").get_vars()
    assert Templar(loader=DataLoader(), variables=hostvars).template(trust_as_template("{{ xen_type }}")) == "{{ 6 * 7 }}"


def test_an_address_two_guests_claim_is_given_to_neither(tmp_path, monkeypatch, warnings):
    listing = fixture_text("xen-4.17/xl-list-running.txt") + (
        "test2                                        2   256     1     -b----       1.0\n")
    domains = json.loads(xl_list_long())
    test2 = json.loads(xl_list_long())[1]
    test2["domid"], test2["config"]["c_info"]["name"] = 2, "test2"
    test2["config"]["nics"][0]["mac"] = "00:16:3e:00:00:02"
    neigh = ('[{"dst":"10.0.2.16","dev":"xenbr0","lladdr":"00:16:3e:78:5d:6a","state":["REACHABLE"]},'
             '{"dst":"10.0.2.16","dev":"vif2.0","lladdr":"00:16:3e:00:00:02","state":["REACHABLE"]},'
             '{"dst":"10.0.2.18","dev":"xenbr0","lladdr":"00:16:3e:00:00:02","state":["STALE"]}]')
    outputs = {"127.0.0.1": {LIST: (0, listing, ""), LIST_LONG: (0, json.dumps(domains + [test2]), ""), NEIGH: (0, neigh, "")}}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert "ansible_host" not in inventory.get_host("test1").get_vars()
    assert inventory.get_host("test2").get_vars()["ansible_host"] == "10.0.2.18"
    assert inventory.get_host("test2").get_vars()["xen_addresses"] == ["10.0.2.18"]
    assert warnings == ["dom0 lab-dom0: address 10.0.2.16 is claimed by the MACs of test1, test2; given to none of them"]


def test_states_group_guests(tmp_path, monkeypatch, warnings):
    outputs = {"127.0.0.1": lab_outputs({LIST: (0, fixture_text("xen-4.17/xl-list-after-shutdown.txt"), "")})}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, LAB, outputs, warnings)
    assert inventory.get_host("test1").get_vars()["xen_state"] == "shutdown"
    assert "test1" in [h.name for h in inventory.groups["xen_state_shutdown"].get_hosts()]


# Molecule's inventories name the key ansible_private_key_file; with both set, the ssh one is taken.
@pytest.mark.parametrize("key_vars", [
    {"ansible_ssh_private_key_file": "/cache/id_ed25519"},
    {"ansible_private_key_file": "/cache/id_ed25519"},
    {"ansible_ssh_private_key_file": "/cache/id_ed25519", "ansible_private_key_file": "/other/key"},
])
def test_dom0_from_an_inventory_host(tmp_path, monkeypatch, warnings, key_vars):
    inventory = InventoryData()
    inventory.add_group("xen_dom0")
    inventory.add_host("dom0", group="xen_dom0")
    for key, value in dict({"ansible_host": "127.0.0.1", "ansible_port": 40022, "ansible_user": "root"},
                           **key_vars).items():
        inventory.set_variable("dom0", key, value)
    inventory.set_variable("xen_dom0", "ansible_ssh_common_args", "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")
    config = {"dom0s": [{"inventory_host": "dom0"}], "proxy": "command"}
    inventory, fake = run_plugin(tmp_path, monkeypatch, config, {"127.0.0.1": lab_outputs()}, warnings, inventory=inventory)
    assert fake.calls[0] == [
        "ssh", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-p", "40022", "-i", "/cache/id_ed25519", "-l", "root", "--", "127.0.0.1"] + list(LIST)
    assert inventory.get_host("test1").get_vars()["xen_dom0"] == "dom0"
    assert "xen_dom0_dom0" in inventory.groups


def test_missing_inventory_host_is_named(tmp_path, monkeypatch, warnings):
    with pytest.raises(AnsibleParserError, match="inventory_host 'dom0' is not in the inventory"):
        run_plugin(tmp_path, monkeypatch, {"dom0s": [{"inventory_host": "dom0"}]}, {}, warnings)


def test_sudo_and_xm(tmp_path, monkeypatch, warnings):
    sudo = ("env", "LC_ALL=C", "LANG=C", "sudo", "-n")
    outputs = {"xen3": {
        sudo + ("xm", "list"): (0, fixture_text("xm-3.x/xm-list.txt"), ""),
        sudo + ("xm", "list", "--long"): (0, fixture_text("xm-3.x/xm-list-long.sxp"), ""),
        NEIGH: (0, '[{"dst":"192.0.2.21","dev":"xenbr0","lladdr":"00:16:3E:2C:7E:EF","state":["STALE"]}]', ""),
    }}
    config = {"dom0s": [{"name": "xen3"}], "toolstack": "xm", "sudo": True}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, outputs, warnings)
    # The migration placeholder migrating-web1 is not a guest.
    assert sorted(inventory.hosts) == ["full-virt", "xen.loomaaed.tartu.ee"]
    hostvars = inventory.get_host("xen.loomaaed.tartu.ee").get_vars()
    assert hostvars["ansible_host"] == "192.0.2.21" and hostvars["xen_macs"] == ["00:16:3e:2c:7e:ef"]
    assert inventory.get_host("full-virt").get_vars()["xen_type"] == "hvm"
    assert "xen_dom0_xen3" in inventory.groups and "xen_state_blocked" in inventory.groups


def test_same_guest_on_two_dom0s_is_listed_once(tmp_path, monkeypatch, warnings):
    config = {"dom0s": [{"name": "a"}, {"name": "b"}]}
    inventory, _fake = run_plugin(tmp_path, monkeypatch, config, {"a": lab_outputs(), "b": lab_outputs()}, warnings)
    assert inventory.get_host("test1").get_vars()["xen_dom0"] == "a"
    assert len(warnings) == 1 and "dom0 a and on dom0 b" in warnings[0]


@pytest.mark.parametrize("entry, message", [
    ({"name": "x", "adress": "y"}, "unknown keys adress"),
    ({"address": "-oProxyCommand=x"}, "is not a host name or IP address"),
    ({"address": "a b"}, "is not a host name or IP address"),
    ({"name": "x", "port": 70000}, "is not a TCP port number"),
    ({"name": "x", "port": "ssh"}, "is not a TCP port number"),
    ({"name": "x", "user": "-oX"}, "is not a login name"),
    ({"name": "x", "address": "{{ lookup('env', 'HOST') }}"}, "is a template"),
    ({"port": 22}, "needs name, address or inventory_host"),
    ({"name": "x", "ssh_args": ["-o", "ProxyCommand={{ x }}"]}, "is a template"),
    ({"name": "x", "ssh_args": "-o X=y"}, "ssh_args must be a list"),
    ("xen1", "must be a dict"),
])
def test_bad_dom0_entries(tmp_path, monkeypatch, warnings, entry, message):
    with pytest.raises(AnsibleParserError, match=message):
        run_plugin(tmp_path, monkeypatch, {"dom0s": [entry]}, {}, warnings)


def test_duplicate_dom0_names(tmp_path, monkeypatch, warnings):
    with pytest.raises(AnsibleParserError, match="given more than once"):
        run_plugin(tmp_path, monkeypatch, {"dom0s": [{"name": "a"}, {"name": "a"}]}, {}, warnings)


@pytest.mark.parametrize("name, accepted", [
    ("lab.xen.yml", True), ("xen.yaml", True), ("site_xen.yml", True), ("hosts.yml", False), ("xen.json", False),
])
def test_verify_file(tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: kuutorvaja.xen.xen\n")
    assert bool(xen.InventoryModule().verify_file(str(path))) is accepted


def test_parse_neighbours_keeps_usable_entries():
    entries = xen.parse_neighbours(fixture_text("xen-4.17/ip-j-neigh.json"))
    assert ("10.0.2.16", TEST1_MAC, "REACHABLE") in entries
    assert ("fec0::2", "52:55:0a:00:02:02", "STALE") in entries
    assert all(e[0] not in ("10.0.2.17",) and not e[0].startswith("fe80") for e in entries)
    assert xen.parse_neighbours(fixture_text("xen-4.17/ip-neigh.txt")) == entries
