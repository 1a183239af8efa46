# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify, from outside, the dom0 that site.yml converged in the real-Xen lab.

The expected values are the lab's group_vars
(lab/inventory/group_vars/xen_dom0.yml): change them together.
"""

import json
import re
import time

import pytest

DOM0_MEM_MIB = 1024
XEN_CMDLINE_TOKENS = [
    f"dom0_mem={DOM0_MEM_MIB}M,max:{DOM0_MEM_MIB}M",
    "dom0_max_vcpus=1",
    "console=com1",
    "com1=115200,8n1",
]
# xen_hypervisor_console_log: guest (timestamps follow it); the guest that
# site.yml converged (test_guest.py).
XENCONSOLED_ARGS = "--log=guest --timestamp=guest"
GUEST_CONSOLE_LOG = "/var/log/xen/console/guest-kxlab1.log"


def xl_info(host):
    """Return `xl info` as a dict of its "key : value" lines."""
    out = host.check_output("LC_ALL=C xl info")
    info = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def test_host_is_dom0_on_xen_4_17(host):
    """The host runs as Xen's control domain, on bookworm's Xen 4.17."""
    caps = host.file("/proc/xen/capabilities")
    assert caps.exists
    assert "control_d" in caps.content_string
    assert xl_info(host)["xen_version"].startswith("4.17.")


def test_xen_booted_with_the_roles_command_line(host):
    """GRUB took the role's hypervisor settings and the reboot applied them."""
    running = xl_info(host)["xen_commandline"].split()
    for token in XEN_CMDLINE_TOKENS:
        assert token in running
    grub_cfg = host.file("/boot/grub/grub.cfg").content_string
    assert f"dom0_mem={DOM0_MEM_MIB}M,max:{DOM0_MEM_MIB}M" in grub_cfg


def test_dom0_resources_follow_the_command_line(host):
    """dom0 has the memory and the one vCPU the guide recommends."""
    # xl list: Name ID Mem VCPUs State Time(s); `xl list -l` has no vCPUs for dom0.
    name, domid, mem_mib, vcpus = host.check_output("xl list Domain-0").splitlines()[1].split()[:4]
    assert (name, domid, vcpus) == ("Domain-0", "0", "1")
    # Xen keeps a little back from a fixed dom0_mem.
    assert DOM0_MEM_MIB * 0.95 <= int(mem_mib) <= DOM0_MEM_MIB


@pytest.mark.parametrize("package", ["xen-system-amd64", "xen-tools", "bridge-utils"])
def test_packages_installed(host, package):
    """The role installed the current profile's packages."""
    assert host.package(package).is_installed


@pytest.mark.parametrize("package", ["qemu-system-xen", "seabios"])
def test_hvm_packages_installed(host, package):
    """xen_hypervisor_hvm: the device model and the BIOS hvmloader loads are installed."""
    assert host.package(package).is_installed


def test_hypervisor_offers_hvm(host):
    """The role's HVM check passed on the hypervisor's own word (xl info's virt_caps)."""
    caps = [line for line in host.check_output("xl info").splitlines() if line.startswith("virt_caps")]
    assert caps and "hvm" in caps[0].split(":", 1)[1].split()


def test_toolstack_answers(host):
    """xenstored serves the dom0's own entry, so xl can manage guests."""
    assert host.check_output("xenstore-read /local/domain/0/name") == "Domain-0"
    assert host.service("xen").is_running


def test_xl_conf_autoballoon_off(host):
    """dom0 memory is fixed, so xl must not balloon it."""
    assert host.file("/etc/xen/xl.conf").contains('^autoballoon="off"')


def test_bridge_takes_over_eth0(host):
    """xenbr0 holds eth0 and the dom0's address, as in the guide's bridge mode."""
    assert host.file("/sys/class/net/xenbr0/bridge").is_directory
    assert host.file("/sys/class/net/eth0/master").linked_to == "/sys/devices/virtual/net/xenbr0"
    addrs = json.loads(host.check_output("ip -j -4 addr show dev xenbr0"))
    assert [a["local"] for a in addrs[0]["addr_info"]] == ["10.0.2.15"]
    # ip -j lists no entry at all for a device without IPv4 addresses.
    eth0 = json.loads(host.check_output("ip -j -4 addr show dev eth0"))
    assert not any(entry.get("addr_info") for entry in eth0)


def test_second_bridge_takes_over_eth1_with_the_guides_gateway_address(host):
    """xenbr1 holds eth1 (the lab's host-only NIC) and the dom0's static 172.16.92.128/24, as the guide's xenbr1."""
    assert host.file("/sys/class/net/eth1/master").linked_to == "/sys/devices/virtual/net/xenbr1"
    addrs = json.loads(host.check_output("ip -j -4 addr show dev xenbr1"))
    assert [(a["local"], a["prefixlen"]) for a in addrs[0]["addr_info"]] == [("172.16.92.128", 24)]
    # Nothing on the host-only network is routed out through xenbr0.
    route = json.loads(host.check_output("ip -j route get 172.16.92.2"))
    assert route[0]["dev"] == "xenbr1"


def test_xen_tools_conf(host):
    """xen-create-image's defaults are the scenario's (the guide's keys)."""
    conf = {}
    for line in host.file("/etc/xen-tools/xen-tools.conf").content_string.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            conf[key.strip()] = value.strip()
    assert conf["dir"] == "/data"
    assert conf["size"] == "2G"
    assert conf["memory"] == "256M"
    assert conf["fs"] == "ext4"
    assert conf["dist"] == "bookworm"
    # passwd = 1 would prompt on a terminal that an unattended run lacks.
    assert conf["passwd"] == "0"


def xenconsoled_argv(host):
    """The running xenconsoled's argv, from its pid file or, failing that, pgrep."""
    pid = host.run("cat /run/xenconsoled.pid").stdout.strip()
    if not pid.isdigit() or not host.file(f"/proc/{pid}/cmdline").exists:
        pids = host.check_output("pgrep -x xenconsoled").split()
        assert len(pids) == 1, f"one xenconsoled expected, found {pids}"
        pid = pids[0]
    # NUL-separated; read through tr so that no NUL goes through the shell's output.
    return host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/cmdline").splitlines()


def test_console_logging_set_in_etc_default_xen(host):
    """The role set XENCONSOLED_ARGS in Debian's /etc/default/xen, whose own lines stay."""
    lines = host.file("/etc/default/xen").content_string.splitlines()
    assert lines.count(f"XENCONSOLED_ARGS='{XENCONSOLED_ARGS}'") == 1
    assert "XENSTORED_ARGS=" in lines


def test_xenconsoled_runs_with_the_log_arguments(host):
    """Debian's init script started xenconsoled with them (at boot, or the role's restart)."""
    argv = xenconsoled_argv(host)
    assert argv[0].endswith("/xenconsoled")
    for word in XENCONSOLED_ARGS.split():
        assert word in argv


def test_guest_console_is_logged(host):
    """xenconsoled writes the running guest's console to its log.

    A guest that booted before logging was on (a reused lab) may print
    nothing more: then SysRq h has its kernel print its help on the console.
    """
    log = host.file(GUEST_CONSOLE_LOG)
    for attempt in range(30):
        if log.exists and log.size > 0:
            break
        if attempt == 5:
            host.run("xl sysrq kxlab1 h")
        time.sleep(2)
        log = host.file(GUEST_CONSOLE_LOG)
    assert log.exists, f"{GUEST_CONSOLE_LOG} is missing"
    assert log.size > 0, f"{GUEST_CONSOLE_LOG} is empty"
    # --timestamp=guest: xenconsoled starts the guest's lines with "[YYYY-MM-DD HH:MM:SS] ".
    text = host.check_output(f"head -c 65536 {GUEST_CONSOLE_LOG}")
    assert re.search(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ", text, re.M), text[:500]
