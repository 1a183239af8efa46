# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module, random and boundary values for every option: a clean result or a clean ``failed``, never a traceback.

The options come from the argument spec each module's ``main()`` builds
(captured from its ``AnsibleModule(...)`` call). Per option a case draws a
plausible value, a boundary value of its type (empty, huge, negative, NUL,
newline, U+2028, ``..``, ``$(x)``...) or a value of another type; sub-options
get nested dicts with random extra keys. Every host command goes to
:class:`FakeHost` (a benign dom0 that fails one scripted command per case
now and then), the module's default paths point into the case's temporary
directory, and every file write outside it is refused (PermissionError) and
counted, so nothing on the real host is touched even when the tests run as
root.

Cases are seeded: case ``i`` of a module uses seed ``KXEN_FUZZ_SEED + i``
(default 0) and each module runs ``KXEN_FUZZ_COUNT`` cases (default 160). A
failure prints the module, the seed, the arguments and the traceback; rerun
one case with ``KXEN_FUZZ_SEED=<seed> KXEN_FUZZ_COUNT=1``.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import random
import shutil
import signal
import tempfile
import traceback

import pytest

from ansible.module_utils import basic

from ansible_collections.kuutorvaja.xen.plugins.module_utils import (
    golden_image,
    guest_model,
    host_tools,
    toolstack,
    xen_domain as domain_backend,
    xen_guest as guest_backend,
    xen_image as image_backend,
    xen_info as info_backend,
)
from ansible_collections.kuutorvaja.xen.plugins.modules import (
    xen_disk,
    xen_dom0_files,
    xen_domain,
    xen_guest,
    xen_guest_config,
    xen_guest_files,
    xen_image,
    xen_info,
)

from ...conftest import fixture_text, patch_module_args
from ...conftest_helpers import ext_head, write_ext_image

MODULES = {
    "xen_disk": xen_disk,
    "xen_dom0_files": xen_dom0_files,
    "xen_domain": xen_domain,
    "xen_guest": xen_guest,
    "xen_guest_config": xen_guest_config,
    "xen_guest_files": xen_guest_files,
    "xen_image": xen_image,
    "xen_info": xen_info,
}
BASE_SEED = int(os.environ.get("KXEN_FUZZ_SEED", "0"))
COUNT = int(os.environ.get("KXEN_FUZZ_COUNT", "160"))
CHUNKS = 2 if COUNT > 1 else 1
CASE_SECONDS = 20

# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\t", "a", "0", "-1", "..", "/", "//", "/..", "../../etc/passwd", ".", "-", "--help", "-rf",
    "\0", "a\0b", "\n", "x\ny", "x\r\ny", "\u2028", "x\u2029y", "\ufeff", "\u202e", "ünïcödé", "名前", "\U0001F4A5",
    "$(reboot)", "`id`", ";rm -rf /", "a b", "a,b", "a=b", "'", '"', "\\", "\\x", "*", "~", "~root", "%s", "%d",
    "%(x)s", "{}", "{0}", "[]", "null", "None", "true", "NaN", "1e309", "0x10", "08", "-0", "+1",
    "a" * 255, "a" * 256, "b" * 4096, "c" * 70000, "/" + "d" * 300, "/x/" * 2000, ":", "a:b", "#", "!",
]
HOSTILE_INTS = [0, -1, 1, 2, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64 + 1, -2 ** 63, 10 ** 30, 10 ** 400]
HOSTILE_OTHER = [None, True, False, 1.5, -0.0, 1e308, float("inf"), float("nan"), [], [""], [None], [[]], [{}],
                 {}, {"": ""}, {"a": {"b": [1, {"c": None}]}}, ["a"] * 300, list(range(50))]
PLAIN_SIZES = ["2G", "512M", "128M", "1G", "64M", "1", "1.5G", "2Gb", "2GiB", "4096", "1K", "0", "-1", "0M",
               "64T", "65T", "1e3", "99999999999999999999G", "0.0001M", "1.2.3", "G", " 2G ", "2g", "1023K", 2048]
SIZE_OPTIONS = ("size", "swap", "memory", "maxmem", "disk_size")
GUEST_NAMES = ["test1", "web-01", "newguest", "Domain-0", "a", "x" * 128, "x" * 129, "123", "a.b", "g+1",
               "web--incoming", "migrating-x", "(null)", "-lead", "a/b", "a b"]
GUEST_PATHS = ["/etc/hostname", "/root/.ssh", "/root/.ssh/authorized_keys", "/etc/shadow", "/lib/tls",
               "/etc/console/boottime.kmap.gz", "/etc", "/", "/../../etc/passwd", "relative", "/new/dir/file",
               "/etc/passwd", "/etc/../../../x"]


def hostile(rng, depth=0):
    """A value of any type, mostly nasty."""
    pick = rng.random()
    if pick < 0.55:
        return rng.choice(HOSTILE_STRINGS)
    if pick < 0.75:
        return rng.choice(HOSTILE_INTS) * rng.choice([1, -1])
    if pick < 0.9 or depth > 2:
        return rng.choice(HOSTILE_OTHER)
    if rng.random() < 0.5:
        return [hostile(rng, depth + 1) for _item in range(rng.randint(0, 4))]
    return {random_key(rng): hostile(rng, depth + 1) for _item in range(rng.randint(0, 4))}


def random_key(rng):
    return rng.choice(["x", "name", "path", "memory", "disk", "vif", "a b", "", "1abc", "kernel", "_", "k" * 300,
                       "on_crash", "é", "bootloader", "settings", "type", "uuid", "key", "value"])


class CaseHost:
    """The paths of one case: a fake dom0 under ``root``."""

    def __init__(self, root):
        self.root = root
        for sub in ("etc-xen/auto", "state", "log", "share/bookworm.d", "share/sid.d", "srv", "net/xenbr0/bridge", "images",
                    "dom0/etc", "tmp", "boot"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        self.config_dir = os.path.join(root, "etc-xen")
        with open(os.path.join(self.config_dir, "test1.cfg"), "w") as handle:
            handle.write(fixture_text("xen-4.17/test1.cfg"))
        with open(os.path.join(self.config_dir, "notes.txt"), "w") as handle:
            handle.write("not a config (\n")
        self.disk = write_ext_image(os.path.join(root, "images", "disk.img"), 64 * 1024 * 1024)
        self.golden = write_ext_image(os.path.join(root, "images", "golden.img"), 32 * 1024 * 1024)
        # test1 exists: its config above, its disks where xen-tools puts them under dir.
        os.makedirs(os.path.join(root, "srv", "domains", "test1"))
        write_ext_image(os.path.join(root, "srv", "domains", "test1", "disk.img"), 64 * 1024 * 1024)
        open(os.path.join(root, "srv", "domains", "test1", "swap.img"), "wb").close()
        self.raw = os.path.join(root, "images", "raw.img")
        with open(self.raw, "wb") as handle:
            handle.truncate(4 * 1024 * 1024)
        self.tarball = os.path.join(root, "guest.tar")
        open(self.tarball, "wb").close()
        self.kernel = os.path.join(root, "boot", "vmlinuz")
        open(self.kernel, "wb").close()
        with open(os.path.join(root, "dom0", "etc", "xen.conf"), "w") as handle:
            handle.write("KEY=old\n")
        self.cfg = os.path.join(self.config_dir, "test1.cfg")
        self.new_cfg = os.path.join(self.config_dir, "new.cfg")
        self.srv = os.path.join(root, "srv")
        self.paths = [
            self.disk, self.golden, self.raw, self.tarball, self.kernel, self.config_dir,
            os.path.join(self.config_dir, "test1.cfg"), os.path.join(self.config_dir, "new.cfg"),
            os.path.join(self.config_dir, "notes.txt"), os.path.join(root, "srv"),
            os.path.join(root, "images", "missing.img"), os.path.join(root, "dom0", "etc", "xen.conf"),
            os.path.join(root, "dom0", "etc", "new.conf"), os.path.join(root, "dom0", "newdir"),
            os.path.join(root, "dom0", "etc", "..", "etc", "x.conf"), os.path.join(root, "etc-xen", "auto"),
            root + "/", "/dev/null", "/dev/zero", "/proc/self/mem", "/etc/passwd", "/", "/nonexistent/x",
            "relative/path", "~", "$HOME/x",
        ]

    def plausible(self, rng, option, parent, spec):
        """A value a user could mean for ``option`` (None: no special pool)."""
        if parent == "operations":
            pools = {"path": GUEST_PATHS, "dest": GUEST_PATHS + ["/lib/tls.disabled"],
                     "content": ["x\n", "", "ssh-ed25519 AAAA key\n", "\0" * 3, "é" * 100],
                     "mode": ["0644", "0600", "644", "0o644", "999", "u+x", "7777"],
                     "owner": ["root", "0", "1000", "nosuch", "-1"], "group": ["root", "0", "nosuch"],
                     "user": ["root", "nosuch", "", "a:b"],
                     "password_hash": ["$6$salt$hash", "x:y", "a\nb", "", "!", "*"]}
        elif parent in ("directories", "files"):
            dom0 = os.path.join(self.root, "dom0")
            pools = {"path": [os.path.join(dom0, "etc", "xen.conf"), os.path.join(dom0, "etc", "new.conf"),
                              os.path.join(dom0, "newdir"), os.path.join(dom0, "etc"), dom0 + "/../dom0/x",
                              "relative", "/etc/passwd", os.path.join(dom0, "etc", "xen.conf", "sub")],
                     "stage": [os.path.join(dom0, "etc", "xen.conf.new"), os.path.join(dom0, "etc", "xen.conf")],
                     "mode": ["0644", "0755", 644, "0o644", "u=rw", "99999", -1],
                     "owner": ["root", "nosuchuser", "0", 0], "group": ["root", "nosuchgroup", "0"],
                     "content": ["KEY=new\n", "", "x" * 10000, "\0"], "validate": ["cat %s", "true %s", "%s", "x",
                                                                                   "'unterminated %s", "a %s %s"],
                     "key": ["KEY", "a.b", "bad key", "", "1x", "K" * 300], "value": ["v", "a\nb", "(x)", '"q"', ""]}
        elif parent == "settings" or option == "settings":
            return None
        else:
            pools = {
                "name": GUEST_NAMES, "hostname": GUEST_NAMES,
                "path": [self.disk, self.cfg] + self.paths, "image": [self.disk, self.raw] + self.paths,
                "config": [self.cfg, self.new_cfg] + self.paths, "config_dir": [self.config_dir] * 2 + self.paths,
                "dir": [self.srv] * 2 + self.paths, "install_source": [self.tarball, self.golden] + self.paths,
                "kernel": [self.kernel] * 2 + self.paths, "initrd": [self.kernel] * 2 + self.paths,
                "ramdisk": [self.kernel] * 2 + self.paths,
                "dist": ["bookworm", "bookworm", "etch", "Bookworm", "../x", ""],
                "lvm": ["vg0", "vg0", "vg 0", "../vg", ""], "mirror": ["http://u:p@deb.example/debian", "ftp://x", "-x"],
                "arch": ["amd64", "i386", "--x"], "ip": ["10.0.0.2", ["10.0.0.2"], ["10.0.0.2", "10.0.0.3"], "10.0.0.256", "::1",
                                                         "dhcp", ["x"], 5],
                "gateway": ["10.0.0.1", "x"], "netmask": ["255.255.255.0", "255.0.255.0", "33"],
                "nameserver": [["10.0.0.1"], ["x"]], "mac": ["00:16:3e:00:00:01", "00-16-3E-00-00-0A", "01:00:00:00:00:00",
                                                             "00:00:00:00:00:00", "zz"],
                "bridge": ["xenbr0", "br" * 10, "a b"], "roles": [["udev"], ["/abs/role"], ["bad role"]],
                "xen_tools_roles": [["udev"], ["bad role"]],
                "authorized_keys": [["ssh-ed25519 AAAA key"], ["a\nb"], [""]],
                "root_password_hash": ["$6$salt$hash", "x:y", "a\nb", "!", "*", "$1$" + "a" * 5000],
                "vcpus": [1, 2, 0, -1, 4096, 2 ** 40], "partition": [1, 2, 0, -1, 128],
                "shutdown_timeout": [1, 5, 300, 0, -5], "wait_timeout": [1, 5, 0, -1],
                "disks": [[dict(target=self.disk, vdev="xvda2")], [self.disk + ",xvda,w"],
                          [dict(target="rel", vdev="xvda")], [dict(target=self.disk, vdev="xv da", mode="q")],
                          [dict(path=self.disk, vdev="hdc:cdrom", prefix="nope:")], [1], [{"target": 5, "vdev": 5}]],
                "vifs": [[dict(mac="00:16:3e:00:00:01", bridge="xenbr0")], ["mac=00:16:3e:00:00:01"],
                         [dict(bridge="a,b")], [dict(unknown=1)], [dict(rate=5)], [3]],
                "boot": ["c", "cd", "x", "pygrub", "pv"], "vnclisten": ["0.0.0.0", "x"],
                "on_poweroff": ["destroy", "x y"], "on_reboot": ["restart"], "on_crash": ["restart", "'"],
                "extra": ["console=hvc0", "a'b"], "root": ["/dev/xvda2 ro"], "bootloader": ["pygrub", "/x"],
                "hvmloader": ["/usr/lib/xen/boot/hvmloader"], "device_model": ["qemu-dm"],
            }
            if option in SIZE_OPTIONS:
                return rng.choice(PLAIN_SIZES)
        if option in pools:
            # The first two values of a pool are the usable ones.
            return rng.choice(pools[option][:2] if rng.random() < 0.75 else pools[option])
        return None


def boundary(rng, host, kind):
    """A boundary value of type ``kind`` (half the time one of another type)."""
    if rng.random() < 0.5:
        return hostile(rng)
    if kind == "bool":
        return rng.choice(["yes", "no", "maybe", 0, 1, 2, "", "on"])
    if kind == "int":
        return rng.choice(HOSTILE_INTS + [-v for v in HOSTILE_INTS] + ["12", "abc", 1.5, "1e3", ""])
    if kind == "path":
        return rng.choice(host.paths + HOSTILE_STRINGS)
    if kind in ("list", "dict"):
        return hostile(rng, 1)
    return rng.choice(HOSTILE_STRINGS)


def value_for(rng, host, option, spec, bad, parent=None, depth=0):
    """A value for one option of ``spec``: a boundary value with probability ``bad``, else a plausible one.

    Plausible values are of the right type and mostly valid, so that a case
    gets past Ansible's own checks and the module's first refusal to the
    code behind them; their pools hold some invalid values too.
    """
    kind = spec.get("type", "str")
    if rng.random() < bad or depth > 3:
        return boundary(rng, host, kind)
    if spec.get("choices"):
        return rng.choice(list(spec["choices"]))
    value = host.plausible(rng, option, parent, spec)
    if value is not None:
        return value
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "int":
        return rng.choice([1, 2, 5, 30])
    if kind == "dict":
        if spec.get("options"):
            return suboptions(rng, host, option, spec["options"], bad, depth + 1)
        return {rng.choice(SETTING_KEYS): rng.choice(SETTING_VALUES) if rng.random() >= bad else hostile(rng, depth + 1)
                for _item in range(rng.randint(0, 4))}
    if kind == "list":
        if spec.get("options"):
            return [suboptions(rng, host, option, spec["options"], bad, depth + 1) for _item in range(rng.choice([1, 1, 2, 3]))]
        element = dict(type=spec.get("elements", "str"))
        return [value_for(rng, host, option, element, bad, parent, depth + 1) for _item in range(rng.choice([1, 1, 2]))]
    if kind == "path":
        return rng.choice(host.paths[:8])
    return rng.choice(["x", "test1", "a-b", "1"])


SETTING_KEYS = ["serial", "cpus", "on_xend_start", "uuid", "x", "extra_key", "localtime", "memory", "name", "a b", "1x"]
SETTING_VALUES = ["pty", "0-1", "ignore", 1, 0, "a'b", ["a", "b"], True, 1.5, {"k": "v"}, None, -3, ""]


def suboptions(rng, host, parent, options, bad, depth):
    """A dict for an option with sub-options; now and then with a key the spec does not know."""
    value = {}
    for option, spec in options.items():
        if spec.get("required") or rng.random() < 0.5:
            value[option] = value_for(rng, host, option, spec, bad, parent=parent, depth=depth)
    if rng.random() < bad:
        value[random_key(rng)] = hostile(rng, depth)
    return value


def base_args(module_name, host):
    """Arguments that work for ``module_name`` on the fake host: what the mutating cases start from."""
    dom0 = os.path.join(host.root, "dom0")
    return {
        "xen_disk": dict(name="newguest", path=host.disk, size="128M"),
        "xen_dom0_files": dict(
            directories=[dict(path=os.path.join(dom0, "newdir"), mode="0750")],
            files=[dict(path=os.path.join(dom0, "etc", "xen.conf"), settings=[dict(key="KEY", value="new")]),
                   dict(path=os.path.join(dom0, "etc", "new.conf"), content="A=1\n", validate="cat %s")]),
        "xen_domain": dict(name="test1", config=host.cfg, state="running", autostart=True),
        "xen_guest": dict(guests=[dict(name="newguest", ip="10.0.0.9", authorized_keys=["ssh-ed25519 AAAA k"]),
                                  dict(name="test1", state="shutdown", autostart=False)],
                          defaults=dict(disk_size="64M", swap="16M", root_password_hash="$6$salt$hash")),
        "xen_guest_config": dict(name="newguest", memory="256M", type="pygrub",
                                 disks=[dict(target=host.disk, vdev="xvda2")],
                                 vifs=[dict(mac="00:16:3e:00:00:01", bridge="xenbr0")]),
        "xen_guest_files": dict(name="newguest", image=host.disk, operations=[
            dict(action="write", path="/etc/hostname", content="newguest\n", mode="0644"),
            dict(action="password", password_hash="$6$salt$hash"), dict(action="read", path="/etc/passwd")]),
        "xen_image": dict(name="newguest", dist="bookworm", dir=host.srv, dhcp=True, size="64M", swap="16M",
                          authorized_keys=["ssh-ed25519 AAAA k"], root_password_hash="$6$salt$hash"),
        "xen_info": dict(),
    }[module_name]


def mutate(rng, host, args, spec, rate):
    """Change, add or drop each option of ``args`` with probability ``rate`` (items of lists of dicts too)."""
    for option, option_spec in spec.items():
        if rng.random() >= rate:
            value = args.get(option)
            if isinstance(value, list) and option_spec.get("options") and value and rng.random() < rate * 4:
                item = rng.choice(value)
                if isinstance(item, dict):
                    mutate(rng, host, item, option_spec["options"], 0.3)
            continue
        if option in args and rng.random() < 0.2:
            del args[option]
        else:
            args[option] = value_for(rng, host, option, option_spec, rng.choice([0.3, 0.6, 1.0]))


def case_args(rng, host, captured, module_name):
    """The module arguments of one case: a working set mutated, or every option drawn (constraints mostly kept)."""
    if rng.random() < 0.5:
        args = base_args(module_name, host)
        mutate(rng, host, args, captured["argument_spec"], rng.choice([0.05, 0.1, 0.2]))
        if rng.random() < 0.05:
            args[random_key(rng)] = hostile(rng)
        return dict(args, _ansible_check_mode=rng.random() < 0.3, _ansible_diff=rng.random() < 0.5,
                    _ansible_tmpdir=os.path.join(host.root, "tmp"))
    bad = rng.choice([0.0, 0.0, 0.02, 0.05, 0.1, 0.3])
    spec = captured["argument_spec"]
    args = {}
    for option, option_spec in spec.items():
        if option_spec.get("required") or rng.random() < 0.5:
            args[option] = value_for(rng, host, option, option_spec, bad)
    if rng.random() < 0.9:
        for group in captured.get("mutually_exclusive") or []:
            given = [o for o in group if o in args]
            for option in given[1:]:
                del args[option]
        for group in captured.get("required_one_of") or []:
            if not any(o in args for o in group):
                option = rng.choice(list(group))
                args[option] = value_for(rng, host, option, spec[option], bad)
        for option, value, needed in captured.get("required_if") or []:
            if args.get(option, spec[option].get("default")) == value:
                for need in needed:
                    args.setdefault(need, value_for(rng, host, need, spec[need], bad))
    if rng.random() < bad:
        args[random_key(rng)] = hostile(rng)
    args["_ansible_check_mode"] = rng.random() < 0.3
    args["_ansible_diff"] = rng.random() < 0.5
    args["_ansible_tmpdir"] = os.path.join(host.root, "tmp")
    return args


# --------------------------------------------------------------------------
# The confinement: no write outside the case's directory
# --------------------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Confinement:
    """Patches every os/builtins call that writes: outside ``root`` it raises PermissionError and counts."""

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.refused = []

    def inside(self, path, dir_fd=None):
        if isinstance(path, int):
            return True  # an open descriptor: opening it was checked
        path = os.fsdecode(path)
        if dir_fd is not None and not os.path.isabs(path):
            path = os.path.join(os.readlink("/proc/self/fd/%d" % dir_fd), path)
        path = os.path.abspath(path)
        parent = os.path.realpath(os.path.dirname(path))
        full = os.path.join(parent, os.path.basename(path))
        return full == self.root or full.startswith(self.root + "/")

    def check(self, what, *paths, dir_fd=None):
        for path in paths:
            if not self.inside(path, dir_fd):
                self.refused.append((what, path))
                raise PermissionError(errno.EACCES, "fuzz confinement refused %s" % what, path)

    def install(self, monkeypatch):
        real = {name: getattr(os, name) for name in (
            "open", "mkdir", "rename", "replace", "unlink", "remove", "rmdir", "symlink", "link", "chmod", "chown",
            "lchown", "truncate", "utime", "mknod", "mkfifo")}
        real_open = builtins.open

        def guarded_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+"):
                self.check("open(%s)" % mode, file)
            return real_open(file, mode, *args, **kwargs)

        def os_open(path, flags, mode=0o777, *, dir_fd=None):
            if flags & _WRITE_FLAGS:
                self.check("os.open", path, dir_fd=dir_fd)
            return real["open"](path, flags, mode, dir_fd=dir_fd)

        def one_path(name):
            def guarded(path, *args, **kwargs):
                self.check("os." + name, path, dir_fd=kwargs.get("dir_fd"))
                return real[name](path, *args, **kwargs)
            return guarded

        def two_paths(name):
            def guarded(src, dst, *args, **kwargs):
                if name not in ("symlink",):
                    self.check("os." + name, src, dir_fd=kwargs.get("src_dir_fd"))
                self.check("os." + name, dst, dir_fd=kwargs.get("dst_dir_fd", kwargs.get("dir_fd")))
                return real[name](src, dst, *args, **kwargs)
            return guarded

        monkeypatch.setattr(builtins, "open", guarded_open)
        monkeypatch.setattr(os, "open", os_open)
        for name in ("mkdir", "unlink", "remove", "rmdir", "chmod", "chown", "lchown", "truncate", "utime", "mknod",
                     "mkfifo"):
            monkeypatch.setattr(os, name, one_path(name))
        for name in ("rename", "replace", "symlink", "link"):
            monkeypatch.setattr(os, name, two_paths(name))
        monkeypatch.setattr(tempfile, "tempdir", os.path.join(self.root, "tmp"))


# --------------------------------------------------------------------------
# The host's commands
# --------------------------------------------------------------------------

INSTALLED = ("xl", "xm", "xen-create-image", "unshare", "losetup", "mount", "umount", "e2fsck", "resize2fs",
             "mkswap", "cp", "ssh-keygen", "lvremove", "cat", "true", "false")


class FakeHost:
    """A benign dom0 behind ``run_command``: keeps its domains, makes what xen-create-image would, fails on cue."""

    def __init__(self, rng, host):
        self.host = host
        self.toolstack = rng.choice(["xl", "xl", "xl", "xm"])
        self.domains = {"Domain-0": (0, "r-----")}
        state = rng.choice([None, "r-----", "-b----", "--p---", "---s--", "----c-", "-----d"])
        if state:
            self.domains["test1"] = (1, state)
        self.next_domid = 5
        self.listed = 0
        self.fail_at = rng.choice([None, None, None]) if rng.random() < 0.5 else rng.randint(0, 12)
        self.garbage = rng.random() < 0.08
        self.calls = 0
        missing = set(rng.sample(INSTALLED, rng.randint(1, 3))) if rng.random() < 0.1 else set()
        self.installed = set(INSTALLED) - missing

    # -- AnsibleModule methods --------------------------------------------------
    def get_bin_path(self, name):
        return "/usr/sbin/%s" % name if name in self.installed else None

    def run_command(self, args, **kwargs):
        assert isinstance(args, list), "commands must be argv lists"
        argv = [os.path.basename(args[0])] + [str(a) for a in args[1:]]
        if argv[0] == "unshare":
            argv = [os.path.basename(argv[5])] + argv[6:]
        index, self.calls = self.calls, self.calls + 1
        if index == self.fail_at:
            return 1, "", "fuzz: scripted failure of %s" % argv[0]
        try:
            handler = getattr(self, "cmd_" + argv[0].replace("-", "_"), None)
            return handler(argv) if handler else (0, "", "")
        except OSError as exc:
            return 1, "", str(exc)

    # -- the toolstack ---------------------------------------------------------
    def cmd_xl(self, argv):
        if self.garbage and argv[1] in ("list", "info"):
            return 0, "garbage \0\n(((\n{", ""
        sub, rest = argv[1], argv[2:]
        if sub == "list" and rest in (["-l"], ["--long"]) or sub == "list" and rest[:1] in (["-l"], ["--long"]):
            if self.toolstack == "xm" or "test1" not in self.domains:
                return 0, "[]" if argv[0] == "xl" else "", ""
            return 0, fixture_text("xen-4.17/xl-list-l-running.json"), ""
        if sub == "list":
            self.listed += 1
            lines = ["Name                                        ID   Mem VCPUs\tState\tTime(s)"]
            for name, (domid, flags) in list(self.domains.items()):
                if flags in ("---s--", "-----d") and self.listed > 2:
                    del self.domains[name]
                    continue
                lines.append("%-40s %5d   256     1     %s    1.0" % (name, domid, flags))
            return 0, "\n".join(lines) + "\n", ""
        if sub == "info":
            return 0, fixture_text("xen-4.17/xl-info.txt"), ""
        if sub == "dmesg":
            return 0, fixture_text("xen-4.17/xl-dmesg.txt"), ""
        if sub == "create":
            name = os.path.basename(rest[-1])[:-4] if rest[-1].endswith(".cfg") else "guest"
            self.domains[name] = (self.next_domid, "--p---" if "-p" in rest else "r-----")
            self.next_domid += 1
            return 0, "", ""
        name = rest[-1] if rest else ""
        if name not in self.domains:
            return 1, "", "invalid domain identifier '%s'" % name
        domid, flags = self.domains[name]
        if sub in ("shutdown", "destroy"):
            del self.domains[name]
        elif sub == "pause":
            self.domains[name] = (domid, "--p---")
        elif sub == "unpause":
            self.domains[name] = (domid, "r-----")
        elif sub == "reboot":
            self.domains[name] = (self.next_domid, "r-----")
            self.next_domid += 1
        elif sub == "uptime":
            return 0, "Name  ID Uptime\n%s %d 0:01:02\n" % (name, domid), ""
        return 0, "", ""

    cmd_xm = cmd_xl

    # -- disks -------------------------------------------------------------------
    @staticmethod
    def cmd_losetup(argv):
        if "--find" in argv:
            return 0, "/dev/loop7\n", ""
        return 0, "", ""

    @staticmethod
    def cmd_mount(argv):
        point = argv[-1]
        for sub in ("etc", "root", "lib/tls", "etc/console"):
            os.makedirs(os.path.join(point, sub), exist_ok=True)
        with open(os.path.join(point, "etc", "shadow"), "w") as handle:
            handle.write("root:*:19000:0:99999:7:::\n")
        with open(os.path.join(point, "etc", "passwd"), "w") as handle:
            handle.write("root:x:0:0:root:/root:/bin/sh\n")
        return 0, "", ""

    @staticmethod
    def cmd_umount(argv):
        point = argv[-1]
        for entry in os.listdir(point) if os.path.isdir(point) else []:
            shutil.rmtree(os.path.join(point, entry))
        return 0, "", ""

    @staticmethod
    def cmd_resize2fs(argv):
        path = argv[-1]
        with open(path, "r+b") as handle:
            handle.write(ext_head(os.path.getsize(path)))
        return 0, "", ""

    @staticmethod
    def cmd_cp(argv):
        shutil.copyfile(argv[-2], argv[-1])
        return 0, "", ""

    @staticmethod
    def cmd_ssh_keygen(argv):
        if "-l" in argv:
            return 0, "256 SHA256:fuzz root@guest (ED25519)\n", ""
        base = argv[argv.index("-f") + 1]
        for path in (base, base + ".pub"):
            with open(path, "w") as handle:
                handle.write("key\n")
        return 0, "", ""

    def cmd_xen_create_image(self, argv):
        options = dict(a[2:].partition("=")[::2] for a in argv[1:] if a.startswith("--"))
        name = options["hostname"]
        if options.get("lvm"):
            return 0, "", ""
        base = os.path.join(options["dir"], "domains", name)
        os.makedirs(base, exist_ok=True)
        write_ext_image(os.path.join(base, "disk.img"), 16 * 1024 * 1024)
        if "noswap" not in options:
            open(os.path.join(base, "swap.img"), "wb").close()
        with open(os.path.join(options["output"], name + ".cfg"), "w") as handle:
            handle.write("name = '%s'\nmemory = 256\n" % name)
        return 0, "Installation Summary\n---\nHostname : %s\nMAC Address : %s\n" % (name, options.get("mac", "")), ""


# --------------------------------------------------------------------------
# Running a case
# --------------------------------------------------------------------------


class _Exit(Exception):
    pass


class _Captured(Exception):
    pass


class _Timeout(BaseException):
    pass


def captured_spec(main):
    """The keyword arguments ``main()`` passes to AnsibleModule (its argument spec and constraints)."""
    def capture(self, **kwargs):
        raise _Captured(kwargs)

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        with patch_module_args({}):
            main()
    except _Captured as exc:
        return exc.args[0]
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError("main() built no AnsibleModule")


def point_defaults_into(monkeypatch, host):
    """Every default path the modules write or read for the host goes into the case directory."""
    root = host.root
    monkeypatch.setattr(image_backend, "XEN_TOOLS_SHARE", os.path.join(root, "share"))
    monkeypatch.setattr(image_backend, "STATE_DIR", os.path.join(root, "state"))
    monkeypatch.setattr(image_backend, "AUTOSTART_DIR", os.path.join(root, "etc-xen", "auto"))
    monkeypatch.setattr(image_backend, "CONFIG_DIR", host.config_dir)
    monkeypatch.setattr(domain_backend, "AUTOSTART_DIR", os.path.join(root, "etc-xen", "auto"))
    monkeypatch.setattr(guest_model.config_path_for, "__defaults__", (host.config_dir,))
    monkeypatch.setattr(guest_model.autostart_link_for, "__defaults__", (os.path.join(root, "etc-xen", "auto"),))
    monkeypatch.setattr(guest_model.autostarts, "__defaults__", (os.path.join(root, "etc-xen", "auto"),))
    monkeypatch.setitem(guest_backend.BUILTIN_DEFAULTS, "dir", os.path.join(root, "srv"))
    monkeypatch.setitem(guest_backend.BUILTIN_DEFAULTS, "config_dir", host.config_dir)
    monkeypatch.setitem(xen_image.ARGUMENT_SPEC["config_dir"], "default", host.config_dir)
    monkeypatch.setattr(host_tools, "XEN_TOOLS_LOG_DIR", os.path.join(root, "log"))
    monkeypatch.setattr(host_tools, "MOUNTINFO", os.path.join(root, "mountinfo"))
    monkeypatch.setattr(host_tools.Mounts.__init__, "__defaults__", (None, lambda seconds: None))
    monkeypatch.setattr(toolstack, "DEBIAN_TOOLSTACK_DEFAULTS", os.path.join(root, "default-xen"))
    monkeypatch.setattr(toolstack.Toolstack, "net_dir", os.path.join(root, "net"))
    monkeypatch.setattr(toolstack.XlToolstack, "log_dir", os.path.join(root, "log"))
    monkeypatch.setattr(info_backend, "CAPABILITIES", os.path.join(root, "capabilities"))
    monkeypatch.setattr(info_backend, "MEMINFO", os.path.join(root, "meminfo"))
    monkeypatch.setattr(golden_image, "HOST_KEY_TYPES", ("ed25519",))

    def isdir(path):
        # The dom0's bridges: xenbr0 only.
        if path.startswith("/sys/class/net/"):
            path = os.path.join(root, "net", path[len("/sys/class/net/"):])
        return os.path.isdir(path)

    monkeypatch.setattr(image_backend.check_host, "__defaults__", (os.path.exists, isdir))


def shorten(value):
    """``value`` for a report: long strings and lists cut."""
    if isinstance(value, str) and len(value) > 80:
        return value[:40] + "...(%d chars)" % len(value)
    if isinstance(value, list):
        return [shorten(v) for v in value[:8]] + (["...(%d items)" % len(value)] if len(value) > 8 else [])
    if isinstance(value, dict):
        return {shorten(k): shorten(v) for k, v in value.items()}
    return value


def run_case(module_name, seed, workdir, seen=None):
    """Run one seeded case; return None when it ended cleanly, else a report."""
    rng = random.Random("%s:%d" % (module_name, seed))
    main = MODULES[module_name].main
    root = tempfile.mkdtemp(prefix="case-", dir=workdir)
    host = CaseHost(root)
    captured = captured_spec(main)
    args = case_args(rng, host, captured, module_name)
    fake = FakeHost(rng, host)
    clock = [1000.0]

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise _Exit(("exit", kwargs))

    def fail_json(self, msg=None, **kwargs):
        raise _Exit(("fail", dict(kwargs, msg=msg)))

    def sleep(seconds):
        clock[0] += seconds

    def on_alarm(signum, frame):
        raise _Timeout()

    monkeypatch = pytest.MonkeyPatch()
    confinement = Confinement(root)
    outcome = None
    try:
        point_defaults_into(monkeypatch, host)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, a, **kw: fake.run_command(a, **kw))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                            lambda self, name, required=False, opt_dirs=None: fake.get_bin_path(name))
        fake_time = type("FakeTime", (), dict(monotonic=staticmethod(lambda: clock[0]), sleep=staticmethod(sleep)))
        monkeypatch.setattr(toolstack, "time", fake_time)
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(CASE_SECONDS)
        printed = io.StringIO()
        try:
            with patch_module_args(args), contextlib.redirect_stdout(printed):
                confinement.install(monkeypatch)
                main()
            outcome = "main() returned without exit_json or fail_json"
        except SystemExit as exc:
            # Only option_validation exits by itself (ansible-core crashed
            # while validating): its printed result must be a clean failure.
            try:
                result = json.loads(printed.getvalue())
            except ValueError:
                result = {}
            if exc.code != 1 or result.get("failed") is not True or not isinstance(result.get("msg"), str):
                outcome = "exit %r with %r" % (exc.code, printed.getvalue()[:300])
            elif seen is not None:
                seen.append(("fail", result["msg"][:70], confinement.refused[:2]))
        except _Exit as exc:
            kind, result = exc.args[0]
            if seen is not None:
                seen.append((kind, str(result.get("msg"))[:70], confinement.refused[:2]))
            if kind == "fail" and not (isinstance(result.get("msg"), str) and result["msg"]):
                outcome = "fail_json without a message: %r" % (result,)
            else:
                try:
                    json.dumps(result)
                except (TypeError, ValueError) as error:
                    outcome = "result is not JSON: %s" % error
        except _Timeout:
            outcome = "no result within %d s:\n%s" % (CASE_SECONDS, traceback.format_exc())
        except BaseException:  # pylint: disable=broad-except
            outcome = traceback.format_exc()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    finally:
        monkeypatch.undo()
        shutil.rmtree(root, ignore_errors=True)
    if outcome is None:
        return None
    shown = shorten(args)
    return "module %s, seed %d (rerun: KXEN_FUZZ_SEED=%d KXEN_FUZZ_COUNT=1 -k %s)\nargs: %r\n%s" % (
        module_name, seed, seed, module_name, shown, outcome)


@pytest.mark.parametrize("module_name, chunk", [(m, c) for m in sorted(MODULES) for c in range(CHUNKS)])
def test_no_traceback_on_any_input(module_name, chunk, tmp_path):
    seeds = [BASE_SEED + i for i in range(COUNT) if i % CHUNKS == chunk]
    failures = [report for report in (run_case(module_name, seed, str(tmp_path)) for seed in seeds) if report]
    assert not failures, "%d of %d cases ended badly:\n%s\n\nThe first:\n%s" % (
        len(failures), len(seeds), "\n".join(f.splitlines()[0] + " " + f.splitlines()[-1] for f in failures), failures[0])


def test_confinement_refuses_writes_outside_the_case(tmp_path):
    """The guard the fuzz cases run under: a write outside the case directory never happens."""
    monkeypatch = pytest.MonkeyPatch()
    confinement = Confinement(str(tmp_path))
    outside = "/nonexistent-kxen-fuzz/x"
    try:
        confinement.install(monkeypatch)
        for attempt in (lambda: open(outside, "w"), lambda: os.mkdir(outside), lambda: os.unlink("/etc/hostname"),
                        lambda: os.rename(str(tmp_path), outside), lambda: os.truncate("/etc/hostname", 0),
                        lambda: tempfile.mkstemp(dir="/var/tmp"), lambda: os.symlink("/x", outside)):
            with pytest.raises(PermissionError):
                attempt()
        with open(str(tmp_path / "inside"), "w") as handle:
            handle.write("ok")
    finally:
        monkeypatch.undo()
    assert len(confinement.refused) == 7 and (tmp_path / "inside").read_text() == "ok"
