# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The golden-image fast path: what it writes, what it refuses, how a failure rolls back.

The copy itself (cp, resize2fs, mkswap, loop mounts) ran on the real-Xen lab
(tests/integration/guests.yml); these tests cover the decisions around it.
"""

from __future__ import annotations

import os
import shutil
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import golden_image
from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_image as image_backend
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError, derive_mac
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import XlToolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import canonical
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import parse_xen_cfg
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import ImageManager, spec_from_params

from ...conftest import fixture_text
from ...conftest_helpers import write_ext_image, xl_list_long

MIB = 1024 * 1024


def make_ext4(path, size_mib=64):
    """A golden image as the size check reads it: an ext superblock in a sparse file (no mkfs run)."""
    return write_ext_image(path, size_mib * MIB)


@pytest.fixture
def host(tmp_path, monkeypatch):
    (tmp_path / "etc-xen").mkdir()
    (tmp_path / "srv").mkdir()
    monkeypatch.setattr(image_backend, "STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(image_backend, "AUTOSTART_DIR", str(tmp_path / "etc-xen" / "auto"))
    golden = tmp_path / "golden.img"
    golden.write_bytes(b"")
    return types.SimpleNamespace(
        root=tmp_path,
        golden=str(golden),
        args=dict(name="test1", dist="bookworm", install_method="image", install_source=str(golden),
                  dir=str(tmp_path / "srv"), config_dir=str(tmp_path / "etc-xen"), size="2G", dhcp=True,
                  mac="00:16:3e:78:5d:6a"),
    )


def spec_of(**params):
    base = dict(name="test1", dist="bookworm", install_method="image", install_source="/srv/golden.img",
                dir="/srv/xen", size="2G", dhcp=True, bridge="xenbr0", mac="00:16:3e:78:5d:6a")
    base.update(params)
    return spec_from_params(base)


def test_config_is_the_one_xen_create_image_writes():
    """Compared with a config xen-tools 4.9 wrote on a Xen 4.17 dom0 (same guest, 256M)."""
    wanted = parse_xen_cfg(fixture_text("xen-4.17/test1.cfg"))
    assert canonical(golden_image.config_settings(spec_of(memory="256M"))) == canonical(wanted)


def test_config_for_a_static_guest_with_a_dom0_kernel_and_no_swap():
    settings = golden_image.config_settings(spec_of(
        dhcp=False, ip=["172.16.92.2"], netmask="255.255.255.0", noswap=True,
        kernel="/boot/vmlinuz-xen", initrd="/boot/initrd-xen"))
    assert settings["disk"] == ["file:/srv/xen/domains/test1/disk.img,xvda1,w"]
    assert settings["root"] == "/dev/xvda1 ro"
    assert settings["kernel"] == "/boot/vmlinuz-xen" and settings["ramdisk"] == "/boot/initrd-xen"
    assert settings["extra"] == "elevator=noop" and "bootloader" not in settings and "dhcp" not in settings
    assert settings["vif"] == ["ip=172.16.92.2,mac=00:16:3E:78:5D:6A,bridge=xenbr0"]


def files_of(spec, keys=None):
    ops = golden_image.guest_system_files(spec, keys or {})
    return {op["path"]: op for op in ops if op["action"] == "write"}


def test_system_files_make_the_copy_this_guest():
    files = files_of(spec_of(name="web1.example.org"), {"ed25519": ("PRIVATE\n", "ssh-ed25519 AAAA root@web1\n")})
    assert files["/etc/hostname"]["content"] == "web1\n"
    assert "127.0.1.1\tweb1.example.org web1\n" in files["/etc/hosts"]["content"]
    assert files["/etc/fstab"]["content"].splitlines() == [
        "/dev/xvda2 / ext4 errors=remount-ro 0 1", "/dev/xvda1 none swap sw 0 0", "proc /proc proc defaults 0 0"]
    assert "iface eth0 inet dhcp" in files["/etc/network/interfaces"]["content"]
    assert files["/etc/machine-id"]["content"] == ""
    private = files["/etc/ssh/ssh_host_ed25519_key"]
    # The private key is secret: kept out of the diff, readable by root only.
    assert private["secret"] and private["mode"] == "0600" and private["content"] == "PRIVATE\n"
    assert "secret" not in files["/etc/ssh/ssh_host_ed25519_key.pub"]
    assert "/etc/resolv.conf" not in files


def test_system_files_for_a_static_guest():
    files = files_of(spec_of(dhcp=False, ip=["172.16.92.2", "172.16.92.3"], netmask="255.255.255.0",
                             gateway="172.16.92.128", nameserver=["172.16.92.128"], noswap=True))
    interfaces = files["/etc/network/interfaces"]["content"]
    assert "iface eth0 inet static\n address 172.16.92.2\n netmask 255.255.255.0\n gateway 172.16.92.128\n" in interfaces
    assert "iface eth0:1 inet static\n address 172.16.92.3\n" in interfaces
    assert files["/etc/resolv.conf"]["content"] == "nameserver 172.16.92.128\n"
    assert "172.16.92.2\ttest1\n" in files["/etc/hosts"]["content"]
    assert files["/etc/fstab"]["content"].splitlines()[0] == "/dev/xvda1 / ext4 errors=remount-ro 0 1"
    assert "swap" not in files["/etc/fstab"]["content"]


def test_image_needs_an_absolute_source_and_no_lvm(host):
    with pytest.raises(GuestError, match="install_method=image needs install_source"):
        spec_from_params(dict(host.args, install_source=None))
    with pytest.raises(GuestError, match="install_source='golden.img' must be an absolute path"):
        spec_from_params(dict(host.args, install_source="golden.img"))
    build = golden_image.GoldenImageBuild(None, None, set(), None)
    with pytest.raises(GuestError, match="install_method=image makes file-backed disks; give dir, not lvm"):
        build.check(spec_from_params(dict(host.args, dir=None, lvm="vg0")))


def test_source_must_be_one_ext_filesystem(host):
    with pytest.raises(GuestError, match="is not a file"):
        golden_image.source_filesystem_bytes(str(host.root))
    with pytest.raises(GuestError, match="holds no known filesystem, not one bare ext2/3/4 filesystem"):
        golden_image.source_filesystem_bytes(host.golden)
    assert golden_image.source_filesystem_bytes(make_ext4(host.root / "fs.img")) == 64 * MIB


class Runner:
    """Resolves tools; records argv; ``fail_on`` makes that command fail."""

    def __init__(self, fail_on=None, attached=False, xl_list_long="[]"):
        self.fail_on, self.attached, self.seen = fail_on, attached, []
        self.xl_list_long = xl_list_long

    def which(self, name, required=True):
        return "/usr/bin/" + name

    def run(self, argv, check_rc=True, data=None, env=None):
        self.seen.append(list(argv))
        if self.fail_on and argv[0] == self.fail_on:
            raise CommandError(argv, 1, "", "%s: No space left on device" % argv[0])
        if argv[:2] == ["losetup", "-j"] and self.attached:
            return 0, "/dev/loop3: []: (%s)\n" % argv[2], ""
        if argv[-2:] == ["list", "-l"]:
            return 0, self.xl_list_long, ""
        return 0, "", ""


def manager(runner, domains=(), check_mode=False):
    module = types.SimpleNamespace(check_mode=check_mode, warn=lambda msg: None)
    return ImageManager(module, runner, set(domains), disk_users=XlToolstack(runner).disk_users)


def test_size_smaller_than_the_golden_filesystem_is_refused_before_anything_runs(host):
    make_ext4(host.golden)
    runner = Runner()
    with pytest.raises(GuestError, match=r"size=32M is smaller than the golden image's filesystem \(64M in .*golden.img\)"):
        manager(runner).ensure_present(spec_from_params(dict(host.args, size="32M")))
    assert runner.seen == [] and not os.listdir(str(host.root / "srv"))


def test_golden_image_of_a_running_guest_is_refused_whatever_its_name(host):
    """The live domain list is asked by file identity: a symlink to a running guest's disk is that disk."""
    make_ext4(host.golden)
    alias = host.root / "alias.img"
    alias.symlink_to(host.golden)
    runner = Runner(xl_list_long=xl_list_long(disk=host.golden))
    with pytest.raises(GuestError, match=r"alias.img is a disk of the live domain\(s\) test1 .*refusing to copy it as a golden image"):
        manager(runner, domains=["test1"]).ensure_present(spec_from_params(dict(host.args, name="other", install_source=str(alias))))
    assert runner.seen == [["xl", "list", "-l"]]
    assert not os.path.exists(str(host.root / "srv" / "domains" / "other"))
    # Stopped (not in xl's list), it is a golden image like any other: only the copy is reported in check mode.
    runner = Runner()
    result = manager(runner, check_mode=True).ensure_present(spec_from_params(dict(host.args)))
    assert result["changed"] and result["command"] == [
        "cp", "--sparse=always", host.golden, str(host.root / "srv" / "domains" / "test1" / "disk.img")]
    assert runner.seen == [["xl", "list", "-l"], ["losetup", "-j", host.golden]]


def test_golden_image_attached_to_a_loop_device_is_refused(host):
    make_ext4(host.golden)
    runner = Runner(attached=True)
    with pytest.raises(GuestError, match=r"install_source=.*golden.img is attached to /dev/loop3 \(mounted somewhere\?\); detach it"):
        manager(runner).ensure_present(spec_from_params(dict(host.args)))
    assert runner.seen == [["xl", "list", "-l"], ["losetup", "-j", host.golden]] and not os.listdir(str(host.root / "srv"))


def test_a_failed_copy_removes_what_it_made_and_names_the_command(host):
    make_ext4(host.golden)
    runner = Runner(fail_on="cp")
    with pytest.raises(GuestError) as caught:
        manager(runner).ensure_present(spec_from_params(dict(host.args)))
    message = str(caught.value)
    assert message.startswith("building guest test1 failed: command 'cp --sparse=always ")
    assert "No space left on device" in message and "xen-tools" not in message
    assert "Removed what this run created: " in message
    assert not os.listdir(str(host.root / "srv")) and not os.listdir(str(host.root / "state"))


def test_post_install_ops_go_into_the_one_mount_of_the_golden_build(host, monkeypatch):
    make_ext4(host.golden)
    mounts = []
    monkeypatch.setattr(golden_image, "run_operations", lambda _runner, image, ops: mounts.append((image, ops)))
    monkeypatch.setattr(golden_image.GoldenImageBuild, "host_keys", lambda self, spec: ({}, []))
    monkeypatch.setattr(golden_image.DiskGrower, "ensure", lambda self, name, path, size: None)
    monkeypatch.setattr(image_backend, "run_operations", lambda *args: pytest.fail("a second mount after the golden build"))

    class Copying(Runner):
        def run(self, argv, check_rc=True, data=None, env=None):
            if argv[0] == "cp":
                shutil.copyfile(argv[-2], argv[-1])
            return Runner.run(self, argv, check_rc, data, env)

    spec = spec_from_params(dict(host.args))
    keys = [dict(action="write", path="/root/.ssh/authorized_keys", content="ssh-ed25519 AAAA test\n", mode="0600")]
    result = manager(Copying()).ensure_present(spec, post_install_ops=keys)
    assert result["changed"] and os.path.exists(spec.config_path)
    assert len(mounts) == 1 and mounts[0][0] == spec.disk_paths[0]
    assert mounts[0][1][-1] == keys[0] and mounts[0][1][:-1] == golden_image.guest_system_files(spec, {})


# -- several NICs and PVH --------------------------------------------------------------------

GUIDE_NICS = [dict(bridge="xenbr0"), dict(bridge="xenbr1", ip="172.16.92.10", netmask="255.255.255.0")]

# The whole file a guest with the guide's two NICs gets: eth0 as xen-tools writes it, then eth1.
GUIDE_INTERFACES = """\
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp

auto eth1
iface eth1 inet static
 address 172.16.92.10
 netmask 255.255.255.0
"""


def test_interfaces_of_the_guides_two_nics():
    spec = spec_of(dhcp=False, bridge=None, mac=None, nics=GUIDE_NICS)
    assert golden_image.network_interfaces(spec) == GUIDE_INTERFACES
    assert golden_image.interfaces_op(spec) == dict(action="write", path="/etc/network/interfaces",
                                                    content=GUIDE_INTERFACES, mode="0644")
    assert files_of(spec)["/etc/network/interfaces"]["content"] == GUIDE_INTERFACES


@pytest.mark.parametrize("nic, stanza", [
    (dict(), "auto eth2\niface eth2 inet dhcp\n"),
    (dict(ip=["10.9.0.5", "10.9.0.6"], netmask="255.255.0.0", gateway="10.9.0.1"),
     "auto eth2\niface eth2 inet static\n address 10.9.0.5\n netmask 255.255.0.0\n gateway 10.9.0.1\n\n"
     "auto eth2:1\niface eth2:1 inet static\n address 10.9.0.6\n netmask 255.255.0.0\n"),
])
def test_a_further_nic_gets_a_stanza_like_eth0s(nic, stanza):
    spec = spec_of(dhcp=False, bridge=None, mac=None, nics=GUIDE_NICS + [nic])
    assert golden_image.network_interfaces(spec) == GUIDE_INTERFACES + "\n" + stanza


def test_config_has_a_vif_per_nic():
    settings = golden_image.config_settings(spec_of(dhcp=False, bridge=None, mac=None, nics=GUIDE_NICS))
    assert settings["vif"] == ["mac=%s,bridge=xenbr0" % derive_mac("test1").upper(),
                               "mac=%s,bridge=xenbr1" % derive_mac("test1", 1).upper()]
    assert settings["dhcp"] == "dhcp"


def test_config_of_a_pvh_guest():
    settings = golden_image.config_settings(spec_of(pvh=True, kernel="/boot/vmlinuz", initrd="/boot/initrd.img"))
    assert settings["type"] == "pvh" and settings["kernel"] == "/boot/vmlinuz"
    assert settings["ramdisk"] == "/boot/initrd.img" and settings["extra"] == "console=hvc0"
    assert settings["root"] == "/dev/xvda2 ro" and "bootloader" not in settings


def test_write_config_renders_the_layout_for_its_boot_kind(host):
    spec = spec_from_params(dict(host.args, dhcp=False, mac=None, pvh=True, kernel="/boot/vmlinuz", nics=GUIDE_NICS))
    golden_image.write_config(spec)
    written = parse_xen_cfg(open(spec.config_path).read())
    assert canonical(written) == canonical(golden_image.config_settings(spec))
    assert written["type"] == "pvh" and len(written["vif"]) == 2
