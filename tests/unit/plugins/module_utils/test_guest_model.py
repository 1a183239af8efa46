# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest model: the one name rule, MACs, sizes, paths and the xen-tools config layout."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    autostart_link_for,
    autostarts,
    check_timeout,
    config_path_for,
    config_trust_problem,
    derive_mac,
    guest_ip,
    memory_mib,
    name_error,
    normalize_mac,
    normalize_nics,
    parse_size,
    refuse_if_running,
    size_mib,
    validate_abs_path,
    validate_dir,
    validate_guest_name,
    validate_volume_group,
    vcpu_count,
    within,
    xen_tools_layout,
)


@pytest.mark.parametrize("name", ["web1", "xen.loomaaed.tartu.ee", "domU-1", "full-virt", "web_1", "a+b", "x-", "1web",
                                  "a" * 128])
def test_valid_names(name):
    assert validate_guest_name(name) == name
    assert name_error(name) is None


@pytest.mark.parametrize("name", ["web1;rm -rf /", "a b", "$(id)", "../etc", "-x", "web`1`", "a/b", "_x", ".x",
                                  "web1\n", "web1\r", "web1\x00", "w\u00e9b"])
def test_names_with_metacharacters_or_trailing_newlines_are_refused(name):
    with pytest.raises(GuestError, match="not a valid guest name"):
        validate_guest_name(name)


@pytest.mark.parametrize("name, message", [
    ("", "must be a non-empty string"),
    (None, "must be a non-empty string"),
    ("a" * 129, "at most 128"),
    ("Domain-0", "control domain"),
    ("12345", "all digits"),
    ("web1--incoming", "migration placeholder"),
    ("migrating-web1", "migration placeholder"),
])
def test_the_one_name_rule_refuses_what_the_toolstack_cannot_manage(name, message):
    with pytest.raises(GuestError, match=message):
        validate_guest_name(name)
    assert message.split()[0] in name_error(name)


def test_mac_normalised_lower_case():
    assert normalize_mac("00:16:3E:2C:7E:EF") == "00:16:3e:2c:7e:ef"
    assert normalize_mac("00-16-3e-2c-7e-ef") == "00:16:3e:2c:7e:ef"


@pytest.mark.parametrize("mac, message", [
    ("01:16:3e:2c:7e:ef", "multicast"),
    ("ff:ff:ff:ff:ff:ff", "multicast"),
    ("00:00:00:00:00:00", "all-zero"),
    ("00:16:3e:2c:7e", "not a MAC"),
    ("zz:16:3e:2c:7e:ef", "not a MAC"),
])
def test_bad_macs_refused(mac, message):
    with pytest.raises(GuestError, match=message):
        normalize_mac(mac)


def test_derived_mac_is_stable_unicast_and_xen_oui():
    mac = derive_mac("web1")
    assert mac == derive_mac("web1")
    assert mac != derive_mac("web2")
    assert mac.startswith("00:16:3e:")
    assert normalize_mac(mac) == mac


@pytest.mark.parametrize("value, expected", [
    ("2G", 2 << 30), ("2Gb", 2 << 30), ("512M", 512 << 20), ("512MB", 512 << 20),
    ("1024", 1024 << 20), (1024, 1024 << 20), ("1.5G", 1536 << 20), ("4096K", 4 << 20),
])
def test_sizes(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "2X", "-1G", "0", "big", True, None, "1 2G"])
def test_bad_sizes_name_the_option(value):
    with pytest.raises(GuestError, match="^size="):
        parse_size(value, "size")


def test_size_mib_refuses_fractions():
    assert size_mib("2G") == 2048
    with pytest.raises(GuestError, match="whole number of MiB"):
        size_mib("1500K")


def test_refuse_if_running():
    refuse_if_running("web1", {"Domain-0"}, "grow its disk")
    with pytest.raises(GuestError, match="guest web1 is running.*grow its disk"):
        refuse_if_running("web1", {"Domain-0", "web1"}, "grow its disk")


@pytest.mark.parametrize("path", ["xen/test1.cfg", "/etc/xen/../passwd", "/etc/xen/..", "", None])
def test_paths_that_can_leave_their_directory_are_refused(path):
    with pytest.raises(GuestError, match="cfg=.* must be an absolute path without '..' components"):
        validate_abs_path(path, "cfg")


def test_plain_absolute_path_accepted():
    assert validate_abs_path("/etc/xen/web..1.cfg", "cfg") == "/etc/xen/web..1.cfg"


def test_config_and_autostart_paths_are_derived_once():
    assert config_path_for("web1") == "/etc/xen/web1.cfg"
    assert config_path_for("web1", "/srv/cfg") == "/srv/cfg/web1.cfg"
    assert autostart_link_for("web1") == "/etc/xen/auto/web1.cfg"


def test_autostarts_only_for_a_link_to_this_very_config(tmp_path):
    auto = tmp_path / "auto"
    auto.mkdir()
    config = str(tmp_path / "web1.cfg")
    assert not autostarts("web1", config, str(auto))
    (auto / "web1.cfg").symlink_to(str(tmp_path / "other.cfg"))
    assert not autostarts("web1", config, str(auto))
    (auto / "web1.cfg").unlink()
    (auto / "web1.cfg").symlink_to(config)
    assert autostarts("web1", config, str(auto))


def test_sizes_above_the_bound_are_refused():
    with pytest.raises(GuestError, match="larger than 64 TiB"):
        parse_size("999999G", "memory")


def test_xen_tools_layout_pygrub_dhcp_with_extra():
    layout = xen_tools_layout("web1", ["/d/disk.img", "/d/swap.img"], ["xvda2", "xvda1"], 512, 1,
                              normalize_nics([dict(mac="00:16:3e:00:00:01", bridge="xenbr0")], "web1"),
                              extra="net.ifnames=0")
    assert layout["type"] == "pygrub" and layout["extra"] == "net.ifnames=0" and layout["root"] == "/dev/xvda2 ro"
    assert layout["disks"] == [dict(target="/d/disk.img", vdev="xvda2"), dict(target="/d/swap.img", vdev="xvda1")]
    assert layout["vifs"] == [dict(mac="00:16:3e:00:00:01", bridge="xenbr0")]
    assert layout["settings"] == {"dhcp": "dhcp"} and layout["kernel"] is None


def test_xen_tools_layout_pv_static():
    nics = normalize_nics([dict(mac="00:16:3e:00:00:01", ip="10.0.0.5", netmask="255.255.255.0")], "web1")
    layout = xen_tools_layout("web1", ["/d/disk.img"], ["xvda1"], 256, 2, nics, pygrub=False, kernel="/boot/vmlinuz", initrd="", extra=None)
    assert layout["type"] == "pv" and layout["kernel"] == "/boot/vmlinuz" and layout["ramdisk"] is None
    assert layout["extra"] == "elevator=noop" and layout["settings"] is None
    assert layout["vifs"] == [dict(ip="10.0.0.5", mac="00:16:3e:00:00:01")]


# -- several NICs ----------------------------------------------------------------------------

GUIDE_NICS = [dict(bridge="xenbr0"), dict(bridge="xenbr1", ip="172.16.92.10", netmask="255.255.255.0")]


def test_derived_macs_per_nic_keep_nic_0_and_are_stable():
    assert derive_mac("web1", 0) == derive_mac("web1")
    assert derive_mac("web1", 1) == derive_mac("web1", 1) != derive_mac("web1", 2)
    assert derive_mac("web1", 1) not in (derive_mac("web1"), derive_mac("web2", 1))
    assert derive_mac("web1", 1).startswith("00:16:3e:") and normalize_mac(derive_mac("web1", 1)) == derive_mac("web1", 1)


def test_the_guides_two_nics_are_filled_in():
    assert normalize_nics(GUIDE_NICS, "web1") == [
        dict(bridge="xenbr0", mac=derive_mac("web1"), ip=[], netmask=None, gateway=None),
        dict(bridge="xenbr1", mac=derive_mac("web1", 1), ip=["172.16.92.10"], netmask="255.255.255.0", gateway=None),
    ]


@pytest.mark.parametrize("nics, bridge, expected", [
    # bridge falls back to the guest's; a given MAC is normalised; ip may be a list; None keys are left out.
    ([dict(mac="00:16:3E:00:00:0A"), dict(bridge=None, ip=["10.0.0.5", "10.0.0.6"], netmask="255.255.255.0",
                                          gateway="10.0.0.1")], "xenbr0",
     [dict(bridge="xenbr0", mac="00:16:3e:00:00:0a", ip=[], netmask=None, gateway=None),
      dict(bridge="xenbr0", mac=derive_mac("web1", 1), ip=["10.0.0.5", "10.0.0.6"], netmask="255.255.255.0",
           gateway="10.0.0.1")]),
    ([dict(ip=None, mac=None, bridge="", netmask=None, gateway=None)], None,
     [dict(bridge=None, mac=derive_mac("web1"), ip=[], netmask=None, gateway=None)]),
])
def test_nics_defaults(nics, bridge, expected):
    assert normalize_nics(nics, "web1", bridge) == expected


@pytest.mark.parametrize("nics, given, message", [
    ([dict(mac="00:16:3e:00:00:01"), dict(mac="00:16:3E:00:00:01")], (),
     "nics[1].mac=00:16:3e:00:00:01 is the MAC of nics[0] too; each NIC of a guest needs its own"),
    ([dict(mac=derive_mac("web1", 1)), dict()], (), "nics[1].mac=%s is the MAC of nics[0] too" % derive_mac("web1", 1)),
    ([dict(ip="10.0.0.5", netmask="255.255.255.0", gateway="10.0.0.1"),
      dict(ip="10.1.0.5", netmask="255.255.255.0", gateway="10.1.0.1")], (),
     "nics: gateway is given on nics[0] and nics[1]; a guest has one default gateway"),
    (GUIDE_NICS, ("ip", "gateway"), "nics replaces the guest's own ip, gateway: give address, MAC, netmask and gateway per NIC"),
    ([dict(), dict(bridge="br1;reboot")], (), "nics[1].bridge='br1;reboot' is not an interface name"),
    ([dict(), dict(ip="172.16.92.300", netmask="255.255.255.0")], (), "nics[1].ip='172.16.92.300' is not an IPv4 address"),
    ([dict(ip="172.16.92.0", netmask="255.255.255.0")], (), "nics[0].ip=172.16.92.0 is the network address of 172.16.92.0/24"),
    ([dict(ip=[{"a": 1}])], (), "nics[0].ip=[{'a': 1}] must be an address or a list of addresses"),
    ([dict(ip="10.0.0.5")], (), "nics[0].netmask is required with nics[0].ip"),
    ([dict(ip="10.0.0.5", netmask="255.0.255.0")], (), "nics[0].netmask='255.0.255.0' is not a netmask"),
    ([dict(gateway="10.0.0.1")], (), "nics[0].gateway is for a static address; give nics[0].ip too"),
    ([dict(ip="10.0.0.5", netmask="255.255.255.0", gateway="router")], (), "nics[0].gateway='router' is not an IPv4 address"),
    ([dict(mac="01:00:5e:00:00:01")], (), "nics[0].mac=01:00:5e:00:00:01 is a multicast address"),
    ([], (), "nics must be a non-empty list of NICs"),
    (["xenbr0"], (), "nics[0] must be a dict"),
    ([dict(vlan=5)], (), "nics[0] has unknown keys vlan"),
])
def test_bad_nics_are_refused_naming_the_option(nics, given, message):
    with pytest.raises(GuestError) as raised:
        normalize_nics(nics, "web1", "xenbr0", given)
    assert message in str(raised.value)


def test_xen_tools_layout_one_vif_per_nic_ip_only_for_a_static_nic_0():
    nics = normalize_nics([dict(bridge="xenbr0", ip="10.0.0.5", netmask="255.255.255.0"),
                           dict(bridge="xenbr1", ip="172.16.92.10", netmask="255.255.255.0"), dict()], "web1")
    layout = xen_tools_layout("web1", ["/d/disk.img"], ["xvda1"], 512, 1, nics)
    assert layout["vifs"] == [dict(ip="10.0.0.5", mac=derive_mac("web1"), bridge="xenbr0"),
                              dict(mac=derive_mac("web1", 1), bridge="xenbr1"),
                              dict(mac=derive_mac("web1", 2))]
    assert layout["settings"] is None and layout["type"] == "pygrub"
    dhcp = xen_tools_layout("web1", ["/d/disk.img"], ["xvda1"], 512, 1, normalize_nics(GUIDE_NICS, "web1"))
    assert dhcp["settings"] == {"dhcp": "dhcp"} and [v.get("ip") for v in dhcp["vifs"]] == [None, None]


def test_a_listed_nic_without_mac_gets_the_derived_one():
    listed = xen_tools_layout("web1", ["/d/disk.img"], ["xvda1"], 256, 2, normalize_nics([dict(bridge="xenbr0")], "web1"))
    assert listed["vifs"] == [dict(mac=derive_mac("web1"), bridge="xenbr0")] and listed["settings"] == {"dhcp": "dhcp"}


def test_xen_tools_layout_pvh():
    layout = xen_tools_layout("web1", ["/d/disk.img", "/d/swap.img"], ["xvda2", "xvda1"], 512, 1,
                              normalize_nics([dict()], "web1"), kernel="/boot/vmlinuz", initrd="/boot/initrd.img",
                              extra="net.ifnames=0", boot="pvh")
    assert layout["type"] == "pvh" and layout["kernel"] == "/boot/vmlinuz" and layout["ramdisk"] == "/boot/initrd.img"
    assert layout["root"] == "/dev/xvda2 ro" and layout["extra"] == "console=hvc0 net.ifnames=0"


def test_a_size_of_hundreds_of_digits_is_too_large_not_an_overflow():
    with pytest.raises(GuestError, match="is larger than 64 TiB"):
        parse_size("1" + "0" * 400)


@pytest.mark.parametrize("value, message", [
    (0, "shutdown_timeout must be a positive number of seconds, got 0"),
    (7 * 24 * 3600 + 1, "is more than a week"),
    (10 ** 400, "is more than a week"),
], ids=["zero", "week-and-a-second", "huge"])
def test_timeouts_are_bounded(value, message):
    with pytest.raises(GuestError, match=message):
        check_timeout(value, "shutdown_timeout")
    assert check_timeout(300, "shutdown_timeout") == 300


@pytest.mark.parametrize("path", ["/srv/xen", "/", "/data/domains", "/srv/xen.d/a-b"])
def test_normalised_directories_accepted(path):
    assert validate_dir(path, "dir") == path


@pytest.mark.parametrize("path, message", [
    ("srv/xen", "dir='srv/xen' must be an absolute path"),
    ("/srv/../etc", "without '..' components"),
    ("/srv/xen/..", "without '..' components"),
    ("/srv/xen/", "is not a normalised path"),
    ("/srv//xen", "is not a normalised path"),
    ("/srv/./xen", "is not a normalised path"),
    ("/srv/xen\x00", "without '..' components"),
    ("", "dir must be a non-empty absolute path"),
    (None, "dir must be a non-empty absolute path"),
])
def test_directories_that_are_not_plain_are_refused(path, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        validate_dir(path, "dir")


@pytest.mark.parametrize("path, directory, inside", [
    ("/etc/xen/web1.cfg", "/etc/xen", True),
    ("/etc/xen/guests/web1.cfg", "/etc/xen", True),
    ("/etc/xenother/web1.cfg", "/etc/xen", False),
    ("/etc/passwd", "/etc/xen", False),
    ("/srv/web1.cfg", "/", True),
])
def test_within(path, directory, inside):
    assert within(path, directory) is inside


@pytest.mark.parametrize("name", ["vg0", "xen-vg", "vg_data", "VG.1", "a+b", "_vg", "v" * 127])
def test_volume_group_names_lvm_accepts(name):
    assert validate_volume_group(name) == name


@pytest.mark.parametrize("name, message", [
    ("..", "lvm='..' is not a volume group name"),
    (".", "lvm='.' is not a volume group name"),
    ("-vg", "not starting with '-'"),
    ("vg0/../..", "is not a volume group name"),
    ("vg 0", "is not a volume group name"),
    ("vg0\n", "is not a volume group name"),
    ("vg;reboot", "is not a volume group name"),
    ("v" * 128, "is 128 characters long; lvm allows at most 127"),
    ("snapshot1", "holds 'snapshot', which lvm reserves"),
    ("pvmove", "holds 'pvmove', which lvm reserves"),
    ("data_tmeta", "holds '_tmeta', which lvm reserves"),
    ("", "lvm must be a non-empty volume group name"),
])
def test_volume_group_names_lvm_refuses(name, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        validate_volume_group(name)


@pytest.mark.parametrize("value, mask, message", [
    ("255.255.255.255", None, "ip=255.255.255.255 is the limited broadcast address"),
    ("0.0.0.0", None, "is the unspecified address"),
    ("127.0.0.1", None, "is a loopback address"),
    ("239.1.2.3", None, "is a multicast address"),
    ("250.0.0.1", None, "is in the reserved range 240.0.0.0/4"),
    ("10.0.0.0", "255.255.255.0", "ip=10.0.0.0 is the network address of 10.0.0.0/24"),
    ("10.0.0.255", "255.255.255.0", "ip=10.0.0.255 is the broadcast address of 10.0.0.0/24"),
    ("10.0.0.300", None, "ip='10.0.0.300' is not an IPv4 address"),
])
def test_addresses_no_guest_nic_can_have_are_refused(value, mask, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        guest_ip(value, "ip", mask)


@pytest.mark.parametrize("value, mask", [("10.0.0.5", None), ("10.0.0.255", None), ("10.0.0.255", "255.255.0.0"),
                                         ("192.168.1.1", "255.255.255.254")])
def test_guest_addresses_accepted(value, mask):
    assert guest_ip(value, "ip", mask) == value


@pytest.mark.parametrize("value, message", [
    (0, "vcpus=0 must be at least 1"),
    (-1, "vcpus=-1 must be at least 1"),
    (100000, "vcpus=100000 is more than 512 virtual CPUs"),
    ("many", "vcpus='many' is not a number of virtual CPUs"),
    (True, "vcpus=True is not a number of virtual CPUs"),
])
def test_vcpu_bounds(value, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        vcpu_count(value)


def test_vcpu_count_default_and_top():
    assert vcpu_count(None) == 1 and vcpu_count(512) == 512 and vcpu_count("4") == 4


@pytest.mark.parametrize("value, message", [
    ("999999G", "memory='999999G' is larger than 64 TiB"),
    ("17T", "memory='17T' is more than 16 TiB"),
    ("0", "memory='0' must be larger than zero"),
])
def test_memory_bounds(value, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        memory_mib(value)


def test_memory_top_accepted():
    assert memory_mib("16T") == 16 * 1024 * 1024 and memory_mib("256M") == 256


def _trusted_tree(tmp_path):
    conf = tmp_path / "etc" / "xen"
    conf.mkdir(parents=True)
    os.chmod(str(tmp_path / "etc"), 0o755)
    os.chmod(str(conf), 0o755)
    cfg = conf / "web1.cfg"
    cfg.write_text("name = 'web1'\n")
    os.chmod(str(cfg), 0o644)
    return cfg


def test_a_root_only_config_is_trusted(tmp_path):
    cfg = _trusted_tree(tmp_path)
    assert config_trust_problem(str(cfg), top=str(tmp_path), uid=os.getuid()) is None


@pytest.mark.parametrize("change, message", [
    (lambda t, c: os.chmod(str(c), 0o646), "config {cfg} is world-writable (mode 0646)"),
    (lambda t, c: os.chmod(str(c), 0o664), "config {cfg} is group-writable (mode 0664)"),
    (lambda t, c: os.chmod(str(t / "etc"), 0o1777), "directory {top}/etc is world-writable (mode 1777)"),
    (lambda t, c: os.chmod(str(t), 0o775), "directory {top} is group-writable (mode 0775)"),
])
def test_configs_others_can_change_are_not_trusted(tmp_path, change, message):
    cfg = _trusted_tree(tmp_path)
    os.chmod(str(tmp_path), 0o755)
    change(tmp_path, cfg)
    problem = config_trust_problem(str(cfg), top=str(tmp_path), uid=os.getuid())
    assert problem == message.format(cfg=cfg, top=tmp_path)


def test_another_owner_is_not_trusted(tmp_path):
    cfg = _trusted_tree(tmp_path)
    assert config_trust_problem(str(cfg), top=str(tmp_path), uid=os.getuid() + 1) == (
        "config %s is owned by uid %d, not root" % (cfg, os.getuid()))


def test_a_symlink_is_judged_by_what_it_resolves_to(tmp_path):
    cfg = _trusted_tree(tmp_path)
    os.chmod(str(tmp_path), 0o755)
    elsewhere = tmp_path / "open"
    elsewhere.mkdir()
    os.chmod(str(elsewhere), 0o777)
    target = elsewhere / "web1.cfg"
    target.write_text("name = 'web1'\n")
    os.chmod(str(target), 0o644)
    cfg.unlink()
    cfg.symlink_to(target)
    assert config_trust_problem(str(cfg), top=str(tmp_path), uid=os.getuid()) == (
        "directory %s is world-writable (mode 0777)" % elsewhere)


def test_every_ancestor_up_to_root_is_checked(tmp_path):
    """By default the check climbs to /: a config below the world-writable /tmp is not trusted."""
    cfg = _trusted_tree(tmp_path)
    os.chmod(str(tmp_path), 0o755)
    problem = config_trust_problem(str(cfg))
    assert problem is not None and ("is world-writable" in problem or "is owned by uid" in problem)


def test_a_missing_config_is_not_trusted(tmp_path):
    assert config_trust_problem(str(tmp_path / "none.cfg")) == "config %s is not a regular file" % (tmp_path / "none.cfg")
