# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xen-create-image argv building, summary parsing, validation and redaction."""

from __future__ import annotations

import re

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import guest_model
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.host_tools import XenCreateImage, parse_summary, redact
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import check_host, spec_from_params

from ...conftest import FIXTURES, fixture_text

BASE = dict(name="test1", dist="bookworm", install_method="tar", install_source="/srv/xenlab/guest-bookworm.tar",
            dir="/srv/xen", size="2G", dhcp=True, bridge="xenbr0")


def spec(**changes):
    params = dict(BASE)
    params.update(changes)
    return spec_from_params(params)


def test_argv_for_the_lab_guest():
    argv = XenCreateImage.argv(spec(mac="00:16:3E:78:5D:6A"))
    assert argv == [
        "xen-create-image", "--hostname=test1", "--dist=bookworm", "--install-method=tar",
        "--install-source=/srv/xenlab/guest-bookworm.tar", "--dir=/srv/xen", "--size=2048M", "--memory=512M",
        "--vcpus=1", "--swap=128M", "--fs=ext4", "--image=sparse", "--dhcp", "--mac=00:16:3e:78:5d:6a",
        "--bridge=xenbr0", "--pygrub", "--output=/etc/xen", "--extension=.cfg", "--nopasswd", "--genpass=0",
        "--noboot", "--nohosts", "--noaccounts", "--nokeep", "--verbose",
    ]


def test_argv_for_the_seed_guest():
    """The guide's xen-tools.conf values and the command line, as options."""
    argv = XenCreateImage.argv(spec_from_params(dict(
        name="xen.loomaaed.tartu.ee", dist="etch", dir="/data", size="4Gb", memory="512Mb", swap="1024Mb",
        fs="ext3", image="full", kernel="/boot/vmlinuz-2.6.18-6-xen-686", mirror="http://ftp.aso.ee/debian/",
        ip=["172.16.92.2"], gateway="172.16.92.128", netmask="255.255.255.0")), force=True)
    assert "--hostname=xen.loomaaed.tartu.ee" in argv
    assert argv[argv.index("--dir=/data") + 1:argv.index("--fs=ext3")] == [
        "--size=4096M", "--memory=512M", "--vcpus=1", "--swap=1024M"]
    for expected in ("--image=full", "--ip=172.16.92.2", "--gateway=172.16.92.128", "--netmask=255.255.255.0",
                     "--nopygrub", "--kernel=/boot/vmlinuz-2.6.18-6-xen-686", "--mirror=http://ftp.aso.ee/debian/",
                     "--force"):
        assert expected in argv
    assert "--dhcp" not in argv and "--pygrub" not in argv


def test_argv_never_holds_a_password_and_never_prompts():
    argv = XenCreateImage.argv(spec())
    assert not any(a.startswith("--password") or a == "--passwd" for a in argv)
    assert "--nopasswd" in argv and "--genpass=0" in argv


def test_mac_is_derived_when_not_given_and_stable():
    assert spec().mac == spec().mac == guest_model.derive_mac("test1")


def test_paths_for_dir_and_lvm():
    assert spec().config_path == "/etc/xen/test1.cfg"
    assert spec().disk_paths == ["/srv/xen/domains/test1/disk.img", "/srv/xen/domains/test1/swap.img"]
    assert spec(noswap=True).disk_paths == ["/srv/xen/domains/test1/disk.img"]
    lvm = spec(dir=None, lvm="vg0")
    assert lvm.disk_paths == ["/dev/vg0/test1-disk", "/dev/vg0/test1-swap"]
    assert lvm.domain_dir is None
    assert "--lvm=vg0" in XenCreateImage.argv(lvm)


@pytest.mark.parametrize("changes, message", [
    (dict(name="bad;name"), "not a valid guest name"),
    (dict(dist="../etc"), "not a distribution name"),
    (dict(dir=None), "exactly one of dir"),
    (dict(lvm="vg0"), "exactly one of dir"),
    (dict(dir="relative"), "absolute path"),
    (dict(install_source=None), "needs install_source"),
    (dict(mac="01:00:5e:00:00:01"), "multicast"),
    (dict(dhcp=False), "dhcp: true or an ip"),
    (dict(ip=["10.0.0.2"]), "either dhcp"),
    (dict(dhcp=False, ip=["10.0.0.300"]), "not an IPv4"),
    (dict(fs="xfs"), "pygrub"),
    (dict(fs="reiserfs"), "fs="),
    (dict(size="huge"), "size="),
    (dict(bridge="br0;x"), "bridge="),
    (dict(vcpus=0), "vcpus"),
    (dict(install_method="netboot"), "install_method="),
    # dir and lvm locate the guest's disks: no way out of the directory, no name lvm would refuse.
    (dict(dir="/srv/../etc"), "dir='/srv/../etc' must be an absolute path without '..'"),
    (dict(dir="/srv/xen/"), "dir='/srv/xen/' is not a normalised path"),
    (dict(dir=None, lvm=".."), "lvm='..' is not a volume group name"),
    (dict(dir=None, lvm="-vg"), "not starting with '-'"),
    (dict(dir=None, lvm="vg0/../x"), "lvm='vg0/../x' is not a volume group name"),
    (dict(dir=None, lvm="snapshots"), "holds 'snapshot', which lvm reserves"),
    (dict(dir=None, lvm="vg0\n"), "is not a volume group name"),
    (dict(dist="bookworm\n"), "not a distribution name"),
    (dict(bridge="xenbr0\n"), "bridge="),
    # Plausibility bounds, before anything is created.
    (dict(vcpus=100000), "vcpus=100000 is more than 512 virtual CPUs"),
    (dict(memory="999999G"), "memory='999999G' is larger than 64 TiB"),
    (dict(memory="17T"), "memory='17T' is more than 16 TiB"),
    (dict(dhcp=False, ip=["255.255.255.255"]), "ip=255.255.255.255 is the limited broadcast address"),
    (dict(dhcp=False, ip=["224.0.0.5"]), "ip=224.0.0.5 is a multicast address"),
    (dict(dhcp=False, ip=["10.0.0.0"], netmask="255.255.255.0"), "ip=10.0.0.0 is the network address of 10.0.0.0/24"),
    (dict(dhcp=False, ip=["10.0.0.255"], netmask="255.255.255.0"), "ip=10.0.0.255 is the broadcast address"),
])
def test_bad_input_is_refused_naming_the_option(changes, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        spec(**changes)


def test_delete_needs_only_the_location():
    found = spec_from_params(dict(name="test1", dir="/srv/xen"), for_delete=True)
    assert found.disk_paths[0] == "/srv/xen/domains/test1/disk.img"


def test_check_host_refuses_unknown_dist_and_missing_bridge():
    with pytest.raises(GuestError, match="dist='bookworm' is not known to xen-tools"):
        check_host(spec(), exists=lambda p: True, isdir=lambda p: False)
    with pytest.raises(GuestError, match="bridge=xenbr0 does not exist"):
        check_host(spec(), exists=lambda p: True, isdir=lambda p: "xenbr0" not in p)
    with pytest.raises(GuestError, match="install_source=/srv/xenlab/guest-bookworm.tar does not exist"):
        check_host(spec(), exists=lambda p: False, isdir=lambda p: True)
    check_host(spec(), exists=lambda p: True, isdir=lambda p: True)


def test_check_host_names_every_problem_at_once():
    with pytest.raises(GuestError) as raised:
        check_host(spec(install_method="debootstrap", install_source=None, kernel="/boot/vmlinuz-x", pygrub=False),
                   exists=lambda p: False, isdir=lambda p: False)
    message = str(raised.value)
    for part in ("dist='bookworm' is not known", "bridge=xenbr0 does not exist", "kernel=/boot/vmlinuz-x does not exist",
                 "dir=/srv/xen does not exist"):
        assert part in message


@pytest.mark.parametrize("netmask", ["255.0.255.0", "0.255.255.255", "255.255.255.253"])
def test_netmask_that_is_not_a_mask_is_refused(netmask):
    with pytest.raises(GuestError, match="netmask=.* is not a netmask"):
        spec(dhcp=False, ip=["10.0.0.3"], netmask=netmask)


@pytest.mark.parametrize("netmask", ["255.255.255.0", "255.255.0.0", "0.0.0.0", "255.255.255.255"])
def test_netmasks_accepted(netmask):
    assert spec(dhcp=False, ip=["10.0.0.3"], netmask=netmask).netmask == netmask


@pytest.mark.parametrize("config_dir", ["etc/xen", "/etc/xen/../tmp"])
def test_config_dir_must_stay_put(config_dir):
    with pytest.raises(GuestError, match="config_dir=.* must be an absolute path without '..'"):
        spec(config_dir=config_dir)


def test_parse_summary_of_a_tar_install():
    summary = parse_summary(fixture_text("xen-tools/create-tar-dhcp.stdout"))
    assert summary == {
        "hostname": "test1",
        "distribution": "bookworm",
        "mac": "00:16:3e:78:5d:6a",
        "ip": "dynamic",
        "ssh_fingerprints": {
            "ED25519": "SHA256:Q2nUvJq2QzVb0p0m3m4ZlW0Zb5q7o3cXbJmF1d2mY4E",
            "RSA": "SHA256:3bq9b8Yb1bqQm9r0vVY6Vt5sWcW3yO2G8x9nF0tq9Cw",
        },
    }


def test_parse_summary_static_ips_and_password_never_returned():
    text = ("Installation Summary\n---------------------\nHostname        :  web1\nMAC Address     :  00:16:3E:00:00:01\n"
            "IP Address(es)  :  10.0.0.2 10.0.0.3 \nRoot Password   :  s3cret\n")
    summary = parse_summary(text)
    assert summary["ip"] == ["10.0.0.2", "10.0.0.3"]
    assert "s3cret" not in repr(summary)


def test_no_summary_on_failure():
    assert parse_summary(fixture_text("xen-tools/create-config-exists.stdout")) == {}


def test_log_tail_is_redacted():
    tail = XenCreateImage(None, log_dir=FIXTURES + "/xen-tools").log_tail("test1-failed")
    assert "System installation failed: /bin/ls missing." in tail
    assert "hunter2" not in tail
    assert "may contain a password" in tail
    assert "hunter2" not in redact("--password=hunter2")


# -- several NICs and PVH ----------------------------------------------------------------------

TWO_NICS = [dict(bridge="xenbr0"), dict(bridge="xenbr1", ip="172.16.92.10", netmask="255.255.255.0")]


@pytest.mark.parametrize("nics, one_nic", [
    # NIC 0 goes to xen-create-image as the one NIC did; the others do not reach it.
    (TWO_NICS, dict(dhcp=True, bridge="xenbr0")),
    ([dict(ip="10.0.0.5", netmask="255.255.255.0", gateway="10.0.0.1", mac="00:16:3e:00:00:05"), dict(bridge="xenbr1")],
     dict(dhcp=False, ip=["10.0.0.5"], netmask="255.255.255.0", gateway="10.0.0.1", mac="00:16:3e:00:00:05")),
])
def test_argv_with_nics_is_the_argv_of_nic_0(nics, one_nic):
    with_nics = spec(dhcp=False, bridge=None, nics=nics)
    assert XenCreateImage.argv(with_nics) == XenCreateImage.argv(spec(**dict(dict(bridge=None), **one_nic)))
    assert with_nics.nics_option and [n["bridge"] for n in with_nics.nics][1] == "xenbr1"


def test_a_spec_without_nics_has_its_one_nic_in_the_list():
    one = spec(ip=None)
    assert one.nics == [dict(bridge="xenbr0", mac=guest_model.derive_mac("test1"), ip=[], netmask=None, gateway=None)]
    assert not one.nics_option and not one.extra_nics and not one.own_config and one.boot == "pygrub"


def test_nics_fill_the_nic_0_fields_and_fall_back_to_bridge():
    two = spec(dhcp=False, nics=[dict(), dict(ip=["172.16.92.10"], netmask="255.255.255.0")])
    assert two.dhcp and two.bridge == "xenbr0" and two.mac == guest_model.derive_mac("test1")
    assert two.nics[1]["bridge"] == "xenbr0" and two.nics[1]["mac"] == guest_model.derive_mac("test1", 1)
    assert [i for i, _nic in two.extra_nics] == [1] and two.own_config


def test_pvh_builds_like_pv():
    pvh = spec(pvh=True, kernel="/boot/vmlinuz", initrd="/boot/initrd.img")
    assert pvh.boot == "pvh" and pvh.own_config and not pvh.pygrub
    assert XenCreateImage.argv(pvh) == XenCreateImage.argv(spec(kernel="/boot/vmlinuz", initrd="/boot/initrd.img"))
    assert "--nopygrub" in XenCreateImage.argv(pvh) and "--initrd=/boot/initrd.img" in XenCreateImage.argv(pvh)


@pytest.mark.parametrize("changes, message", [
    (dict(nics=TWO_NICS), "nics replaces the guest's own dhcp"),
    (dict(dhcp=False, ip=["10.0.0.5"], nics=TWO_NICS), "nics replaces the guest's own ip"),
    (dict(dhcp=False, mac="00:16:3e:00:00:01", netmask="255.255.255.0", nics=TWO_NICS),
     "nics replaces the guest's own mac, netmask"),
    (dict(dhcp=False, nics=[dict(mac="00:16:3e:00:00:01"), dict(mac="00:16:3e:00:00:01")]),
     "nics[1].mac=00:16:3e:00:00:01 is the MAC of nics[0] too"),
    (dict(dhcp=False, nics=[dict(ip="10.0.0.5", netmask="255.255.255.0", gateway="10.0.0.1"),
                            dict(ip="10.1.0.5", netmask="255.255.255.0", gateway="10.1.0.1")]),
     "nics: gateway is given on nics[0] and nics[1]"),
    (dict(dhcp=False, nics=[dict(), dict(bridge="xenbr1\n")]), "nics[1].bridge='xenbr1\\n' is not an interface name"),
    (dict(dhcp=False, nics=[dict(), dict(ip="172.16.92.256", netmask="255.255.255.0")]),
     "nics[1].ip='172.16.92.256' is not an IPv4 address"),
    (dict(dhcp=False, nics=[]), "nics must be a non-empty list of NICs"),
    (dict(pvh=True), "a PVH guest (pvh: true, boot: pvh) needs kernel"),
])
def test_bad_nics_and_pvh_are_refused_naming_the_option(changes, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        spec(**changes)


def test_check_host_names_every_missing_bridge_of_every_nic():
    three = spec(dhcp=False, nics=[dict(), dict(bridge="xenbr1"), dict(bridge="xenbr2"), dict(bridge="xenbr1")])
    with pytest.raises(GuestError) as raised:
        check_host(three, exists=lambda p: True, isdir=lambda p: "/sys/class/net/" not in p)
    assert str(raised.value) == "; ".join(
        "%s=%s does not exist on this host (no /sys/class/net/%s/bridge)" % (option, bridge, bridge)
        for option, bridge in (("nics[0].bridge", "xenbr0"), ("nics[1].bridge", "xenbr1"), ("nics[2].bridge", "xenbr2")))
    check_host(three, exists=lambda p: True, isdir=lambda p: True)
