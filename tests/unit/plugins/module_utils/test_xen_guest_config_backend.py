# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guest configs from structured settings: the seed's configs as golden output."""

from __future__ import annotations

import json
import os
import re
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import (
    HEADER,
    GuestConfigFile,
    build_settings,
    canonical,
    config_request,
    dry_run_summary,
    render_guest_config,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import parse_xen_cfg

from ...conftest import fixture_text

SEED_PV = dict(
    name="xen.loomaaed.tartu.ee", type="pv",
    kernel="/boot/vmlinuz-2.6.18-6-xen-i386", ramdisk="/boot/initrd.img-2.6.18-6-xen-i386", root="/dev/sda1 ro",
    memory="1024M",
    disks=[{"target": "/data/domains/xen.loomaaed.tartu.ee/disk.img", "vdev": "sda1"},
           {"target": "/data/domains/xen.loomaaed.tartu.ee/swap.img", "vdev": "sda2"}],
    vifs=[{"mac": "00:16:3e:2c:7e:ef"}],
)
SEED_HVM = dict(
    name="full-virt", type="hvm", hvm_style="legacy",
    hvmloader="/usr/lib/xen-3.0.3-1/boot/hvmloader", device_model="/usr/lib/xen-3.0.3-1/bin/qemu-dm",
    memory="2048", vcpus=1, boot="d", vnc=True,
    disks=[{"target": "/data/zones/domains/full-virt/disk.img", "vdev": "ioemu:hda"},
           {"target": "/data/images/debian-40r0-i386-CD-1.iso", "vdev": "hdc:cdrom", "mode": "r"}],
    vifs=[{"mac": "00:16:3E:3A:8E:7A", "type": "ioemu", "bridge": "xenbr2"}],
)


def test_seed_pv_config_is_reproduced_byte_for_byte():
    """The guide's PV config: equal to it in canonical layout, header aside."""
    text = render_guest_config(build_settings(SEED_PV), "pv")
    assert text.startswith(HEADER)
    assert text[len(HEADER):] == fixture_text("seed/section4-pv.canonical.cfg")
    assert parse_xen_cfg(text) == parse_xen_cfg(fixture_text("seed/section4-pv.cfg"))


def test_seed_hvm_config_legacy_style():
    """The guide's HVM config: its settings exactly (no vnclisten: the guide sets it in xend-config.sxp)."""
    ours = parse_xen_cfg(render_guest_config(build_settings(SEED_HVM), "hvm"))
    seed = parse_xen_cfg(fixture_text("seed/section9-hvm.cfg"))
    assert "vnclisten" not in ours
    assert canonical(ours) == canonical(seed)
    # Only the spaces after the vif's commas differ (xl's parser wants none).
    assert ours["vif"] == ["mac=00:16:3E:3A:8E:7A,type=ioemu,bridge=xenbr2"]
    assert list(ours) == list(seed)


def test_vnclisten_is_written_when_asked():
    settings = build_settings(dict(SEED_HVM, vnclisten="0.0.0.0"))
    assert settings["vnclisten"] == "0.0.0.0"


def test_hvm_current_style_and_pae():
    settings = build_settings(dict(SEED_HVM, hvm_style="current", pae=True, boot="dc"))
    assert settings["type"] == "hvm"
    assert "builder" not in settings and "device_model" not in settings and "kernel" not in settings
    assert settings["pae"] == 1 and settings["boot"] == "dc"


def test_pygrub_with_one_partitioned_image():
    """Red Hat's layout, one os.img holding partitions, booted by pygrub."""
    settings = build_settings(dict(name="domU-1", type="pygrub", memory="3072M",
                                   disks=[{"target": "/data/domains/domU-1/os.img", "vdev": "xvda"}],
                                   vifs=[{"bridge": "xenbr0"}]))
    assert settings == {"name": "domU-1", "bootloader": "pygrub", "memory": "3072",
                        "disk": ["file:/data/domains/domU-1/os.img,xvda,w"], "vif": ["bridge=xenbr0"], "vcpus": "1"}


def test_pvh_boots_a_dom0_kernel_with_type_pvh_first():
    """PVH: the PV keys plus xl's type = "pvh", rendered right after the name; parsed back alike."""
    settings = build_settings(dict(SEED_PV, type="pvh", extra="console=hvc0"))
    assert list(settings)[:6] == ["name", "type", "kernel", "ramdisk", "root", "extra"]
    assert settings["type"] == "pvh" and settings["kernel"] == SEED_PV["kernel"]
    text = render_guest_config(settings, "pvh")
    assert parse_xen_cfg(text)["type"] == "pvh"
    assert canonical(parse_xen_cfg(text)) == canonical(settings)
    # A PV config never carries type (xm knows none; xl's default is pv).
    assert "type" not in build_settings(SEED_PV)


def test_phy_prefix_for_block_devices():
    settings = build_settings(dict(SEED_PV, disks=[{"target": "/dev/vg0/web1-disk", "vdev": "xvda2"}]))
    assert settings["disk"] == ["phy:/dev/vg0/web1-disk,xvda2,w"]


def test_recorded_xen_tools_config_equals_the_structured_one():
    """The config xen-tools wrote on the lab (fixture) compares equal: no rewrite on the first role run."""
    recorded = parse_xen_cfg(fixture_text("xen-4.17/test1.cfg"))
    ours = build_settings(dict(
        name="test1", type="pygrub", memory="256M", root="/dev/xvda2 ro",
        disks=[{"target": "/srv/xen/domains/test1/disk.img", "vdev": "xvda2"},
               {"target": "/srv/xen/domains/test1/swap.img", "vdev": "xvda1"}],
        vifs=[{"mac": "00:16:3e:78:5d:6a", "bridge": "xenbr0"}],
        on_poweroff="destroy", on_reboot="restart", on_crash="restart", settings={"dhcp": "dhcp"}))
    assert canonical(ours) == canonical(recorded)


@pytest.mark.parametrize("changes, message", [
    (dict(name="a;b"), "not a valid guest name"),
    (dict(type="pv", kernel=None), "needs kernel"),
    (dict(type="pvh", kernel=None), "type=pvh needs kernel"),
    (dict(memory=None), "memory is required"),
    (dict(disks=[]), "at least one disk"),
    (dict(disks=[{"target": "relative.img", "vdev": "xvda"}]), "absolute path"),
    (dict(disks=[{"target": "/a,b.img", "vdev": "xvda"}]), "without commas"),
    (dict(disks=[{"target": "/a.img", "vdev": "xvda;1"}]), "not a virtual device"),
    (dict(disks=[{"target": "/a.img", "vdev": "xvda", "mode": "rw"}]), "mode="),
    (dict(vifs=[{"mac": "01:16:3e:00:00:01"}]), "multicast"),
    (dict(vifs=[{"bridge": "br0'"}]), "may not hold"),
    (dict(vifs=[{"colour": "blue"}]), "unknown keys"),
    (dict(settings={"memory": "2"}), "conflicts"),
    (dict(type="hvm", boot="x"), "boot="),
    (dict(type="hvm", hvm_style="ancient"), "hvm_style="),
    # Plausibility bounds, one per concept (guest_model).
    (dict(vcpus=100000), "vcpus=100000 is more than 512 virtual CPUs"),
    (dict(vcpus=0), "vcpus=0 must be at least 1"),
    (dict(memory="999999G"), "memory='999999G' is larger than 64 TiB"),
    (dict(memory="20T"), "memory='20T' is more than 16 TiB"),
    (dict(maxmem="17T"), "maxmem='17T' is more than 16 TiB"),
    (dict(vifs=[{"ip": "255.255.255.255"}]), "vifs\\[0\\].ip=255.255.255.255 is the limited broadcast address"),
    (dict(vifs=[{"ip": "224.0.0.1"}]), "is a multicast address"),
    (dict(vifs=[{"ip": "0.0.0.0"}]), "is the unspecified address"),
    # String entries are read and held to the rules of the dict form.
    (dict(vifs=["mac=01:16:3e:00:00:01,bridge=xenbr0"]), "vifs\\[0\\].mac=01:16:3e:00:00:01 is a multicast"),
    (dict(vifs=["bridge=xenbr0,colour=blue"]), "unknown keys colour"),
    (dict(vifs=["bridge=xenbr0,bridge=xenbr1"]), "each key once"),
    (dict(vifs=["xenbr0"]), "must be KEY=VALUE pairs"),
    (dict(vifs=["ip=255.255.255.255"]), "limited broadcast"),
    (dict(disks=["file:relative.img,xvda,w"]), "must be an absolute path"),
    (dict(disks=["phy:/dev/vg/x,xvda;reboot,w"]), "is not a virtual device name"),
    (dict(disks=["phy:/dev/vg/x,xvda,w,w,w"]), "too many positional parameters"),
    (dict(disks=["/dev/vg/x"]), "no vdev specified"),
    (dict(disks=["format=raw,vdev=xvda,target=/srv/a b.img"]), "without commas, quotes or spaces"),
    # Names and words are matched whole: a trailing newline is no match.
    (dict(disks=[{"target": "/a.img", "vdev": "xvda\n"}]), "not a virtual device"),
    (dict(disks=[{"target": "/a.img\n", "vdev": "xvda"}]), "without commas"),
    (dict(type="hvm", boot="c\n"), "boot="),
])
def test_bad_settings_refused(changes, message):
    with pytest.raises(GuestError, match=message):
        build_settings(dict(SEED_PV, **changes))


@pytest.mark.parametrize("disk", ["phy:/dev/vg0/web1-disk,xvda2,w", "file:/srv/xen/web1.img,xvda,r",
                                  "format=raw,vdev=xvda,access=rw,target=/srv/xen/web1.img", ",hdc:cdrom,r"])
def test_string_disks_xl_reads_are_kept_as_given(disk):
    assert build_settings(dict(SEED_PV, disks=[disk]))["disk"] == [disk]


def test_string_vifs_are_checked_and_written_like_dicts():
    settings = build_settings(dict(SEED_PV, vifs=["mac=00:16:3e:aa:bb:cc, bridge=xenbr0", "ip=10.0.0.5,bridge=xenbr1"]))
    assert settings["vif"] == ["mac=00:16:3E:AA:BB:CC,bridge=xenbr0", "ip=10.0.0.5,bridge=xenbr1"]


def test_canonical_ignores_quotes_spacing_and_mac_case():
    a = parse_xen_cfg("memory = 256\nvif = [ 'mac=00:16:3E:AA:BB:CC, bridge=xenbr0' ]\n")
    b = parse_xen_cfg("memory = '256'\nvif = [\"bridge=xenbr0,mac=00:16:3e:aa:bb:cc\"]\n")
    assert canonical(a) == canonical(b)
    assert canonical(a) != canonical(parse_xen_cfg("memory = 512\nvif = [ 'mac=00:16:3E:AA:BB:CC, bridge=xenbr0' ]\n"))


def _module(check_mode=False):
    moved = []

    def atomic_move(src, dest):
        import os
        os.rename(src, dest)
        moved.append(dest)

    return types.SimpleNamespace(check_mode=check_mode, atomic_move=atomic_move, warn=lambda msg: None, moved=moved)


def test_config_file_write_then_unchanged_then_restart_required(tmp_path):
    path = str(tmp_path / "web1.cfg")
    settings = build_settings(dict(SEED_PV, name="web1"))
    module = _module()
    first = GuestConfigFile(module, path).ensure(settings, "pv", running=False)
    assert first["changed"] and not first["restart_required"]
    assert first["diff"]["before"] == "" and first["diff"]["after"].startswith(HEADER)
    assert module.moved == [path]
    again = GuestConfigFile(module, path).ensure(settings, "pv", running=True)
    assert not again["changed"] and not again["restart_required"]
    bigger = build_settings(dict(SEED_PV, name="web1", memory="2048M"))
    changed = GuestConfigFile(module, path).ensure(bigger, "pv", running=True)
    assert changed["changed"] and changed["restart_required"]
    assert "memory  = '2048'" in open(path).read()


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "web1.cfg"
    result = GuestConfigFile(_module(check_mode=True), str(path)).ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False)
    assert result["changed"] and not path.exists()


def test_remove_refused_while_running(tmp_path):
    path = tmp_path / "web1.cfg"
    path.write_text("name = 'web1'\n")
    with pytest.raises(GuestError, match="running"):
        GuestConfigFile(_module(), str(path)).remove(running=True, name="web1")
    assert GuestConfigFile(_module(), str(path)).remove(running=False, name="web1")["changed"]
    assert not path.exists()


PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


SHADOW = "root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\n"
FOREIGN = [
    (PASSWD, "is not a Xen guest config (line 1 does not parse)"),
    # The parser's own message would quote the text after 'root'.
    (SHADOW, "is not a Xen guest config (line 1 does not parse)"),
    ("name = 'livevm'\nmemory = 256\n", "is the config of guest livevm, not of web1"),
    # xl.conf parses as KEY = VALUE, but sets no guest name.
    ("autoballoon = \"off\"\nlockfile = \"/var/lock/xl\"\n", "is not a Xen guest config (it sets no name)"),
]


@pytest.mark.parametrize("text, why", FOREIGN)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_file_that_is_not_this_guests_config_is_left_alone(tmp_path, text, why, state):
    """xen_guest_config {name: web1, path: <someone else's file>}: refused, the file as it was, nothing in a diff."""
    path = tmp_path / "victim"
    path.write_text(text)
    config = GuestConfigFile(_module(), str(path))
    action = "replace" if state == "present" else "remove"
    with pytest.raises(GuestError) as caught:
        if state == "present":
            config.ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False)
        else:
            config.remove(running=False, name="web1")
    message = str(caught.value)
    assert message.startswith("%s %s" % (path, why)) and ("refusing to %s it. Set force: true" % action) in message
    assert "root:x:0:0" not in message and "SECRET" not in message
    assert path.read_text() == text


def test_force_replaces_a_foreign_file_without_showing_it(tmp_path):
    path = tmp_path / "victim"
    path.write_text(PASSWD)
    warnings = []
    module = _module()
    module.warn = warnings.append
    result = GuestConfigFile(module, str(path), force=True).ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False)
    assert result["changed"] and "'web1'" in path.read_text() and "root:x" not in path.read_text()
    assert "root:x:0:0" not in result["diff"]["before"] and "not a Xen guest config" in result["diff"]["before"]
    assert len(warnings) == 1 and "force: true" in warnings[0]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_live_guests_config_offered_under_another_name_is_refused_even_with_force(tmp_path, force, state):
    path = tmp_path / "livevm.cfg"
    text = "name = 'livevm'\nmemory = 256\n"
    path.write_text(text)
    config = GuestConfigFile(_module(), str(path), force=force, domains={"livevm"})
    with pytest.raises(GuestError, match="is the config of the live domain livevm, not of web1; refusing to (replace|remove) it, even with force"):
        if state == "present":
            config.ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False)
        else:
            config.remove(running=False, name="web1")
    assert path.read_text() == text


@pytest.mark.parametrize("force", [False, True])
def test_a_fifo_is_refused_even_with_force(tmp_path, force):
    path = tmp_path / "web1.cfg"
    os.mkfifo(str(path))
    with pytest.raises(GuestError, match="exists and is not a regular file; refusing to remove it"):
        GuestConfigFile(_module(), str(path), force=force).remove(running=False, name="web1")
    assert path.exists()


@pytest.mark.parametrize("text, why", FOREIGN)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_force_in_check_mode_shows_a_placeholder_never_the_text(tmp_path, text, why, state):
    """check + diff + force on a file that is not this guest's: the diff names the reason, not the content."""
    path = tmp_path / "shadow"
    path.write_text(text)
    config = GuestConfigFile(_module(check_mode=True), str(path), force=True)
    if state == "present":
        result = config.ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False)
    else:
        result = config.remove(running=False, name="web1")
    assert result["changed"] and path.read_text() == text
    assert result["diff"]["before"] == "(not shown: %s %s)\n" % (path, why)


@pytest.mark.parametrize("params, force, message", [
    (dict(path="/etc/passwd", state="absent"), False, "path=/etc/passwd is outside the config directory /etc/xen"),
    (dict(path="/etc/shadow"), False, "path=/etc/shadow is outside the config directory /etc/xen"),
    (dict(path="/etc/xen/../shadow"), True, "must be an absolute path without '..'"),
    (dict(path="/etc/xenother/web1.cfg"), False, "outside the config directory /etc/xen"),
    (dict(config_dir="/etc/xen/"), False, "config_dir='/etc/xen/' is not a normalised path"),
    (dict(config_dir="/srv/../etc"), False, "config_dir='/srv/../etc' must be an absolute path without '..'"),
    (dict(config_dir="xen"), False, "config_dir='xen' must be an absolute path"),
])
def test_config_request_keeps_configs_in_the_config_directory(params, force, message):
    with pytest.raises(GuestError, match=re.escape(message)):
        config_request(dict(dict(SEED_PV, name="web1"), **params), force=force)


@pytest.mark.parametrize("params, force, path", [
    (dict(), False, "/etc/xen/web1.cfg"),
    (dict(config_dir="/srv/xen/configs"), False, "/srv/xen/configs/web1.cfg"),
    (dict(path="/etc/xen/guests/web1.cfg"), False, "/etc/xen/guests/web1.cfg"),
    (dict(path="/srv/web1.cfg"), True, "/srv/web1.cfg"),
])
def test_config_request_paths(params, force, path):
    assert config_request(dict(dict(SEED_PV, name="web1"), **params), force=force)[1] == path


class _DryRunTool:
    """A toolstack stand-in for the dry run: what it printed, and the copy it was given."""

    name = "xm"
    dry_run_args = ("create", "--dryrun")

    def __init__(self, out, warnings):
        self.out, self.warnings, self.seen = out, warnings, []

    def dry_run(self, path):
        self.seen.append(path)
        return self.out, self.warnings.replace("COPY", path)


def test_dry_run_warnings_are_passed_on_naming_the_real_file(tmp_path):
    """xl goes on past an unknown vif key with a complaint; xm prints SXP (no parsed)."""
    path = str(tmp_path / "web1.cfg")
    module = _module()
    warnings = []
    module.warn = warnings.append
    tool = _DryRunTool("(vm (name web1))", "COPY:7: warning: unrecognized argument `colour=blue'")
    result = GuestConfigFile(module, path).ensure(build_settings(dict(SEED_PV, name="web1")), "pv", False, toolstack=tool)
    assert result["validated"] and result["validated_by"] == "xm create --dryrun" and "parsed" not in result
    assert warnings == ["xm create --dryrun accepts the new config for %s, with: %s (new):7: warning: unrecognized argument "
                        "`colour=blue'" % (path, path)]
    assert os.path.basename(tool.seen[0]) == "web1.cfg" and not os.path.exists(os.path.dirname(tool.seen[0]))
    assert os.path.exists(path)


def test_dry_run_summary_leaves_out_passwords():
    """A vncpasswd that xl echoes in its JSON never reaches the module's result."""
    out = json.dumps({"c_info": {"name": "hvm1", "uuid": "x"},
                      "b_info": {"type.hvm": {"vnc": {"enable": "True", "passwd": "s3cret"},
                                              "spice": {"passwd": "s3cret"}}}})
    parsed = dry_run_summary(out)
    assert "s3cret" not in json.dumps(parsed)
    assert parsed == {"c_info": {"name": "hvm1"}, "b_info": {"type.hvm": {"vnc": {"enable": "True"}}}}
