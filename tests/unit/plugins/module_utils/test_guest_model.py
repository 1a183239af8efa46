# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest model: the one name rule, MACs, sizes, paths and the xen-tools config layout."""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    autostart_link_for,
    autostarts,
    check_timeout,
    config_path_for,
    derive_mac,
    name_error,
    normalize_mac,
    parse_size,
    refuse_if_running,
    size_mib,
    validate_abs_path,
    validate_guest_name,
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
                              "00:16:3e:00:00:01", bridge="xenbr0", extra="net.ifnames=0")
    assert layout["type"] == "pygrub" and layout["extra"] == "net.ifnames=0" and layout["root"] == "/dev/xvda2 ro"
    assert layout["disks"] == [dict(target="/d/disk.img", vdev="xvda2"), dict(target="/d/swap.img", vdev="xvda1")]
    assert layout["vifs"] == [dict(mac="00:16:3e:00:00:01", bridge="xenbr0")]
    assert layout["settings"] == {"dhcp": "dhcp"} and layout["kernel"] is None


def test_xen_tools_layout_pv_static():
    layout = xen_tools_layout("web1", ["/d/disk.img"], ["xvda1"], 256, 2, "00:16:3e:00:00:01", ip="10.0.0.5",
                              pygrub=False, kernel="/boot/vmlinuz", initrd="", extra=None)
    assert layout["type"] == "pv" and layout["kernel"] == "/boot/vmlinuz" and layout["ramdisk"] is None
    assert layout["extra"] == "elevator=noop" and layout["settings"] is None
    assert layout["vifs"] == [dict(ip="10.0.0.5", mac="00:16:3e:00:00:01")]


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
