# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation shared by the guest modules: names, MACs, sizes."""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_common import (
    GuestError,
    batch_result,
    derive_mac,
    guests_argument_spec,
    normalize_mac,
    parse_size,
    refuse_if_running,
    size_mib,
    validate_abs_path,
    validate_guest_name,
)


@pytest.mark.parametrize("name", ["web1", "xen.loomaaed.tartu.ee", "domU-1", "full-virt", "a" * 63])
def test_valid_names(name):
    assert validate_guest_name(name) == name


@pytest.mark.parametrize("name", ["", "web1;rm -rf /", "a b", "$(id)", "../etc", "-x", "x-", "web`1`", "a/b", "a" * 64, None])
def test_names_with_metacharacters_are_refused(name):
    with pytest.raises(GuestError, match="not a valid guest name"):
        validate_guest_name(name)


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


def test_guests_argument_spec_makes_one_guests_options_optional_and_adds_guests_and_toolstack():
    """At the top level nothing of the per-guest spec is required (it may come in ``guests``); the rest is kept."""
    item_spec = dict(
        name=dict(type="str", required=True, aliases=["hostname"]),
        size=dict(type="str", required=True),
        resize_fs=dict(type="bool", default=True),
    )
    assert guests_argument_spec(item_spec) == dict(
        name=dict(type="str", aliases=["hostname"]),
        size=dict(type="str"),
        resize_fs=dict(type="bool", default=True),
        guests=dict(type="list", elements="dict"),
        toolstack=dict(type="str", choices=["auto", "xl", "xm"], default="auto"),
    )
    assert item_spec["name"]["required"] and item_spec["size"]["required"]


def test_batch_result_lifts_the_guests_diffs_to_the_top():
    """Ansible prints only a top-level diff: a list run must put its guests' diffs there."""
    one = {"changed": True, "name": "a", "diff": {"before": "x\n", "after": "y\n"}}
    two = {"changed": False, "name": "b"}
    result = batch_result([one, two])
    assert result["changed"] is True
    assert result["diff"] == [one["diff"]]
    assert result["results"] == [one, two]


def test_batch_result_without_changes_has_no_diff():
    result = batch_result([{"changed": False, "name": "a"}])
    assert result == {"changed": False, "results": [{"changed": False, "name": "a"}]}
