# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the current-profile dom0 files and the live bridge from outside."""

import pytest

PACKAGES = ["xen-system-amd64", "xen-tools", "bridge-utils", "ifupdown"]


@pytest.mark.parametrize("name", PACKAGES)
def test_packages_installed(host, name):
    assert host.package(name).is_installed


def test_grub_makes_xen_the_default(host):
    grub = host.file("/etc/default/grub")
    assert grub.mode == 0o644
    assert grub.content_string.splitlines().count("XEN_OVERRIDE_GRUB_DEFAULT=1") == 1


def test_grub_dropin_has_dom0_settings(host):
    dropin = host.file("/etc/default/grub.d/zz-kuutorvaja-xen.cfg")
    assert dropin.user == "root" and dropin.mode == 0o644
    assert (
        "GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=1024M,max:1024M dom0_max_vcpus=2 "
        "console=com1 com1=115200,8n1'" in dropin.content_string
    )
    assert "GRUB_CMDLINE_LINUX_XEN_REPLACE='console=hvc0 net.ifnames=0'" in dropin.content_string


def test_debian_xen_grub_conffile_untouched(host):
    # Debian's conffile keeps its md5sum from the package.
    cmd = host.run("dpkg --verify xen-hypervisor-common")
    assert "/etc/default/grub.d/xen.cfg" not in cmd.stdout


def test_xl_conf(host):
    lines = host.file("/etc/xen/xl.conf").content_string.splitlines()
    assert 'autoballoon="off"' in lines
    assert 'vif.default.script="vif-bridge"' in lines
    assert 'vif.default.bridge="xenbr0"' in lines
    # Debian's documentation comments are kept.
    assert "## Global XL config file ##" in lines


def test_xendomains_policy(host):
    lines = host.file("/etc/default/xendomains").content_string.splitlines()
    # Shell values are single-quoted when they are not a plain word (the empty one too).
    assert "XENDOMAINS_SAVE=''" in lines
    assert "XENDOMAINS_RESTORE=false" in lines
    assert "XENDOMAINS_STOP_MAXWAIT=300" in lines


def test_console_logging(host):
    """XENCONSOLED_ARGS joins Debian's /etc/default/xen (ucf's copy), whose own lines stay."""
    default = host.file("/etc/default/xen")
    assert default.mode == 0o644
    lines = default.content_string.splitlines()
    assert lines.count("XENCONSOLED_ARGS='--log=guest --timestamp=guest'") == 1
    assert "#XENCONSOLED_TRACE=[none|guest|hv|all]" in lines
    assert "XENSTORED_ARGS=" in lines
    log_dir = host.file("/var/log/xen/console")
    assert log_dir.is_directory
    assert (log_dir.user, log_dir.group, log_dir.mode) == ("root", "adm", 0o750)


def test_xen_tools_conf(host):
    conf = host.file("/etc/xen-tools/xen-tools.conf")
    assert conf.mode == 0o644
    text = conf.content_string
    assert "install-method = debootstrap" in text
    assert "dist   = bookworm" in text
    assert "passwd = 0" in text
    assert "mirror = http://deb.debian.org/debian/" in text


def test_bridge_files(host):
    # The live swap copies the staged files, not the staging directories' modes.
    assert host.file("/etc/network").mode == 0o755
    assert host.file("/etc/network/interfaces.d").mode == 0o755
    bridge = host.file("/etc/network/interfaces.d/xenbr0")
    assert bridge.mode == 0o644
    mac = host.run("cat /sys/class/net/xnic0/address").stdout.strip()
    text = bridge.content_string
    assert "iface xnic0 inet manual" in text
    assert "bridge_ports xnic0" in text
    assert f"hwaddress ether {mac}" in text
    interfaces = host.file("/etc/network/interfaces").content_string
    assert "iface xnic0" not in interfaces
    assert "source /etc/network/interfaces.d/*" in interfaces


def test_nic_moved_into_live_bridge(host):
    ports = host.run("ip -o link show master xenbr0")
    assert ports.rc == 0 and " xnic0@" in ports.stdout
    assert "198.51.100.2/24" in host.run("ip -o -4 addr show dev xenbr0").stdout
    assert host.run("ip -o -4 addr show dev xnic0").stdout.strip() == ""


def test_bridge_keeps_nic_mac(host):
    nic = host.run("cat /sys/class/net/xnic0/address").stdout.strip()
    bridge = host.run("cat /sys/class/net/xenbr0/address").stdout.strip()
    assert nic and nic == bridge


def test_rollback_timer_gone(host):
    # Disarmed after converge, fired after side_effect's broken change.
    timer = host.run("systemctl is-active kuutorvaja-xen-network-rollback.timer")
    assert timer.stdout.strip() != "active"
    # The snapshot the rollback restored from.
    snapshot = host.file("/var/lib/kuutorvaja-xen/network/previous/interfaces.d/xenbr0")
    assert "address 198.51.100.2/24" in snapshot.content_string


def test_staging_area_consumed(host):
    # The apply script took every staged file (even for the change side_effect
    # broke on purpose), so the next run stages only what differs then.
    staged = host.run("find /var/lib/kuutorvaja-xen/network/next -type f")
    assert staged.rc == 0 and staged.stdout.strip() == ""
    assert host.file("/var/lib/kuutorvaja-xen/network/next/interfaces.d").is_directory
