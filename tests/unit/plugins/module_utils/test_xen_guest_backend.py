# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The xen_guest backend's decisions as data: merging entries over defaults, translating them, power steps."""

from __future__ import annotations

import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError, derive_mac, xen_tools_layout
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import config_request
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import spec_from_params

ROLE_DEFAULTS = dict(state="running", autostart=True, dist="bookworm", install_method="tar",
                     install_source="/srv/xenlab/guest.tar", mirror="", dir="/data", lvm="", config_dir="/etc/xen",
                     memory="512M", vcpus=1, disk_size="2G", swap="128M", noswap=False, fs="ext4", image="sparse",
                     bridge="xenbr0", boot="pygrub", kernel="", initrd="", extra="net.ifnames=0",
                     xen_tools_roles=[], authorized_keys=[], root_password_hash="",
                     fixes=dict(console_kmap=False, lib_tls=False, check_udev_mac=False))


def entry(**keys):
    return xen_guest.guest_entries([dict(name="web1", **keys)], ROLE_DEFAULTS)[0]


# -- merging ---------------------------------------------------------------------------------

def test_an_entry_wins_over_defaults_which_win_over_the_builtin_ones():
    merged = xen_guest.guest_entries([dict(name="web1", memory="1G", vcpus=None)], dict(memory="256M", vcpus=2))[0]
    assert merged["memory"] == "1G"          # the entry's own
    assert merged["vcpus"] == 2              # null in the entry: the default
    assert merged["disk_size"] == "2G"       # neither: the module's own default
    assert merged["lvm"] is None


def test_fixes_merge_key_by_key():
    merged = xen_guest.guest_entries([dict(name="web1", fixes=dict(lib_tls=True, console_kmap=None))],
                                     dict(fixes=dict(console_kmap=True)))[0]
    assert merged["fixes"] == dict(console_kmap=True, lib_tls=True, check_udev_mac=False)


@pytest.mark.parametrize("guests, message", [
    ([dict(name="a"), dict(name="a")], "each name may appear once; repeated: a"),
    ([dict(memory="1G")], r"guests\[0\]: name is required"),
])
def test_bad_lists_are_refused(guests, message):
    with pytest.raises(GuestError, match=message):
        xen_guest.guest_entries(guests, {})


# -- the plan: every entry checked before anything runs ----------------------------------------

def test_the_plan_translates_every_entry_once():
    planned = xen_guest.plan_guests(dict(guests=[dict(name="web1", disk_size="8G"), dict(name="old", state="absent")],
                                         defaults=ROLE_DEFAULTS))
    assert [(g.entry["name"], g.disk_bytes, g.request is None) for g in planned] == [
        ("web1", 8 * 1024 ** 3, False), ("old", None, True)]
    assert planned[0].spec.hostname == "web1" and planned[0].image["size"] == "8G"


@pytest.mark.parametrize("bad, message", [
    (dict(disk_size="lots"), r"guests\[1\] \(web2\): disk_size"),
    (dict(disk_size="65T"), r"guests\[1\] \(web2\): disk_size"),
    (dict(mac="01:00:5e:00:00:01"), r"guests\[1\] \(web2\): .*multicast"),
    (dict(ip="10.0.0.300"), r"guests\[1\] \(web2\): "),
])
def test_a_bad_entry_anywhere_stops_the_plan(bad, message):
    with pytest.raises(GuestError, match=message):
        xen_guest.plan_guests(dict(guests=[dict(name="web1"), dict(name="web2", **bad)], defaults=ROLE_DEFAULTS))


# -- translation into the single-object backends' options --------------------------------------

@pytest.mark.parametrize("keys, expected", [
    ({}, dict(dhcp=True, ip=None, pygrub=True, kernel=None, dir="/data", lvm=None, size="2G", mirror=None)),
    (dict(ip="10.0.0.5", gateway="10.0.0.1"), dict(dhcp=False, ip=["10.0.0.5"], gateway="10.0.0.1")),
    (dict(ip=["10.0.0.5", "10.0.0.6"]), dict(dhcp=False, ip=["10.0.0.5", "10.0.0.6"])),
    (dict(boot="pv", kernel="/boot/vmlinuz", initrd="/boot/initrd.img"),
     dict(pygrub=False, kernel="/boot/vmlinuz", initrd="/boot/initrd.img")),
    (dict(boot="pygrub", kernel="/boot/vmlinuz"), dict(pygrub=True, kernel=None)),
    (dict(lvm="vg0"), dict(dir=None, lvm="vg0")),
    (dict(state="absent"), dict(state="absent")),
    (dict(state="shutdown"), dict(state="present")),
    (dict(bridge=""), dict(bridge=None)),
    (dict(xen_tools_roles=["udev"], disk_size="8G"), dict(roles=["udev"], size="8G")),
])
def test_image_params(keys, expected):
    params = xen_guest.image_params(entry(**keys))
    assert {k: params[k] for k in expected} == expected


def test_a_bad_ip_value_is_refused():
    with pytest.raises(GuestError, match="must be an address or a list of addresses"):
        xen_guest.image_params(entry(ip=[{"a": 1}]))


def test_config_params_are_xen_tools_layout_plus_extra():
    guest = entry()
    spec = spec_from_params(xen_guest.image_params(guest))
    params = xen_guest.config_params(guest, spec)
    assert params["path"] == "/etc/xen/web1.cfg" and params["state"] == "present"
    assert params["type"] == "pygrub" and params["extra"] == "net.ifnames=0"
    assert params["disks"] == [dict(target="/data/domains/web1/disk.img", vdev="xvda2"),
                               dict(target="/data/domains/web1/swap.img", vdev="xvda1")]
    assert params["vifs"] == [dict(mac=derive_mac("web1"), bridge="xenbr0")]


def test_config_params_pv_static():
    guest = entry(boot="pv", kernel="/boot/vmlinuz", ip="10.0.0.5", noswap=True, extra="")
    params = xen_guest.config_params(guest, spec_from_params(xen_guest.image_params(guest)))
    assert params["type"] == "pv" and params["kernel"] == "/boot/vmlinuz" and params["extra"] == "elevator=noop"
    assert params["root"] == "/dev/xvda1 ro" and params["settings"] is None
    assert params["vifs"][0]["ip"] == "10.0.0.5"


# -- several NICs and PVH ----------------------------------------------------------------------

GUIDE_NICS = [dict(bridge=None, mac=None, ip=None, netmask=None, gateway=None),
              dict(bridge="xenbr1", mac=None, ip="172.16.92.10", netmask="255.255.255.0", gateway=None)]


@pytest.mark.parametrize("keys, expected", [
    (dict(nics=GUIDE_NICS), dict(dhcp=False, ip=None, nics=GUIDE_NICS, bridge="xenbr0", pygrub=True, pvh=False)),
    (dict(boot="pvh", kernel="/boot/vmlinuz", initrd="/boot/initrd.img"),
     dict(dhcp=True, nics=None, pygrub=False, pvh=True, kernel="/boot/vmlinuz", initrd="/boot/initrd.img")),
])
def test_image_params_nics_and_pvh(keys, expected):
    params = xen_guest.image_params(entry(**keys))
    assert {k: params[k] for k in expected} == expected


def test_config_params_one_vif_per_nic_with_the_entrys_bridge_as_default():
    guest = entry(nics=GUIDE_NICS)
    spec = spec_from_params(xen_guest.image_params(guest))
    params = xen_guest.config_params(guest, spec)
    assert params["vifs"] == [dict(mac=derive_mac("web1"), bridge="xenbr0"), dict(mac=derive_mac("web1", 1), bridge="xenbr1")]
    assert params["settings"] == {"dhcp": "dhcp"}
    # The config the role writes is the one the image step wrote for a fresh guest (plus extra).
    settings = config_request(params)[2]
    assert settings["vif"] == ["mac=%s,bridge=xenbr0" % derive_mac("web1").upper(),
                               "mac=%s,bridge=xenbr1" % derive_mac("web1", 1).upper()]


def test_without_nics_the_config_params_are_unchanged():
    """The layout of an entry without nics, as the one-NIC form gives it (what every guest had before)."""
    guest = entry(ip="10.0.0.5", bridge="xenbr1")
    spec = spec_from_params(xen_guest.image_params(guest))
    params = xen_guest.config_params(guest, spec)
    assert params["vifs"] == [dict(ip="10.0.0.5", mac=spec.mac, bridge="xenbr1")] and params["settings"] is None
    one_nic = xen_tools_layout(spec.hostname, spec.disk_paths, spec.disk_vdevs, spec.memory_mib, spec.vcpus, spec.nics,
                               pygrub=True, extra="net.ifnames=0")
    assert {k: v for k, v in params.items() if k in one_nic} == one_nic


def test_config_params_pvh():
    guest = entry(boot="pvh", kernel="/boot/vmlinuz", initrd="/boot/initrd.img")
    params = xen_guest.config_params(guest, spec_from_params(xen_guest.image_params(guest)))
    assert params["type"] == "pvh" and params["kernel"] == "/boot/vmlinuz" and params["ramdisk"] == "/boot/initrd.img"
    assert params["extra"] == "console=hvc0 net.ifnames=0" and params["root"] == "/dev/xvda2 ro"
    settings = config_request(params)[2]
    assert settings["type"] == "pvh" and "bootloader" not in settings


@pytest.mark.parametrize("bad, message", [
    (dict(nics=GUIDE_NICS, ip="10.0.0.5"), r"guests\[1\] \(web2\): nics replaces the guest's own ip"),
    (dict(nics=GUIDE_NICS, mac="00:16:3e:00:00:01", gateway="10.0.0.1"),
     r"guests\[1\] \(web2\): nics replaces the guest's own mac, gateway"),
    (dict(nics=[dict(mac="00:16:3e:00:00:01"), dict(mac="00:16:3e:00:00:01")]),
     r"guests\[1\] \(web2\): nics\[1\]\.mac=00:16:3e:00:00:01 is the MAC of nics\[0\] too"),
    (dict(nics=[dict(ip="10.0.0.5", netmask="255.255.255.0", gateway="10.0.0.1"),
                dict(ip="10.1.0.5", netmask="255.255.255.0", gateway="10.1.0.1")]),
     r"guests\[1\] \(web2\): nics: gateway is given on nics\[0\] and nics\[1\]"),
    (dict(nics=[dict(), dict(bridge="xenbr1 xenbr2")]), r"nics\[1\]\.bridge='xenbr1 xenbr2' is not an interface name"),
    (dict(nics=[dict(), dict(ip="172.16.92.10/24", netmask="255.255.255.0")]),
     r"nics\[1\]\.ip='172\.16\.92\.10/24' is not an IPv4 address"),
    (dict(boot="pvh"), r"guests\[1\] \(web2\): a PVH guest \(pvh: true, boot: pvh\) needs kernel"),
])
def test_a_bad_nics_or_pvh_entry_stops_the_plan(bad, message):
    with pytest.raises(GuestError, match=message):
        xen_guest.plan_guests(dict(guests=[dict(name="web1"), dict(name="web2", **bad)], defaults=ROLE_DEFAULTS))


@pytest.mark.parametrize("keys, boot", [
    ({}, "pygrub"),
    (dict(boot="pv", kernel="/boot/vmlinuz"), "pv"),
    (dict(boot="pvh", kernel="/boot/vmlinuz"), "pvh"),
])
def test_the_config_step_is_given_the_boot_kind(monkeypatch, keys, boot):
    seen = []

    class Image:
        def __init__(self, *args, **kwargs):
            pass

        def ensure_present(self, spec, force=False, post_install_ops=()):
            return dict(changed=False)

    def config(module, request, kind, active):
        seen.append((kind, request[2].get("type")))
        return dict(changed=False, running=False, autostart=True)

    monkeypatch.setattr(xen_guest, "ImageManager", Image)
    monkeypatch.setattr(xen_guest, "converge_config", config)
    guests = xen_guest.GuestList(types.SimpleNamespace(check_mode=False), None, types.SimpleNamespace(disk_users=None),
                                 dict(restart_on_change=False, shutdown_timeout=300, fixes_on_existing=False))
    planned = xen_guest.plan_guests(dict(guests=[dict(name="web1", state="present", lvm="vg0", **keys)],
                                         defaults=ROLE_DEFAULTS))
    guests.converge(planned[0], set())
    assert seen == [(boot, None if boot != "pvh" else "pvh")]


@pytest.mark.parametrize("nics, rules, stale", [
    (None, [derive_mac("web1")], None),
    (None, [derive_mac("web1"), derive_mac("web1", 1)], derive_mac("web1", 1)),
    # With two NICs, eth1's rule is no stale rule.
    (GUIDE_NICS, [derive_mac("web1"), derive_mac("web1", 1)], None),
    (GUIDE_NICS, ["00:16:3e:00:00:09"], "00:16:3e:00:00:09"),
])
def test_check_udev_mac_knows_every_nic(monkeypatch, nics, rules, stale):
    monkeypatch.setattr(xen_guest, "run_operations", lambda runner, image, ops, check_mode=False: (
        [], None, dict(persistent_net=[dict(mac=mac, name="eth%d" % i) for i, mac in enumerate(rules)])))
    guest = entry(nics=nics, fixes=dict(check_udev_mac=True))
    spec = spec_from_params(xen_guest.image_params(guest))
    guests = xen_guest.GuestList(types.SimpleNamespace(check_mode=False), None,
                                 types.SimpleNamespace(disk_users=lambda path: []), dict(fixes_on_existing=True))
    if stale:
        with pytest.raises(GuestError, match="its udev rules name MAC\\(s\\) %s, but its config pins" % stale):
            guests.fix(guest, spec, False, set())
    else:
        assert not guests.fix(guest, spec, False, set())["changed"]


@pytest.mark.parametrize("fixes, actions", [
    (dict(), []),
    (dict(console_kmap=True), ["/etc/console/boottime.kmap.gz"]),
    (dict(lib_tls=True, check_udev_mac=True), ["/lib/tls"]),
])
def test_fix_operations(fixes, actions):
    assert [op["path"] for op in xen_guest.fix_operations(entry(fixes=fixes))] == actions


# -- power state and autostart ---------------------------------------------------------------

class Recorder:
    """Stands in for XenDomain: records the state and autostart each step asks for."""

    def __init__(self, calls, state, autostart):
        self.calls = calls
        self.calls.append((state, autostart))

    def apply(self):
        return dict(changed=True)


# state, running now, config changed (restart_required), restart_on_change, autostart now, wanted -> steps
POWER_CASES = [
    ("running", True, False, False, True, True, []),
    ("running", False, False, False, True, True, [("running", True)]),
    ("shutdown", True, False, False, True, True, [("shutdown", True)]),
    ("shutdown", False, False, False, True, True, []),
    ("present", True, False, False, True, True, []),
    ("present", False, False, False, False, True, [(None, True)]),
    ("running", True, False, False, True, False, [("running", False)]),
    ("running", True, True, False, True, True, []),
    ("running", True, True, True, True, True, [("shutdown", None), ("running", True)]),
    ("present", True, True, True, True, True, [("shutdown", None), ("running", True)]),
    ("shutdown", False, True, True, True, True, []),
]


@pytest.mark.parametrize("state, running, changed, restart_on_change, auto_now, auto_wanted, steps", POWER_CASES)
def test_power_steps(state, running, changed, restart_on_change, auto_now, auto_wanted, steps):
    calls = []
    guests = xen_guest.GuestList(types.SimpleNamespace(check_mode=False), None, None,
                                 dict(restart_on_change=restart_on_change, shutdown_timeout=300))
    guests.domain = lambda spec, wanted, autostart: Recorder(calls, wanted, autostart)
    config = dict(running=running, restart_required=changed and running, autostart=auto_now)
    result = guests.power(entry(state=state, autostart=auto_wanted), types.SimpleNamespace(hostname="web1"), config)
    assert calls == steps
    assert (result is None) == (not steps)
