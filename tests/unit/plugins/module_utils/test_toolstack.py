# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers and the Toolstack class against recorded xl output (Xen 4.17) and xm formats (Xen 3.x, built from docs)."""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import toolstack as ts
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError

from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text, xl_list_long


# -- xl list / xm list -----------------------------------------------------------

LIST_CASES = [
    # fixture, expected (name, domid, memory, vcpus, state, flags, cpu_time)
    ("xen-4.17/xl-list-dom0.txt", [("Domain-0", 0, 1024, 2, "running", "r-----", 65.0)]),
    (
        "xen-4.17/xl-list-running.txt",
        [("Domain-0", 0, 1024, 2, "running", "r-----", 1332.6), ("test1", 1, 256, 1, "running", "r-----", 2.2)],
    ),
    (
        "xen-4.17/xl-list-after-shutdown.txt",
        [("Domain-0", 0, 1024, 2, "running", "r-----", 1388.1), ("test1", 1, 256, 1, "shutdown", "--ps--", 103.4)],
    ),
    (
        "xm-3.x/xm-list.txt",
        [
            ("Domain-0", 0, 384, 1, "running", "r-----", 1563.4),
            ("xen.loomaaed.tartu.ee", 1, 1024, 1, "blocked", "-b----", 41.9),
            ("full-virt", 3, 2048, 1, "blocked", "-b----", 120.3),
        ],
    ),
    (
        "xm-3.x/xm-list-managed.txt",
        [
            ("Domain-0", 0, 384, 1, "running", "r-----", 1563.4),
            ("xen.loomaaed.tartu.ee", 1, 1024, 1, "blocked", "-b----", 41.9),
            ("managed-off", None, 256, 1, "shutdown", "", 0.0),
        ],
    ),
]


@pytest.mark.parametrize("fixture, expected", LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_parse_domain_list(fixture, expected):
    domains = ts.parse_domain_list(fixture_text(fixture))
    got = [(d.name, d.domid, d.memory_mib, d.vcpus, d.state, d.flags, d.cpu_time) for d in domains]
    assert got == expected


def test_parse_domain_list_drops_transient_rows_unless_asked():
    text = (
        "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
        "Domain-0                                     0  1024     2     r-----    1388.1\n"
        "(null)                                       2     0     1     --p--d       0.1\n"
        "web1--incoming                               3   512     1     --p---       0.0\n"
        "web1--migratedaway                           4   512     1     -b-s--       9.0\n"
        "web1                                         5   512     1     -b----       1.0\n"
    )
    assert [d.name for d in ts.parse_domain_list(text)] == ["Domain-0", "web1"]
    everything = ts.parse_domain_list(text, include_transient=True)
    assert [d.name for d in everything] == ["Domain-0", "(null)", "web1--incoming", "web1--migratedaway", "web1"]
    assert [d.state for d in everything] == ["running", "dying", "paused", "shutdown", "blocked"]


def test_xm_migrating_row_is_transient():
    names = [d.name for d in ts.parse_domain_list(fixture_text("xm-3.x/xm-list.txt"), include_transient=True)]
    assert "migrating-web1" in names
    assert "migrating-web1" not in [d.name for d in ts.parse_domain_list(fixture_text("xm-3.x/xm-list.txt"))]


def test_parse_domain_list_rejects_garbage_with_the_line():
    with pytest.raises(ts.ToolstackError, match="cannot parse domain list line: 'xl: command not understood'"):
        ts.parse_domain_list("Name ID Mem VCPUs State Time(s)\nxl: command not understood\n")


@pytest.mark.parametrize(
    "flags, state",
    [
        ("r-----", "running"),
        ("-b----", "blocked"),
        ("--p---", "paused"),
        ("--ps--", "shutdown"),
        ("----c-", "crashed"),
        ("-----d", "dying"),
        ("--p--d", "dying"),
        ("------", "running"),
        ("r----", "unknown"),
        ("rxxxxx", "unknown"),
        # the fifth place is the shutdown reason, xl's "-rscwS" (and "?")
        ("---s--", "shutdown"),  # poweroff
        ("---sr-", "shutdown"),  # reboot: xl makes a new domain
        ("---s?-", "shutdown"),  # a reason xl does not know
        ("--psr-", "shutdown"),
        ("---ss-", "paused"),  # suspend: saved, migrated or checkpointed, still holds its disks
        ("--pss-", "paused"),
        ("---sS-", "paused"),  # soft reset: reset in place, runs on
        ("---sc-", "crashed"),
        ("---sw-", "crashed"),  # watchdog
        ("--psw-", "crashed"),
        ("---swd", "dying"),
        ("---sSd", "dying"),
        (" ---sw- ", "crashed"),
        ("s-----", "unknown"),  # letters out of their place
        ("-----c", "unknown"),
        ("---sx-", "unknown"),
        ("---sw--", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_flags_to_state(flags, state):
    assert ts.flags_to_state(flags) == state
    assert state in ts.STATES


def test_parse_domain_list_reads_every_shutdown_reason():
    """One row per reason xl prints next to ordinary ones; none of them stops the listing."""
    domains = ts.parse_domain_list(fixture_text("xl-syntax/xl-list-shutdown-reasons.txt"))
    got = [(d.name, d.domid, d.flags, d.state, d.alive) for d in domains]
    assert got == [
        ("Domain-0", 0, "r-----", "running", True),
        ("web1", 1, "-b----", "blocked", True),
        ("held", 2, "--p---", "paused", True),
        ("goingdown", 3, "---s--", "shutdown", False),
        ("rebooting", 4, "---sr-", "shutdown", False),
        ("saving", 5, "---ss-", "paused", True),
        ("crashed1", 6, "---sc-", "crashed", False),
        ("watchdogged", 7, "---sw-", "crashed", False),
        ("softreset", 8, "---sS-", "paused", True),
        ("strange", 9, "---s?-", "shutdown", False),
        ("teardown", 10, "--ps--", "shutdown", False),
        ("dying1", 11, "--ps-d", "dying", False),
    ]


@pytest.mark.parametrize("flags", ["r-----", "---sw-", "---sS-", "---s?-", "---ss-", "---sr-", "---sc-"])
def test_parse_domain_list_row_with_each_flag_set(flags):
    text = "Name ID Mem VCPUs\tState\tTime(s)\nDomain-0 0 1024 2 r----- 5.0\nguest 3 256 1 %s 1.5\n" % flags
    assert [(d.name, d.flags) for d in ts.parse_domain_list(text)] == [("Domain-0", "r-----"), ("guest", flags)]


@pytest.mark.parametrize("flags", ["---sx-", "s-----", "rbpscdx"])
def test_parse_domain_list_still_refuses_a_row_it_cannot_read(flags):
    with pytest.raises(ts.ToolstackError, match="cannot parse domain list line"):
        ts.parse_domain_list("Domain-0 0 1024 2 r----- 5.0\nguest 3 256 1 %s 1.5\n" % flags)


# -- xl info / xm info ---------------------------------------------------------------


def test_parse_xl_info_and_facts():
    info = ts.parse_info(fixture_text("xen-4.17/xl-info.txt"))
    assert info["xen_version"] == "4.17.7"
    assert info["xen_changeset"] == ""
    facts = ts.hypervisor_facts(info, "xl")
    assert facts == {
        "toolstack": "xl",
        "version": "4.17.7",
        "major": 4,
        "minor": 17,
        "extra": ".7",
        "total_memory_mib": 4095,
        "free_memory_mib": 3028,
        "nr_cpus": 2,
        "virt_caps": ["pv", "hvm", "hap", "gnttab-v1", "gnttab-v2"],
        "xen_caps": ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"],
        "xen_commandline": "placeholder dom0_mem=1024M,max:1024M dom0_max_vcpus=2 console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all",
        "scheduler": "credit2",
        "host": "xenhost",
        "release": "6.1.0-50-amd64",
    }


def test_parse_xl_info_n_ignores_topology_tables():
    plain = ts.parse_info(fixture_text("xen-4.17/xl-info.txt"))
    with_numa = ts.parse_info(fixture_text("xen-4.17/xl-info-n.txt"))
    for key, value in plain.items():
        assert with_numa[key] == value
    assert not any(key.isdigit() for key in with_numa)


def test_parse_xm_info_derives_version_and_virt_caps():
    facts = ts.hypervisor_facts(ts.parse_info(fixture_text("xm-3.x/xm-info.txt")), "xm")
    assert facts["version"] == "3.0.3-1"
    assert facts["virt_caps"] == ["pv", "hvm"]
    assert facts["xen_commandline"] is None
    assert (facts["total_memory_mib"], facts["free_memory_mib"], facts["nr_cpus"]) == (2047, 1535, 2)


# -- xl list -l / xm list --long -------------------------------------------------------

TEST1_DETAILS = {
    "domid": 1,
    "type": "pv",
    "memory_mib": 256,
    "max_memory_mib": 256,
    "vcpus": 1,
    "max_vcpus": 1,
    "disks": [
        {"target": "/srv/xen/domains/test1/disk.img", "vdev": "xvda2", "mode": "w"},
        {"target": "/srv/xen/domains/test1/swap.img", "vdev": "xvda1", "mode": "w"},
    ],
    "nics": [{"mac": "00:16:3e:78:5d:6a", "bridge": "xenbr0"}],
}


def test_parse_xl_list_long_all():
    details = ts.parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-all.json"))
    assert list(details) == ["Domain-0", "test1"]
    assert details["test1"] == TEST1_DETAILS
    # dom0's target_memkb is 1048575 KiB: rounds to 1024 MiB
    assert details["Domain-0"]["memory_mib"] == 1024
    assert details["Domain-0"]["disks"] == [] and details["Domain-0"]["nics"] == []


def test_parse_xl_list_long_single_and_dom0_only():
    assert ts.parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-running.json")) == {"test1": TEST1_DETAILS}
    assert list(ts.parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-dom0.json"))) == ["Domain-0"]
    assert ts.parse_xl_list_long("") == {}


def test_parse_xl_list_long_rejects_non_json():
    with pytest.raises(ts.ToolstackError, match="cannot parse 'xl list -l' output as JSON"):
        ts.parse_xl_list_long("[ {oops")


def test_parse_xm_list_long():
    details = ts.parse_xm_list_long(fixture_text("xm-3.x/xm-list-long.sxp"))
    assert list(details) == ["Domain-0", "xen.loomaaed.tartu.ee", "full-virt"]
    assert details["xen.loomaaed.tartu.ee"] == {
        "domid": 1,
        "type": "pv",
        "memory_mib": 1024,
        "max_memory_mib": 1024,
        "vcpus": 1,
        "max_vcpus": 1,
        "disks": [
            {"target": "/data/domains/xen.loomaaed.tartu.ee/disk.img", "vdev": "sda1", "mode": "w"},
            {"target": "/data/domains/xen.loomaaed.tartu.ee/swap.img", "vdev": "sda2", "mode": "w"},
        ],
        "nics": [{"mac": "00:16:3e:2c:7e:ef", "bridge": None}],
    }
    hvm = details["full-virt"]
    assert hvm["type"] == "hvm"
    assert hvm["disks"] == [
        {"target": "/data/zones/domains/full-virt/disk.img", "vdev": "hda", "mode": "w"},
        {"target": "/data/images/debian-40r0-i386-CD-1.iso", "vdev": "hdc", "mode": "r"},
    ]
    assert hvm["nics"] == [{"mac": "00:16:3e:3a:8e:7a", "bridge": "xenbr2"}]


def test_old_xl_printing_sxp_goes_to_the_sxp_parser():
    assert list(ts.parse_xl_list_long(fixture_text("xm-3.x/xm-list-long.sxp"))) == ["Domain-0", "xen.loomaaed.tartu.ee", "full-virt"]


@pytest.mark.parametrize("text", ["(domain (name x)", "(domain) )", "(domain (name 'x)"])
def test_parse_sxp_rejects_unbalanced(text):
    with pytest.raises(ts.ToolstackError):
        ts.parse_sxp(text)


def test_parse_sxp_quotes_and_empty_forms():
    assert ts.parse_sxp("(a (b 'c d') (e) (f \"g h\"))") == [["a", ["b", "c d"], ["e"], ["f", "g h"]]]


# -- uptime, names, errors ------------------------------------------------------------------


def test_parse_uptime_recorded_and_long():
    text = "Name                                ID Uptime\nDomain-0                             0  0:22:04\ntest1                                1  0:01:53\n"
    assert ts.parse_uptime(text, "test1") == 113
    assert ts.parse_uptime(text, "Domain-0") == 22 * 60 + 4
    assert ts.parse_uptime("web1  3  2 days, 1:00:05\n", "web1") == 2 * 86400 + 3605
    assert ts.parse_uptime(text, "nosuch") is None


@pytest.mark.parametrize(
    "text", [fixture_text("xen-4.17/xl-invalid-domain.stderr"), fixture_text("xm-3.x/xm-not-found.stderr"), "Error: Domain not found"]
)
def test_is_not_found(text):
    assert ts.is_not_found(text)


def test_is_not_found_false_for_other_errors():
    assert not ts.is_not_found("libxl: error: libxl_create.c:1234: cannot make domain: -3")


# -- the Toolstack class with a scripted runner ----------------------------------------------


class ScriptedRunner:
    """A CommandRunner stand-in: expected (argv, rc, out, err) per call."""

    def __init__(self, calls, installed=("xl",)):
        self.calls = list(calls)
        self.seen = []
        self.installed = installed

    def which(self, name, required=True):
        return "/usr/sbin/" + name if name in self.installed else None

    def run(self, argv, check_rc=True, data=None, env=None):
        self.seen.append(list(argv))
        want, rc, out, err = self.calls.pop(0)
        assert list(argv) == want
        if check_rc and rc != 0:
            raise CommandError(argv, rc, out, err)
        return rc, out, err


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def make(calls, cls=ts.XlToolstack):
    clock = Clock()
    runner = ScriptedRunner(calls)
    return cls(runner, clock=clock, sleep=clock.sleep), runner, clock


def test_list_domains_is_one_command_for_many_guests():
    tool, runner, dummy = make([(["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"), "")])
    domains = tool.list_domains()
    assert tool.is_running("test1", domains)
    assert not tool.is_running("nosuch", domains)
    assert tool.is_running("Domain-0", domains)
    assert runner.seen == [["xl", "list"]]


def test_shutdown_waits_through_the_shutting_down_state():
    tool, runner, clock = make(
        [
            (["xl", "shutdown", "test1"], 0, "", ""),
            (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-after-shutdown.txt"), ""),
            (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"), ""),
        ]
    )
    assert tool.shutdown("test1", timeout=30, interval=2) is True
    assert clock.now == 2


def test_shutdown_times_out():
    calls = [(["xl", "shutdown", "test1"], 0, "", "")]
    calls += [(["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"), "")] * 4
    tool, runner, clock = make(calls)
    assert tool.shutdown("test1", timeout=3, interval=1) is False
    assert clock.now == 3 and not runner.calls


def test_shutdown_asks_again_when_the_guest_ignores_the_first_request():
    # A guest asked while booting takes the request and runs on (seen on the lab).
    running = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"), "")
    calls = [(["xl", "shutdown", "test1"], 0, "", "")] + [running] * 3
    calls += [(["xl", "shutdown", "test1"], 0, "", ""), running]
    calls += [(["xl", "list"], 0, fixture_text("xen-4.17/xl-list-dom0.txt"), "")]
    tool, runner, clock = make(calls)
    assert tool.shutdown("test1", timeout=60, interval=10, resend=20) is True
    assert runner.seen.count(["xl", "shutdown", "test1"]) == 2 and not runner.calls
    assert clock.now == 40


def test_shutdown_does_not_ask_again_while_the_guest_is_shutting_down():
    calls = [(["xl", "shutdown", "test1"], 0, "", "")]
    calls += [(["xl", "list"], 0, fixture_text("xen-4.17/xl-list-after-shutdown.txt"), "")] * 4
    tool, runner, clock = make(calls)
    assert tool.shutdown("test1", timeout=3, interval=1, resend=1) is False
    assert runner.seen.count(["xl", "shutdown", "test1"]) == 1 and not runner.calls


def test_shutdown_of_missing_domain_is_not_an_error():
    tool, dummy, dummy2 = make([(["xl", "shutdown", "nosuch"], 1, "", fixture_text("xen-4.17/xl-invalid-domain.stderr"))])
    assert tool.shutdown("nosuch") is True


def test_destroy_missing_and_other_failure():
    tool, dummy, dummy2 = make(
        [
            (["xl", "destroy", "nosuch"], 1, "", fixture_text("xen-4.17/xl-invalid-domain.stderr")),
            (["xl", "destroy", "web1"], 1, "", "libxl: error: cannot destroy: permission denied\n"),
        ]
    )
    assert tool.destroy("nosuch") is False
    with pytest.raises(CommandError, match=r"command 'xl destroy web1' failed with rc=1: libxl: error: cannot destroy"):
        tool.destroy("web1")


def test_create_pause_unpause_reboot_argv():
    tool, runner, dummy = make(
        [
            (["xl", "create", "/etc/xen/a.cfg"], 0, "", ""),
            (["xl", "create", "-p", "/etc/xen/a.cfg"], 0, "", ""),
            (["xl", "pause", "a"], 0, "", ""),
            (["xl", "unpause", "a"], 0, "", ""),
            (["xl", "reboot", "a"], 0, "", ""),
        ]
    )
    tool.create("/etc/xen/a.cfg")
    tool.create("/etc/xen/a.cfg", paused=True)
    assert tool.pause("a") and tool.unpause("a") and tool.reboot("a")
    assert not runner.calls


def test_xm_argv_and_details():
    tool, runner, dummy = make(
        [
            (["xm", "list", "--long", "full-virt"], 0, fixture_text("xm-3.x/xm-list-long.sxp"), ""),
            (["xm", "list", "--long", "nosuch"], 1, "", fixture_text("xm-3.x/xm-not-found.stderr")),
            (["xm", "info"], 0, fixture_text("xm-3.x/xm-info.txt"), ""),
            (["xm", "dmesg"], 0, "(XEN) Xen version 3.0.3-1\n", ""),
        ],
        cls=ts.XmToolstack,
    )
    assert list(tool.domain_details("full-virt")) == ["full-virt"]
    assert tool.domain_details("nosuch") == {}
    assert tool.info()["xen_extra"] == ".3-1"
    assert tool.dmesg().startswith("(XEN)")


def test_xl_domain_details_all():
    tool, dummy, dummy2 = make([(["xl", "list", "-l"], 0, fixture_text("xen-4.17/xl-list-l-all.json"), "")])
    assert tool.domain_details()["test1"] == TEST1_DETAILS


def test_xenstored_down_is_named():
    stderr = fixture_text("xen-4.17/xl-no-xenstore.stderr")
    tool, dummy, dummy2 = make([(["xl", "list"], 1, "", stderr), (["xl", "shutdown", "web1"], 1, "", stderr)])
    with pytest.raises(ts.ToolstackDaemonError, match=r"^xenstored is not running or cannot be reached.*"
                       r"command 'xl list' failed with rc=1: libxl: error: .*cannot connect to xenstore") as caught:
        tool.list_domains()
    assert isinstance(caught.value, CommandError) and caught.value.daemon == "xenstored"
    with pytest.raises(ts.ToolstackDaemonError, match=r"^xenstored is not running"):
        tool.shutdown("web1")


def test_xend_down_is_named():
    # xm's message when xend's socket is missing, as xm 3.x prints it (not recorded: no xm host).
    stderr = "Error: Unable to connect to xend: No such file or directory. Is xend running?\n"
    tool, dummy, dummy2 = make([(["xm", "list"], 1, "", stderr)], cls=ts.XmToolstack)
    with pytest.raises(ts.ToolstackDaemonError, match=r"^xend is not running or cannot be reached.*Is xend running"):
        tool.list_domains()


def test_other_failures_are_not_blamed_on_the_daemon():
    tool, dummy, dummy2 = make([(["xl", "list"], 1, "", "xencall: error: Could not obtain handle on privileged command interface\n")])
    with pytest.raises(CommandError) as caught:
        tool.list_domains()
    assert not isinstance(caught.value, ts.ToolstackDaemonError)


def test_uptime_none_when_not_running():
    tool, dummy, dummy2 = make([(["xl", "uptime", "nosuch"], 1, "", fixture_text("xen-4.17/xl-invalid-domain.stderr"))])
    assert tool.uptime("nosuch") is None


# -- detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "installed, defaults, expected",
    [
        (("xl",), None, "xl"),
        (("xm",), None, "xm"),
        (("xl", "xm"), None, "xl"),
        (("xl", "xm"), "TOOLSTACK=xm\n", "xm"),
        (("xl",), 'TOOLSTACK="xm"\n', "xl"),
        ((), None, None),
    ],
)
def test_detect_toolstack(tmp_path, installed, defaults, expected):
    path = tmp_path / "xen"
    if defaults is not None:
        path.write_text("# Debian /etc/default/xen\n" + defaults)
    assert ts.detect_toolstack(ScriptedRunner([], installed=installed), defaults_path=str(path)) == expected


# -- waiting for a guest's network (xen_domain wait_for=network) ----------------------------

RUNNING = (["xl", "list"], 0, fixture_text("xen-4.17/xl-list-running.txt"), "")


def _vif(tmp_path, domid, packets):
    """A fake /sys/class/net/vifDOMID.0/statistics/rx_packets holding ``packets``."""
    stats = tmp_path / ("vif%s.0" % domid) / "statistics"
    stats.mkdir(parents=True, exist_ok=True)
    (stats / "rx_packets").write_text("%d\n" % packets)


def test_wait_network_ready_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    _vif(tmp_path, 1, 3)
    tool, runner, clock = make([])
    assert tool.wait_network("test1", 1, timeout=30) == ("ready", 0.0)
    # The caller has just read the list: a guest already sending costs no command.
    assert runner.seen == []


def test_wait_network_polls_the_counter_and_rereads_the_list_every_recheck(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    _vif(tmp_path, 1, 0)
    tool, runner, clock = make([RUNNING])
    sleep = clock.sleep

    def sleep_then_send(seconds):
        sleep(seconds)
        if clock.now >= 7:
            _vif(tmp_path, 1, 1)

    tool.sleep = sleep_then_send
    assert tool.wait_network("test1", 1, timeout=30, interval=1, recheck=5) == ("ready", 7.0)
    # The list at 5 s (the caller read it at 0 s), none in between.
    assert runner.seen == [["xl", "list"]] and not runner.calls


def test_wait_network_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    _vif(tmp_path, 1, 0)
    tool, runner, clock = make([RUNNING] * 2)
    assert tool.wait_network("test1", 1, timeout=10, interval=1, recheck=5) == ("timeout", 10.0)
    assert not runner.calls


@pytest.mark.parametrize("listing, domid", [
    ("xen-4.17/xl-list-dom0.txt", 1),      # gone
    ("xen-4.17/xl-list-running.txt", 2),   # test1 runs as another domain
])
def test_wait_network_ends_when_the_domain_goes(tmp_path, monkeypatch, listing, domid):
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    _vif(tmp_path, domid, 0)
    tool, runner, clock = make([(["xl", "list"], 0, fixture_text(listing), "")])
    assert tool.wait_network("test1", domid, timeout=30)[0] == "gone"


def test_wait_network_without_a_vif(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    tool, runner, clock = make([RUNNING])
    assert tool.wait_network("test1", 1, timeout=30) == ("no-vif", 0.0)


def test_wait_network_calls_a_vanished_vif_of_a_crashed_guest_gone(tmp_path, monkeypatch):
    # Seen on the lab: a guest crashed while booting; its vif went with it
    # before the next recheck of the list, which then shows it crashed.
    monkeypatch.setattr(ts.Toolstack, "net_dir", str(tmp_path))
    crashed = "\n".join(
        line.replace("r-----", "----c-") if line.startswith("test1 ") else line
        for line in fixture_text("xen-4.17/xl-list-running.txt").split("\n"))
    tool, runner, clock = make([(["xl", "list"], 0, crashed, "")])
    _vif(tmp_path, 1, 0)
    sleep = clock.sleep

    def sleep_then_crash(seconds):
        sleep(seconds)
        (tmp_path / "vif1.0" / "statistics" / "rx_packets").unlink()

    tool.sleep = sleep_then_crash
    assert tool.wait_network("test1", 1, timeout=30, interval=1, recheck=5) == ("gone", 1.0)


# -- disk_users: who has this disk, by what it is ---------------------------------


def test_disk_users_finds_the_guest_by_the_file_not_the_name(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"x")
    alias = tmp_path / "web1-disk.img"
    alias.symlink_to(disk)
    tool, runner, clock = make([(["xl", "list", "-l"], 0, xl_list_long(disk=str(disk)), "")])
    assert tool.disk_users(str(alias)) == ["test1"]
    assert runner.seen == [["xl", "list", "-l"]]


def test_disk_users_of_a_disk_nobody_has(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"x")
    # test1's disks are /srv/xen/... which do not exist here: nothing matches.
    tool, runner, clock = make([(["xl", "list", "-l"], 0, xl_list_long(), "")])
    assert tool.disk_users(str(disk)) == []
    # A path that does not exist is nobody's disk, and costs no command.
    tool, runner, clock = make([])
    assert tool.disk_users(str(tmp_path / "missing.img")) == [] and runner.seen == []


# -- dry run and live changes -------------------------------------------------------


@pytest.mark.parametrize("cls, argv", [
    (ts.XlToolstack, ["xl", "-N", "create", "/tmp/c/web1.cfg"]),
    (ts.XmToolstack, ["xm", "create", "--dryrun", "/tmp/c/web1.cfg"]),
])
def test_dry_run_accepts_and_passes_on_what_the_tool_printed(cls, argv):
    tool, runner, dummy = make([(argv, 0, "{}", "Parsing config from /tmp/c/web1.cfg\nunrecognized argument `colour=blue'\n")], cls)
    assert tool.dry_run("/tmp/c/web1.cfg") == ("{}", "unrecognized argument `colour=blue'")
    assert runner.seen == [argv]


def test_dry_run_rejection_quotes_xl_without_its_progress_line():
    err = fixture_text("xen-4.17/xl-N-create-bad-disk.stderr")
    tool, dummy, dummy2 = make([(["xl", "-N", "create", "/tmp/kxprobe-test1.cfg"], 1, "", err)])
    with pytest.raises(ts.ConfigRejected) as caught:
        tool.dry_run("/tmp/kxprobe-test1.cfg")
    assert caught.value.message == ("/tmp/kxprobe-test1.cfg: config parsing error in disk specification: too many "
                                    "positional parameters: near `bogus' in `file:/srv/xen/domains/test1/swap.img,xvda1,w,bogus'")
    assert "Parsing config" not in str(caught.value)


def test_dry_run_with_xenstored_down_names_the_daemon():
    tool, dummy, dummy2 = make([(["xl", "-N", "create", "/c"], 1, "", fixture_text("xen-4.17/xl-no-xenstore.stderr"))])
    with pytest.raises(ts.ToolstackDaemonError, match="xenstored is not running"):
        tool.dry_run("/c")


def test_tool_message_is_capped():
    message = ts.tool_message("x" * 5000)
    assert len(message) == ts.MAX_TOOL_MESSAGE + len(" [...]") and message.endswith(" [...]")
    assert ts.tool_message("Parsing config from /a\n\n") == ""


@pytest.mark.parametrize("cls, method, args, argv", [
    (ts.XlToolstack, "mem_set", ("web1", 768), ["xl", "mem-set", "web1", "768m"]),
    (ts.XmToolstack, "mem_set", ("web1", 768), ["xm", "mem-set", "web1", "768"]),
    (ts.XlToolstack, "vcpu_set", ("web1", 2), ["xl", "vcpu-set", "web1", "2"]),
    (ts.XmToolstack, "vcpu_set", ("web1", 2), ["xm", "vcpu-set", "web1", "2"]),
    (ts.XlToolstack, "network_attach", ("web1", "mac=00:16:3E:00:00:02,bridge=xenbr0"),
     ["xl", "network-attach", "web1", "mac=00:16:3E:00:00:02", "bridge=xenbr0"]),
    (ts.XlToolstack, "block_attach", ("web1", "file:/srv/web1-data.img,xvdb,w"),
     ["xl", "block-attach", "web1", "file:/srv/web1-data.img,xvdb,w"]),
    (ts.XmToolstack, "block_attach", ("web1", "file:/srv/web1-data.img,xvdb,w"),
     ["xm", "block-attach", "web1", "file:/srv/web1-data.img", "xvdb", "w"]),
    (ts.XmToolstack, "block_attach", ("web1", "phy:/dev/vg0/data,hdc:cdrom,r"),
     ["xm", "block-attach", "web1", "phy:/dev/vg0/data", "hdc:cdrom", "r"]),
])
def test_live_change_commands(cls, method, args, argv):
    tool, runner, dummy = make([(argv, 0, "", "")], cls)
    getattr(tool, method)(*args)
    assert runner.seen == [argv]


def test_xm_block_attach_refuses_a_disk_it_cannot_take():
    tool, runner, dummy = make([], ts.XmToolstack)
    with pytest.raises(ts.ToolstackError, match="xm block-attach cannot take"):
        tool.block_attach("web1", "/srv/a.img")
    assert runner.seen == []
