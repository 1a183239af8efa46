# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Golden tests: the dom0 roles, run for real on localhost into a temp dir,
must reproduce the guide's files (tests/integration/roles/golden/, copied from its text).
They start ansible-playbook, so they live beside the integration tests, not in tests/unit.

The roles run unchanged; only their internal path variables are pointed
into the temp dir (paths.yml, as extra vars). Also checks that a second run
changes nothing and that bad variables fail before anything is written,
with a message naming the variable.
"""

import grp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import PATIENCE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GOLDEN = HERE / "golden"
# Debian bookworm's stock /etc/default/xen (xen-utils-common's default.xen, put there by ucf).
XEN_DEFAULT_STOCK = ROOT / "tests" / "unit" / "fixtures" / "debian" / "default.xen"
# Xen 3.0.3's stock xend-config.sxp, as far as the guide edits it.
XEND_STOCK = ROOT / "tests" / "unit" / "fixtures" / "xen-3.0.3" / "xend-config.sxp.excerpt"
MANAGED = "#\n# Ansible managed\n#\n"


def run_roles(render_dir, *var_files, extra=None, playbook="render.yml"):
    """Run render.yml (or another playbook here) with the given variable files; return the process."""
    env = dict(os.environ)
    env.setdefault(
        "ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections")
    )
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", "localhost,",
        str(HERE / playbook),
        "-e", "@" + str(HERE / "paths.yml"),
        "-e", "render_dir=" + str(render_dir),
        "-e", "ansible_python_interpreter=" + sys.executable,
    ]
    for var_file in var_files:
        argv += ["-e", "@" + str(var_file)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, check=False, timeout=PATIENCE
    )


def recap(proc):
    """Return the PLAY RECAP counters of a run as a dict."""
    match = re.search(r"localhost\s+:\s+(.*)", proc.stdout)
    assert match, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def strip_managed(text):
    """Remove our one ansible_managed comment block (after a shebang too)."""
    assert MANAGED in text, text
    return text.replace(MANAGED, "", 1)


def unwiki(text):
    """Drop the one-space indent MediaWiki uses to mark preformatted text."""
    lines = text.split("\n")
    assert all(line.startswith(" ") for line in lines if line), text
    return "\n".join(line[1:] for line in lines)


def pairs(text):
    """The key = value pairs of a xen-tools.conf, comments dropped."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, value = line.split("=", 1)
            out.append((key.strip(), value.strip()))
    return out


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """The legacy profile with the guide's values, run twice over the stock xend-config.sxp."""
    render_dir = tmp_path_factory.mktemp("seed")
    (render_dir / "etc" / "xen").mkdir(parents=True)
    (render_dir / "etc" / "xen" / "xend-config.sxp").write_text(XEND_STOCK.read_text())
    first = run_roles(render_dir, GOLDEN / "seed-vars.yml")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    second = run_roles(render_dir, GOLDEN / "seed-vars.yml")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    return render_dir, first, second


def test_menu_lst_matches_seed(seed_run):
    render_dir = seed_run[0]
    rendered = (render_dir / "boot/grub/menu.lst").read_text()
    assert strip_managed(rendered) == unwiki((GOLDEN / "menu.lst.digest").read_text())


def test_two_bridge_script_matches_seed(seed_run):
    render_dir = seed_run[0]
    script = render_dir / "etc/xen/scripts/kaks-silda.sh"
    assert strip_managed(script.read_text()) == (GOLDEN / "kaks-silda.sh").read_text()
    assert script.stat().st_mode & 0o777 == 0o755


def test_xend_config_has_seed_settings(seed_run):
    render_dir = seed_run[0]
    lines = (render_dir / "etc/xen/xend-config.sxp").read_text().splitlines()
    for wanted in (GOLDEN / "xend-config.sxp.digest").read_text().splitlines():
        assert lines.count(wanted) == 1, (wanted, lines)
    # The bridge mode's vif script goes with the network script.
    assert "(vif-script vif-bridge)" in lines


def test_xend_config_edited_as_the_guide_does(seed_run):
    """Each set line takes the place of the stock line or commented example; every other line stays."""
    render_dir = seed_run[0]
    stock = XEND_STOCK.read_text().splitlines()
    lines = (render_dir / "etc/xen/xend-config.sxp").read_text().splitlines()
    assert len(lines) == len(stock)
    edited = {stock[i]: lines[i] for i in range(len(stock)) if stock[i] != lines[i]}
    assert edited == {
        "(dom0-cpus 0)": "(dom0-cpus 1)",
        "#(vnc-listen '127.0.0.1')": "(vnc-listen '127.0.0.1')",
        "(network-script network-bridge)": "(network-script kaks-silda.sh)",
    }


def test_xen_tools_conf_matches_seed(seed_run):
    render_dir = seed_run[0]
    rendered = (render_dir / "etc/xen-tools/xen-tools.conf").read_text()
    assert pairs(rendered) == pairs((GOLDEN / "xen-tools.conf.digest").read_text())


def test_seed_run_twice_changes_nothing(seed_run):
    first, second = seed_run[1], seed_run[2]
    assert recap(first)["changed"] > 0
    assert recap(second)["changed"] == 0, second.stdout[-4000:]


@pytest.fixture(scope="module")
def current_run(tmp_path_factory):
    """The current profile with the live lab's values."""
    render_dir = tmp_path_factory.mktemp("current")
    proc = run_roles(render_dir, HERE / "current-vars.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return render_dir


def test_grub_dropin(current_run):
    text = strip_managed(
        (current_run / "etc/default/grub.d/zz-kuutorvaja-xen.cfg").read_text()
    )
    assert (
        "GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=1024M,max:1024M dom0_max_vcpus=2 "
        "console=com1 com1=115200,8n1'\n"
    ) in text
    assert "GRUB_CMDLINE_LINUX_XEN_REPLACE='console=hvc0 net.ifnames=0'\n" in text
    grub = (current_run / "etc/default/grub").read_text().splitlines()
    assert grub.count("XEN_OVERRIDE_GRUB_DEFAULT=1") == 1


def test_bridges_keep_nic_mac(current_run):
    text = (current_run / "etc/network/interfaces.d/xenbr0").read_text()
    assert "iface eth0 inet manual\n" in text
    assert "iface xenbr0 inet dhcp\n" in text
    assert "    bridge_ports eth0\n" in text
    assert "    hwaddress ether 52:54:00:12:34:56\n" in text
    static = (current_run / "etc/network/interfaces.d/xenbr1").read_text()
    assert "iface xenbr1 inet static\n    address 192.0.2.10/24\n" in static
    interfaces = (current_run / "etc/network/interfaces").read_text()
    assert "iface eth0" not in interfaces


def test_xl_conf_and_xendomains(current_run):
    xl_conf = (current_run / "etc/xen/xl.conf").read_text().splitlines()
    assert 'autoballoon="off"' in xl_conf
    assert 'vif.default.bridge="xenbr0"' in xl_conf
    assert 'vif.default.script="vif-bridge"' in xl_conf
    xendomains = (current_run / "etc/default/xendomains").read_text().splitlines()
    assert "XENDOMAINS_SAVE=/var/lib/xen/save" in xendomains
    assert "XENDOMAINS_RESTORE=true" in xendomains
    # No Debian file in the render dir: the key alone, timestamps following the log choice.
    xen_default = (current_run / "etc/default/xen").read_text().splitlines()
    assert xen_default == ["XENCONSOLED_ARGS='--log=guest --timestamp=guest'"]


def test_console_log_dir_made(current_run):
    """xenconsoled does not make its log directory: the role does, readable by adm as /var/log/xen."""
    log_dir = current_run / "var/log/xen/console"
    assert log_dir.is_dir()
    assert oct(log_dir.stat().st_mode & 0o7777) == "0o750"
    assert grp.getgrgid(log_dir.stat().st_gid).gr_name == "adm"


def test_console_logging_kept_in_debians_file_and_idempotent(tmp_path):
    """XENCONSOLED_ARGS joins Debian's /etc/default/xen, the rest kept; a second run changes nothing."""
    (tmp_path / "etc" / "default").mkdir(parents=True)
    stock = XEN_DEFAULT_STOCK.read_text()
    (tmp_path / "etc" / "default" / "xen").write_text(stock)
    extra = {"xen_hypervisor_console_log": "all", "xen_hypervisor_console_timestamp": "hv"}
    first = run_roles(tmp_path, HERE / "current-vars.yml", extra=extra)
    assert first.returncode == 0, first.stdout[-4000:]
    text = (tmp_path / "etc/default/xen").read_text()
    assert text == stock + "XENCONSOLED_ARGS='--log=all --timestamp=hv'\n"
    again = run_roles(tmp_path, HERE / "current-vars.yml", extra=extra)
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.stdout[-4000:]
    # Notified, but not a dom0: the reboot into Xen applies the arguments.
    for handler in ("Stop xenconsoled alone", "Start xenconsoled with its new arguments"):
        assert re.search(re.escape(handler) + r"\] \*+\nskipping: \[localhost\]", first.stdout), first.stdout[-4000:]


def test_xen_tools_never_prompts(current_run):
    conf = dict(pairs((current_run / "etc/xen-tools/xen-tools.conf").read_text()))
    assert conf["passwd"] == "0"
    assert conf["install-method"] == "debootstrap"


BAD = [
    # (variable files, extra vars, text the failure must contain)
    ("current", {"xen_network_mode": "bridged"}, "xen_network_mode"),
    ("current", {"xen_hypervisor_dom0_mem": "64T"}, "xen_hypervisor_dom0_mem"),
    ("current", {"xen_hypervisor_release": "hamm"}, "xen_hypervisor_release"),
    ("current", {"xen_hypervisor_console_log_dir": "/var/log/xen console"}, "console_log_dir must be an absolute path"),
    ("legacy", {"xen_hypervisor_release": "etch", "xen_hypervisor_console_log": "guest"},
     "console_log is for the current profile (xl) only"),
    (
        "current",
        {"xen_network_bridges": [{"bridge": "xenbr0"}]},
        "xen_network_bridges[0] (xenbr0): netdev is required",
    ),
]


@pytest.mark.parametrize("var_file,extra,message", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_variables_fail_before_any_change(tmp_path, var_file, extra, message):
    proc = run_roles(tmp_path, HERE / f"{var_file}-vars.yml", extra=extra)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr, proc.stdout[-3000:]
    assert recap(proc)["changed"] == 0
    assert not any(tmp_path.iterdir()), list(tmp_path.rglob("*"))


def test_hvm_refused_without_vmx_or_svm(tmp_path):
    """Off a dom0, HVM needs vmx or svm in /proc/cpuinfo: without them the role stops before any change."""
    with open("/proc/cpuinfo") as handle:
        flags = set(" ".join(line.split(":", 1)[1] for line in handle if line.startswith("flags")).split())
    if flags & {"vmx", "svm"}:
        pytest.skip("this host has vmx or svm")
    proc = run_roles(tmp_path, HERE / "current-vars.yml", extra={"xen_hypervisor_hvm": True})
    assert proc.returncode != 0
    assert "xen_hypervisor_hvm: HVM guests need Intel VT (vmx) or AMD-V (svm)" in proc.stdout, proc.stdout[-3000:]
    assert recap(proc)["changed"] == 0
    assert not any(tmp_path.iterdir()), list(tmp_path.rglob("*"))


def test_nat_mode(tmp_path):
    """NAT: a host-only bridge, forwarding and a masquerade table."""
    extra = {
        "xen_network_mode": "nat",
        "xen_network_nat_netdev": "eth0",
        "xen_network_bridges": [
            {"bridge": "xenbr0", "address": "10.99.0.1/24"},
        ],
    }
    proc = run_roles(tmp_path, HERE / "current-vars.yml", extra=extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    bridge = (tmp_path / "etc/network/interfaces.d/xenbr0").read_text()
    assert "iface xenbr0 inet static\n    address 10.99.0.1/24\n" in bridge
    assert "    bridge_ports none\n" in bridge
    assert f"    post-up nft -f {tmp_path}/etc/xen/kuutorvaja-nat.nft\n" in bridge
    nft = (tmp_path / "etc/xen/kuutorvaja-nat.nft").read_text()
    assert 'iifname "xenbr0" oifname "eth0" masquerade' in nft
    sysctl = (tmp_path / "etc/sysctl.d/60-kuutorvaja-xen.conf").read_text()
    assert "net.ipv4.ip_forward = 1" in sysctl.splitlines()


def test_route_mode(tmp_path):
    """Route: no bridge; xl routes vifs through the uplink."""
    extra = {
        "xen_network_mode": "route",
        "xen_network_route_netdev": "eth0",
        "xen_network_bridges": [],
    }
    proc = run_roles(tmp_path, HERE / "current-vars.yml", extra=extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    xl_conf = (tmp_path / "etc/xen/xl.conf").read_text().splitlines()
    assert 'vif.default.script="vif-route"' in xl_conf
    assert 'vif.default.gatewaydev="eth0"' in xl_conf
    assert not list((tmp_path / "etc/network/interfaces.d").iterdir())
    # The uplink keeps the dom0's address (DHCP by default).
    interfaces = (tmp_path / "etc/network/interfaces").read_text()
    assert "auto eth0\niface eth0 inet dhcp\n" in interfaces


def test_legacy_nat_mode_uses_xen_scripts(tmp_path):
    """Legacy NAT: Xen's own network-nat/vif-nat pair, no bridge script."""
    extra = {"xen_network_mode": "nat", "xen_network_bridges": []}
    proc = run_roles(tmp_path, GOLDEN / "seed-vars.yml", extra=extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    lines = (tmp_path / "etc/xen/xend-config.sxp").read_text().splitlines()
    assert "(network-script network-nat)" in lines
    assert "(vif-script vif-nat)" in lines
    assert not (tmp_path / "etc/xen/scripts").exists()


def test_preflight_once_per_plan(tmp_path):
    """site.yml's order checks each role once; run again with other variables, it is checked again."""
    proc = run_roles(tmp_path, playbook="recheck.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    # The main entry points of the first play skip the preflight that already passed.
    skipped = re.findall(
        r"TASK \[kuutorvaja\.xen\.(xen_hypervisor|xen_network) : Load the release profile and check the host "
        r"and the variables\] \*+\nskipping:", proc.stdout)
    assert skipped == ["xen_hypervisor", "xen_network"], proc.stdout[-4000:]
    # The reruns with bad values were refused (rescued) before writing anything.
    assert recap(proc)["rescued"] == 2
    assert recap(proc)["changed"] == 2


def test_translated_guide_setup_renders_on_current_debian(tmp_path):
    """The guide's xend-config.sxp and kaks-silda.sh, and our dom0 interfaces, translated, make the current profile's
    bridges with the dom0's addresses and its command line."""
    proc = run_roles(tmp_path, HERE / "legacy-vars.yml", playbook="legacy.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for bridge, nic, addressing in (("xenbr0", "eth0", "dhcp\n"), ("xenbr1", "eth1", "static\n    address 172.16.92.128/24\n")):
        text = (tmp_path / "etc/network/interfaces.d" / bridge).read_text()
        assert "iface %s inet manual\n" % nic in text
        assert "iface %s inet %s" % (bridge, addressing) in text
        assert "    bridge_ports %s\n" % nic in text
    dropin = (tmp_path / "etc/default/grub.d/zz-kuutorvaja-xen.cfg").read_text()
    assert "GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=196M,max:196M dom0_max_vcpus=1'\n" in dropin
    xl_conf = (tmp_path / "etc/xen/xl.conf").read_text().splitlines()
    assert 'vif.default.bridge="xenbr0"' in xl_conf
    assert 'vif.default.script="vif-bridge"' in xl_conf
    again = run_roles(tmp_path, HERE / "legacy-vars.yml", playbook="legacy.yml")
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.stdout[-4000:]
