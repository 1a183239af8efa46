# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render/parse of Xen guest configs, round-tripped with the seed's two configs (DIGEST.md sections 4 and 9).

"Equals the seed" means, precisely:

1. semantic: parse(seed) is the expected dict, and parse(render(parse(seed))) == parse(seed);
2. canonical: render(parse(seed)) is byte-equal to ``seed/*.canonical.cfg``, and that file
   differs from the seed only in whitespace outside strings and in the quote character
   (checked by :func:`squash`), and it is a fixed point of parse+render.
"""

from __future__ import annotations

import random
import re

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import parse_xl_list_long
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    config_differences,
    normalise_guest_config,
    parse_disk_spec,
    parse_xen_cfg,
    render_xen_cfg,
)
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

SEED_PV = {
    "name": "xen.loomaaed.tartu.ee",
    "kernel": "/boot/vmlinuz-2.6.18-6-xen-i386",
    "ramdisk": "/boot/initrd.img-2.6.18-6-xen-i386",
    "root": "/dev/sda1 ro",
    "memory": "1024",
    "disk": [
        "file:/data/domains/xen.loomaaed.tartu.ee/disk.img,sda1,w",
        "file:/data/domains/xen.loomaaed.tartu.ee/swap.img,sda2,w",
    ],
    "vif": ["mac=00:16:3E:2C:7E:EF"],
    "vcpus": "1",
}

SEED_HVM = {
    "kernel": "/usr/lib/xen-3.0.3-1/boot/hvmloader",
    "builder": "hvm",
    "device_model": "/usr/lib/xen-3.0.3-1/bin/qemu-dm",
    "memory": "2048",
    "vcpus": "1",
    "name": "full-virt",
    "vif": ["mac=00:16:3E:3A:8E:7A, type=ioemu, bridge=xenbr2"],
    "disk": [
        "file:/data/zones/domains/full-virt/disk.img,ioemu:hda,w",
        "file:/data/images/debian-40r0-i386-CD-1.iso,hdc:cdrom,r",
    ],
    "boot": "d",
    "vnc": 1,
}

SEEDS = [("seed/section4-pv", SEED_PV), ("seed/section9-hvm", SEED_HVM)]


def squash(text):
    """The text with whitespace outside strings removed and every quote made a single quote."""
    out, quote = [], None
    for char in text:
        if quote:
            out.append("'" if char == quote else char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append("'")
        elif not char.isspace():
            out.append(char)
    return "".join(out)


@pytest.mark.parametrize("stem, expected", SEEDS, ids=[s[0] for s in SEEDS])
def test_seed_parses_to_expected_dict_in_file_order(stem, expected):
    parsed = parse_xen_cfg(fixture_text(stem + ".cfg"))
    assert parsed == expected
    assert list(parsed) == list(expected)


@pytest.mark.parametrize("stem, expected", SEEDS, ids=[s[0] for s in SEEDS])
def test_seed_semantic_round_trip(stem, expected):
    parsed = parse_xen_cfg(fixture_text(stem + ".cfg"))
    for options in ({}, {"align": False}, {"multiline_lists": False}, {"key_order": ["vcpus", "name"]}):
        assert parse_xen_cfg(render_xen_cfg(parsed, **options)) == parsed


@pytest.mark.parametrize("stem, expected", SEEDS, ids=[s[0] for s in SEEDS])
def test_seed_canonical_form_is_byte_equal(stem, expected):
    seed = fixture_text(stem + ".cfg")
    canonical = fixture_text(stem + ".canonical.cfg")
    assert render_xen_cfg(parse_xen_cfg(seed)) == canonical
    # the canonical file only re-lays-out the seed ...
    assert squash(canonical) == squash(seed)
    # ... and is a fixed point
    assert render_xen_cfg(parse_xen_cfg(canonical)) == canonical


def test_section4_canonical_is_the_seed_without_the_wiki_indent():
    seed = fixture_text("seed/section4-pv.cfg")
    rendered = render_xen_cfg(parse_xen_cfg(seed))
    assert rendered == "".join(line[1:] + "\n" for line in seed.splitlines()).replace("vif  = ", "vif     = ").replace(
        'vcpus="1"', "vcpus   = '1'"
    )


def test_key_order_puts_keys_first_then_dict_order():
    text = render_xen_cfg({"memory": 256, "disk": ["a"], "name": "x", "vcpus": 1}, key_order=["name", "vcpus", "absent"])
    assert text == "name   = 'x'\nvcpus  = 1\nmemory = 256\ndisk   = [ 'a' ]\n"


def test_layout_options():
    settings = {"name": "x", "disk": ["a,xvda,w", "b,xvdb,r"], "on": True, "off": False, "nothing": None}
    assert render_xen_cfg(settings, align=False, multiline_lists=False) == (
        "name = 'x'\ndisk = [ 'a,xvda,w', 'b,xvdb,r' ]\non = 1\noff = 0\n"
    )
    assert render_xen_cfg(settings, align=False) == "name = 'x'\ndisk = [ 'a,xvda,w',\n         'b,xvdb,r' ]\non = 1\noff = 0\n"
    assert render_xen_cfg({}) == ""
    assert render_xen_cfg({"vif": []}) == "vif = [ ]\n"


def test_quotes_chosen_to_fit_the_value():
    assert render_xen_cfg({"extra": "console=hvc0 x='y'"}) == "extra = \"console=hvc0 x='y'\"\n"
    assert parse_xen_cfg(render_xen_cfg({"extra": "a'b"})) == {"extra": "a'b"}


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"1name": "x"}, "not a valid Xen config key"),
        ({"na-me": "x"}, "not a valid Xen config key"),
        ({"memory": 1.5}, "has type float"),
        ({"disk": [[{"a": 1}]]}, "has type dict"),
        ({"cpus": {"a": 1}}, "has type dict"),
        ({"extra": "a\\"}, "ends in a backslash"),
        ({"disk": ["/x,xvda,w\\"]}, "ends in a backslash"),
        ({"extra": "a\nb"}, "control character \\(U\\+000A\\)"),
        ({"extra": "a\tb"}, "control character \\(U\\+0009\\)"),
        ({"extra": "a\rb"}, "control character"),
        ({"extra": "a\x00b"}, "control character"),
        ({"extra": "a\x7fb"}, "control character"),
        ({"extra": "a\x85b"}, "control character \\(U\\+0085\\)"),
        ({"extra": "a\vb"}, "control character"),
        ({"extra": "a\u2028b"}, "line separator \\(U\\+2028\\)"),
        ({"extra": "a\u2029b"}, "paragraph separator \\(U\\+2029\\)"),
        ({"extra": "a\ud800b"}, "lone surrogate"),
        ({"memory": -1}, "negative"),
    ],
)
def test_render_refuses_what_xen_cannot_read(settings, fragment):
    with pytest.raises(XenCfgError, match=fragment):
        render_xen_cfg(settings)


def test_render_refuses_non_dict():
    with pytest.raises(XenCfgError, match="must be a dict"):
        render_xen_cfg(["name", "x"])


def test_parse_xen_tools_output_with_trailing_comma():
    parsed = parse_xen_cfg(fixture_text("xen-4.17/test1.cfg"))
    assert parsed["disk"] == ["file:/srv/xen/domains/test1/disk.img,xvda2,w", "file:/srv/xen/domains/test1/swap.img,xvda1,w"]
    assert parsed["vif"] == ["mac=00:16:3E:78:5D:6A,bridge=xenbr0"]
    assert parsed["on_poweroff"] == "destroy"
    assert list(parsed) == [
        "bootloader", "vcpus", "memory", "root", "disk", "name", "dhcp", "vif", "on_poweroff", "on_reboot", "on_crash",
    ]


def test_parse_comments_semicolons_hex_escapes_and_repeats():
    text = (
        "# a comment\n"
        "memory = 512  # trailing comment\n"
        "maxmem = 0x400; vcpus = 2\n"
        "extra = 'it\\'s'\n"
        "memory = 768\n"
        "cpus = [ \"0-1\" , 3 ,\n\n ]\n"
    )
    assert parse_xen_cfg(text) == {"memory": 768, "maxmem": 1024, "vcpus": 2, "extra": "it's", "cpus": ["0-1", 3]}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("import os\n", "line 1: expected '=' after 'import'"),
        ("name = 'x'\nkernel = '/boot/vmlinuz-' + os.uname()[2]\n", "line 2: unsupported syntax"),
        ("disk = [ 'a',\n 'b'\n", "not closed"),
        ("disk = [ 'a' 'b' ]\n", "expected ',' or ']'"),
        ("= 3\n", "line 1: expected a setting name"),
        ("memory = 1.5\n", "line 1: '1.5' is not a number xl can read"),
        ("name = 'x' 'y'\n", "unexpected"),
        ("name = 'unterminated\n", "line 1: unsupported syntax"),
    ],
)
def test_parse_rejects_python_and_broken_input_naming_the_line(text, fragment):
    with pytest.raises(XenCfgError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        parse_xen_cfg(text)


# -- comparison with a running domain -------------------------------------------------------


def test_recorded_guest_matches_its_config():
    wanted = normalise_guest_config(parse_xen_cfg(fixture_text("xen-4.17/test1.cfg")))
    running = parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-running.json"))["test1"]
    assert config_differences(wanted, running) == []


def test_differences_are_named():
    cfg = parse_xen_cfg(fixture_text("xen-4.17/test1.cfg"))
    cfg.update(memory="512", vcpus=2, vif=["mac=00:16:3e:78:5d:6a,bridge=xenbr1"])
    cfg["disk"] = cfg["disk"][:1]
    running = parse_xl_list_long(fixture_text("xen-4.17/xl-list-l-running.json"))["test1"]
    assert config_differences(normalise_guest_config(cfg), running) == [
        "memory: running 256 MiB, config 512 MiB",
        "vcpus: running 1, config 2",
        "disks: running xvda1=/srv/xen/domains/test1/swap.img(w), xvda2=/srv/xen/domains/test1/disk.img(w), "
        "config xvda2=/srv/xen/domains/test1/disk.img(w)",
        "vif 0 bridge: running xenbr0, config xenbr1",
    ]


def test_vif_without_mac_matches_any_mac_but_count_matters():
    running = {"nics": [{"mac": "00:16:3e:00:00:01", "bridge": "xenbr0"}], "disks": []}
    assert config_differences(normalise_guest_config({"vif": ["bridge=xenbr0"]}), running) == []
    assert config_differences(normalise_guest_config({"vif": ["bridge=xenbr0", "bridge=xenbr1"]}), running) == [
        "vifs: running 1, config 2"
    ]


def test_normalise_seed_hvm_disks_and_key_value_disk_spec():
    norm = normalise_guest_config(SEED_HVM)
    assert norm["memory_mib"] == 2048 and norm["vcpus"] == 1
    assert norm["disks"] == [
        {"target": "/data/zones/domains/full-virt/disk.img", "vdev": "hda", "mode": "w"},
        {"target": "/data/images/debian-40r0-i386-CD-1.iso", "vdev": "hdc", "mode": "r"},
    ]
    assert norm["nics"] == [{"mac": "00:16:3e:3a:8e:7a", "bridge": "xenbr2"}]
    kv = normalise_guest_config({"disk": ["format=raw, vdev=xvda, access=ro, target=/srv/a.img"], "vif": "mac=AA:BB:CC:DD:EE:FF"})
    assert kv["disks"] == [{"target": "/srv/a.img", "vdev": "xvda", "mode": "r"}]
    assert kv["nics"] == [{"mac": "aa:bb:cc:dd:ee:ff", "bridge": None}]


def test_normalise_rejects_non_integer_memory():
    with pytest.raises(XenCfgError, match="'memory' is '1G', not an integer"):
        normalise_guest_config({"memory": "1G"})


# -- xl's syntax: numbers, escapes, nested lists, += ---------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("0", 0),
        ("256", 256),
        ("0400", 256),  # xl.cfg(5): octal with a leading 0
        ("04000", 2048),
        ("00", 0),
        ("0x400", 1024),
        ("0X1f", 31),
        ("0xFFFF", 65535),
        ("1234567890123", 1234567890123),
    ],
)
def test_numbers_are_read_as_xl_reads_them(text, value):
    assert parse_xen_cfg("memory = %s\n" % text) == {"memory": value}
    assert parse_xen_cfg("cpus = [ %s, %s ]\n" % (text, text)) == {"cpus": [value, value]}


@pytest.mark.parametrize("text", ["08", "0400x", "0x", "0xg1", "1e3", "1.5", "12abc", "0_1", "1."])
def test_numbers_xl_cannot_read_raise_naming_the_line(text):
    with pytest.raises(XenCfgError, match=r"^line 3: '%s' is not a number xl can read" % re.escape(text)):
        parse_xen_cfg("name = 'x'\n\nmemory = %s\n" % text)


@pytest.mark.parametrize(
    "literal, value",
    [
        (r"'a\\b'", "a\\b"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'\"'", '"'),
        (r"'C:\\boot\\'", "C:\\boot\\"),  # xl reads it; render refuses the trailing backslash
        (r"'tab\there'", "tab\there"),
        (r"'\n\r\a\b\f\v'", "\n\r\a\b\f\v"),
        ("'caf\u00e9 \u2028 x'", "caf\u00e9 \u2028 x"),  # raw in the file: part of the value, not a line end
        ("'a#b'", "a#b"),
        ("''", ""),
    ],
)
def test_string_escapes_as_xl_reads_them(literal, value):
    assert parse_xen_cfg("extra = %s\nname = 'n'\n" % literal) == {"extra": value, "name": "n"}


@pytest.mark.parametrize(
    "literal, fragment",
    [
        (r"'\q'", r"line 2: xl refuses the escape '\\q'"),
        (r"'\d+'", r"line 2: xl refuses the escape '\\d'"),
        (r"'\x41'", r"line 2: numeric escape '\\x'"),
        (r"'\101'", r"line 2: numeric escape '\\1'"),
        (r"'\0'", r"line 2: numeric escape '\\0'"),
        (r"'abc\'", "line 2: unsupported syntax"),  # the backslash escapes the closing quote
    ],
)
def test_string_escapes_xl_refuses(literal, fragment):
    with pytest.raises(XenCfgError, match=re.escape(fragment).replace(r"\\\\", r"\\")):
        parse_xen_cfg("name = 'n'\nextra = %s\n" % literal)


@pytest.mark.parametrize(
    "value, rendered",
    [
        ("a\\b", "x = 'a\\\\b'\n"),
        ("it's", "x = \"it's\"\n"),
        ('say "hi"', "x = 'say \"hi\"'\n"),
        ("it's \"q\"", "x = 'it\\'s \"q\"'\n"),
        ("\\'", "x = \"\\\\'\"\n"),
        ("rbd:p/i:mon_host=m1\\:6789\\;m2", "x = 'rbd:p/i:mon_host=m1\\\\:6789\\\\;m2'\n"),
        ("caf\u00e9 \u00fc", "x = 'caf\u00e9 \u00fc'\n"),
        ("", "x = ''\n"),
    ],
)
def test_render_escapes_backslashes_and_quotes_and_reads_back(value, rendered):
    assert render_xen_cfg({"x": value}) == rendered
    assert parse_xen_cfg(rendered) == {"x": value}


NESTED = {
    "vnuma": [["pnode=0", "size=512", "vcpus=0"], ["pnode=1", "size=512", "vcpus=1"]],
    "deep": [[["a"], []], 1, "b"],
    "empty": [[]],
}


def test_nested_lists_parse_and_render():
    text = (
        "vnuma = [ [ 'pnode=0', 'size=512', 'vcpus=0' ],\n"
        "          [ 'pnode=1', 'size=512', 'vcpus=1' ] ]\n"
        "deep  = [ [ [ 'a' ], [ ] ],\n"
        "          1,\n"
        "          'b' ]\n"
        "empty = [ [ ] ]\n"
    )
    assert parse_xen_cfg(text) == NESTED
    assert render_xen_cfg(NESTED) == text
    assert render_xen_cfg(NESTED, multiline_lists=False, align=False) == (
        "vnuma = [ [ 'pnode=0', 'size=512', 'vcpus=0' ], [ 'pnode=1', 'size=512', 'vcpus=1' ] ]\n"
        "deep = [ [ [ 'a' ], [ ] ], 1, 'b' ]\n"
        "empty = [ [ ] ]\n"
    )
    assert render_xen_cfg({"t": ("a", ("b",))}) == "t = [ 'a',\n      [ 'b' ] ]\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("extra = 'a'\nextra += ' b'\n", {"extra": "a b"}),
        ("disk = [ 'a' ]\nname = 'n'\ndisk += [ 'b', [ 'c' ] ]\n", {"disk": ["a", "b", ["c"]], "name": "n"}),
        ("extra += 'only'\n", {"extra": "only"}),
    ],
)
def test_plus_equals_extends_like_xl(text, expected):
    parsed = parse_xen_cfg(text)
    assert parsed == expected
    assert list(parsed) == list(expected)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("memory = 256\nmemory += 256\n", "line 2: xl cannot use += with numbers"),
        ("disk = [ 'a' ]\ndisk += 'b'\n", "line 2: cannot add a list to a string"),
        ("vnuma = [ [ 'a' ]\n", "line 1: list of 'vnuma' is not closed"),
        ("vnuma = [ [ 'a' ] [ 'b' ] ]\n", "expected ',' or ']'"),
    ],
)
def test_plus_equals_and_nesting_errors(text, fragment):
    with pytest.raises(XenCfgError, match=re.escape(fragment)):
        parse_xen_cfg(text)


# -- configs modelled on libvirt's xlconfigdata/xmconfigdata and Xen's examples -----------------

CONFIG_CASES = [
    (
        "xl-syntax/hvm-positional-disks.cfg",
        {"memory": 768, "maxmem": 1024, "on_crash": "preserve", "boot": "dc"},
        [
            ("/dev/vg0/winbox", "hda", "w"),
            ("/srv/xen/winbox-data.qcow2", "hdb", "w"),
            ("/srv/iso/install.iso", "hdc", "r"),
            ("/dev/vg0/winbox-scratch", "xvdc", "w"),
            ("/srv/iso/drivers.iso", "hdd", "r"),
            ("/srv/xen/winbox-ro.img", "xvde", "r"),
        ],
    ),
    (
        "xl-syntax/hvm-vnuma.cfg",
        {
            "memory": 2048,
            "maxmem": 2048,
            "cpus": ["0", "1", "2-3", "2-3"],
            "cpus_soft": ["0-1", "0-1", "2-3", "2-3"],
            "vnuma": [
                ["pnode=0", "size=1024", "vcpus=0-1", "vdistances=10,20"],
                ["pnode=1", "size=1024", "vcpus=2-3", "vdistances=20,10"],
            ],
            "extra": "console=hvc0 quiet",
        },
        [("/dev/vg0/numa4", "xvda", "w"), ("/dev/vg0/numa4-swap", "xvdb", "w")],
    ),
    (
        "xl-syntax/rbd-escapes.cfg",
        {
            "extra": "console=hvc0 root=LABEL=it's",
            "bootloader_args": ["--entry=xvda1:/boot/vmlinuz,/boot/initrd.img", "C:\\boot"],
        },
        [
            ("rbd:pool/ceph1:auth_supported=none:mon_host=mon1.example.org\\:6789\\;mon2.example.org\\:6789", "xvda", "w"),
            ("/srv/xen/odd,name.img", "xvdb", "w"),
        ],
    ),
    (
        "xl-syntax/xm-legacy.cfg",
        {"memory": 256},
        [
            ("/dev/HostVG/legacy", "xvda", "w"),
            ("/var/lib/xen/images/legacy-data.img", "xvdb", "w"),
            ("/var/lib/xen/images/legacy-old.qcow", "xvdc", "r"),
            ("/var/lib/xen/images/boot.iso", "hdc", "r"),
            ("/var/lib/xen/images/hd.img", "hda", "w"),
            ("", "hdd", "r"),
            ("sdb1", "sdb1", "w"),
        ],
    ),
    (
        "xl-syntax/xen-examples.cfg",
        {"memory": 128},
        [
            ("/dev/vg/guest-volume", "xvda", "w"),
            ("hda1", "hda1", "w"),
            ("/srv/xen/domains/web1/disk.img", "xvda2", "w"),
            ("/root/image.iso", "hdc", "r"),
            ("/srv/xen/mixed.img", "xvdf", "r"),
            ("/srv/xen/flags.img", "xvdg", "w"),
        ],
    ),
    (
        "xen-4.17/test1.cfg",
        {"memory": "256", "vcpus": "1"},
        [("/srv/xen/domains/test1/disk.img", "xvda2", "w"), ("/srv/xen/domains/test1/swap.img", "xvda1", "w")],
    ),
    (
        "seed/section9-hvm.cfg",
        {"boot": "d"},
        [("/data/zones/domains/full-virt/disk.img", "hda", "w"), ("/data/images/debian-40r0-i386-CD-1.iso", "hdc", "r")],
    ),
]


@pytest.mark.parametrize("fixture, settings, disks", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_modelled_configs_parse_normalise_and_round_trip(fixture, settings, disks):
    parsed = parse_xen_cfg(fixture_text(fixture))
    assert {k: parsed[k] for k in settings} == settings
    norm = normalise_guest_config(parsed)
    assert [(d["target"], d["vdev"], d["mode"]) for d in norm["disks"]] == disks
    assert parse_xen_cfg(render_xen_cfg(parsed)) == parsed
    assert parse_xen_cfg(render_xen_cfg(parsed, align=False, multiline_lists=False)) == parsed


# -- disk specs: xl-disk-configuration(5) -----------------------------------------------------------

DISK_CASES = [
    # spec, (target, vdev, mode), xl accepts it
    # positional target, format, vdev, access
    ("/dev/vg/guest,raw,xvda,rw", ("/dev/vg/guest", "xvda", "w"), True),
    ("/dev/vg/guest,raw,xvda,ro", ("/dev/vg/guest", "xvda", "r"), True),
    ("/dev/vg/guest,raw,xvda,r", ("/dev/vg/guest", "xvda", "r"), True),
    ("/dev/vg/guest,qcow2,xvda", ("/dev/vg/guest", "xvda", "w"), True),
    ("/dev/vg/guest-volume,,hda", ("/dev/vg/guest-volume", "hda", "w"), True),
    ("/dev/vg/guest,,xvda,,", ("/dev/vg/guest", "xvda", "w"), True),
    ("/dev/vg/guest,raw,xvda,rw,backendtype=phy", ("/dev/vg/guest", "xvda", "w"), True),
    (" /dev/vg/guest, raw,\txvda, w", ("/dev/vg/guest", "xvda", "w"), True),
    # CD-ROMs: default access r, and read-only whatever access says
    ("/root/image.iso,raw,hdc,devtype=cdrom", ("/root/image.iso", "hdc", "r"), True),
    ("/root/image.iso,,hdc,cdrom", ("/root/image.iso", "hdc", "r"), True),
    ("/root/image.iso,,hdc,,cdrom", ("/root/image.iso", "hdc", "r"), True),
    ("/root/image.iso,raw,hdc,rw,devtype=cdrom", ("/root/image.iso", "hdc", "r"), True),
    ("format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso", ("/root/image.iso", "hdc", "r"), True),
    ("vdev=hdc,devtype=cdrom", ("", "hdc", "r"), True),
    (",hdc:cdrom,r", ("", "hdc", "r"), True),
    ("/root/image.iso,raw,hdc,devtype=disk", ("/root/image.iso", "hdc", "w"), True),
    # legacy [prefix:]target,vdev[:devtype],access
    ("file:/srv/xen/domains/web1/disk.img,xvda2,w", ("/srv/xen/domains/web1/disk.img", "xvda2", "w"), True),
    ("phy:/dev/vg/x,sda1,w", ("/dev/vg/x", "sda1", "w"), True),
    ("file:/iso.iso,hdc:cdrom,r", ("/iso.iso", "hdc", "r"), True),
    ("file:/iso.iso,hdc:cdrom,w", ("/iso.iso", "hdc", "r"), True),
    ("file:/d.img,hda:disk,w", ("/d.img", "hda", "w"), True),
    ("raw:/dev/vg/guest-volume,hda,w", ("/dev/vg/guest-volume", "hda", "w"), True),
    ("raw:/root/image.iso,hdc:cdrom,ro", ("/root/image.iso", "hdc", "r"), True),
    ("tap:aio:/srv/a.img,xvda,w", ("/srv/a.img", "xvda", "w"), True),
    ("tap2:tapdisk:aio:/srv/a.img,xvda,w", ("/srv/a.img", "xvda", "w"), True),
    ("tap:qcow2:/srv/a.qcow2,xvda,r", ("/srv/a.qcow2", "xvda", "r"), True),
    ("file:/d.img,ioemu:hda,w", ("/d.img", "hda", "w"), True),
    ("iscsi:iqn.2001-04.com.example:storage.disk1,xvdb,w", ("iqn.2001-04.com.example:storage.disk1", "xvdb", "w"), True),
    ("drbd:r0,xvdc,w", ("r0", "xvdc", "w"), True),
    ("phy:hda1,hda1,w", ("hda1", "hda1", "w"), True),
    # key=value, mixed with positional ones, target= last and taking commas
    ("vdev=xvda, access=w, target=/x", ("/x", "xvda", "w"), True),
    ("vdev=xvda, access=ro, target=/srv/a,b c.img", ("/srv/a,b c.img", "xvda", "r"), True),
    ("vdev=xvda, target=/x,", ("/x", "xvda", "w"), True),
    ("format=raw, vdev=xvda, access=ro, target=/srv/a.img", ("/srv/a.img", "xvda", "r"), True),
    ("vdev=xvdf, /srv/m.img, qcow2, access=ro", ("/srv/m.img", "xvdf", "r"), True),
    ("format=qcow2,/srv/m.img,xvdb,ro", ("/srv/m.img", "xvdb", "r"), True),
    ("/srv/m.img,raw,xvdb,script=block-drbd,discard,no-discard,trusted", ("/srv/m.img", "xvdb", "w"), True),
    (",,xvdz,,target=/srv/later.img", ("/srv/later.img", "xvdz", "w"), True),
    ("backendtype=qdisk,vdev=xvda,target=rbd:pool/img:mon_host=a\\:6789", ("rbd:pool/img:mon_host=a\\:6789", "xvda", "w"), True),
    ("/srv/a.img,raw,xvda,rw,specification=xen,backend=dom0,colo-port=7", ("/srv/a.img", "xvda", "w"), True),
    # what xl refuses still reads as best it can, so in-use checks see the target
    ("/dev/vg/x,xvda,w", ("/dev/vg/x", "xvda", "w"), False),  # xm's form without a prefix
    ("phy:/dev/vg/x,xvda,w!", ("/dev/vg/x", "xvda", "w"), False),  # xm's shared write
    ("/srv/a.img,raw,xvda,rw,extra", ("/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,raw,xvda,rw,colour=red", ("/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,raw,xvda,rw,devtype=floppy", ("/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,raw,xvda,maybe", ("/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,vmdk,xvda,w", ("/srv/a.img", "vmdk", "w"), False),
    ("foo:/srv/a.img,xvda,w", ("foo:/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,raw,xvda,backendtype=nfs", ("/srv/a.img", "xvda", "w"), False),
    ("/srv/a.img,,hdc:floppy", ("/srv/a.img", "hdc", "w"), False),
    ("vdev=xvda,vdev=xvdb,target=/x", ("/x", "xvda", "w"), False),
    ("/srv/a.img", ("/srv/a.img", "", "w"), False),
    ("vdev=xvda", ("", "xvda", "w"), False),
    ("", ("", "", "w"), False),
]


@pytest.mark.parametrize("spec, expected, xl_accepts", DISK_CASES, ids=[c[0] or "empty" for c in DISK_CASES])
def test_parse_disk_spec(spec, expected, xl_accepts):
    assert parse_disk_spec(spec) == dict(zip(("target", "vdev", "mode"), expected))
    if xl_accepts:
        assert parse_disk_spec(spec, strict=True) == parse_disk_spec(spec)
    else:
        with pytest.raises(XenCfgError, match="^disk %s: " % re.escape(repr(spec))):
            parse_disk_spec(spec, strict=True)


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("/dev/vg/x,xvda,w", "unknown value for format: 'xvda' (xm's target,vdev,access form needs a prefix"),
        ("/srv/a.img,raw,xvda,rw,extra", "too many positional parameters ('extra')"),
        ("/srv/a.img,raw,xvda,rw,colour=red", "unknown parameter 'colour'"),
        ("foo:/srv/a.img,xvda,w", "unknown deprecated disk prefix 'foo:'"),
        ("vdev=xvda,vdev=xvdb,target=/x", "vdev respecified ('xvdb' after 'xvda')"),
        ("/srv/a.img", "no vdev specified"),
        ("vdev=xvda", "no target specified (and device not removable)"),
        ("/srv/a.img,,hdc:floppy", "unknown deprecated type 'floppy'"),
    ],
)
def test_parse_disk_spec_strict_names_the_problem(spec, fragment):
    with pytest.raises(XenCfgError, match=re.escape(fragment)):
        parse_disk_spec(spec, strict=True)


@pytest.mark.parametrize("entry", [["/x,raw,xvda,w"], {"target": "/x"}, None, 1.5, True])
def test_parse_disk_spec_non_strings(entry):
    assert parse_disk_spec(entry) == {"target": "", "vdev": "", "mode": "w"}
    with pytest.raises(XenCfgError, match="xl takes strings"):
        parse_disk_spec(entry, strict=True)


def test_device_lists_end_at_the_first_nested_list_as_in_xl():
    norm = normalise_guest_config({"disk": ["/a,raw,xvda,w", 7, ["/b,raw,xvdb,w"], "/c,raw,xvdc,w"], "vif": ["bridge=b0", ["x"]]})
    assert norm["disks"] == [{"target": "/a", "vdev": "xvda", "mode": "w"}, {"target": "7", "vdev": "", "mode": "w"}]
    assert norm["nics"] == [{"mac": None, "bridge": "b0"}]


def test_positional_disks_match_the_running_domain():
    """The 4-field form no longer yields a spurious difference (restart_required in xen_domain)."""
    wanted = normalise_guest_config(parse_xen_cfg(fixture_text("xl-syntax/hvm-positional-disks.cfg")))
    running = {
        "memory_mib": 768,
        "vcpus": 2,
        "disks": [
            {"target": "/srv/iso/drivers.iso", "vdev": "hdd", "mode": "r"},
            {"target": "/dev/vg0/winbox", "vdev": "hda", "mode": "w"},
            {"target": "/srv/xen/winbox-data.qcow2", "vdev": "hdb", "mode": "w"},
            {"target": "/srv/iso/install.iso", "vdev": "hdc", "mode": "r"},
            {"target": "/dev/vg0/winbox-scratch", "vdev": "xvdc", "mode": "w"},
            {"target": "/srv/xen/winbox-ro.img", "vdev": "xvde", "mode": "r"},
        ],
        "nics": [{"mac": "00:16:3e:0a:0b:0c", "bridge": "xenbr0"}, {"mac": "00:16:3e:00:00:09", "bridge": "xenbr1"}],
    }
    assert config_differences(wanted, running) == []


def test_disk_targets_of_a_config_with_nested_lists_positional_and_key_value_disks():
    text = "name = 'g'\nvnuma = [ [ 'pnode=0' ] ]\ndisk = [ '/srv/golden/base.img,raw,xvda,rw', 'vdev=xvdb, target=/srv/golden/other.img' ]\n"
    disks = parse_xen_cfg(text)["disk"]
    assert [parse_disk_spec(entry)["target"] for entry in disks] == ["/srv/golden/base.img", "/srv/golden/other.img"]


@pytest.mark.parametrize(
    "value, number",
    [(256, 256), ("256", 256), ("0400", 256), ("0x100", 256), ("0X1F", 31), ("0", 0), (" 12", 12), ("+5", 5), ("-1", -1)],
)
def test_memory_and_vcpus_strings_read_as_xl_reads_them(value, number):
    assert normalise_guest_config({"memory": value, "vcpus": value})["memory_mib"] == number
    assert normalise_guest_config({"memory": value, "vcpus": value})["vcpus"] == number


@pytest.mark.parametrize("value", ["1G", "08", "12 ", "0x", "", "1.5", ["1"], True])
def test_memory_that_xl_cannot_read_raises(value):
    with pytest.raises(XenCfgError, match="'memory' is .*, not an integer"):
        normalise_guest_config({"memory": value})


# -- property: parse(render(x)) == x for everything render accepts ------------------------------

_ALPHABET = (
    "abcXYZ019 _-.,:;=#[]/()+*?!$`~@%^&{}<>|"  # syntax characters of xl, xm and shells
    "'\"\\"  # quotes and backslash
    "\u00e9\u00fc\u20ac\u4e2d\U0001f600"  # non-ASCII, astral plane
    "\t\n\r\x00\x1b\x7f\x85\u2028\u2029\x0b\x0c"  # what render must refuse
)


def _random_string(rng):
    return "".join(rng.choice(_ALPHABET) for _index in range(rng.randint(0, 12)))


def _random_value(rng, depth=0):
    roll = rng.random()
    if roll < 0.45:
        return _random_string(rng)
    if roll < 0.7 or depth >= 3:
        return rng.choice([0, 1, 7, 8, 255, 256, 1024, 2 ** 31, 2 ** 63 + 1, rng.randint(0, 10 ** 12)])
    return [_random_value(rng, depth + 1) for _index in range(rng.randint(0, 4))]


def _refusal_is_explained(value, message):
    """True when render's refusal names a character of ``value`` it may not hold, or its trailing backslash."""
    if isinstance(value, list):
        return any(_refusal_is_explained(item, message) for item in value)
    if not isinstance(value, str):
        return False
    if value.endswith("\\") and "ends in a backslash" in message:
        return True
    return any("U+%04X" % ord(char) in message for char in value)


@pytest.mark.parametrize("seed", range(40))
def test_render_parse_round_trip_property(seed):
    rng = random.Random(seed)
    rendered_some = False
    for _round in range(30):
        settings = {"k%d_%s" % (i, rng.choice("abc")): _random_value(rng) for i in range(rng.randint(1, 5))}
        try:
            text = render_xen_cfg(settings, align=rng.random() < 0.5, multiline_lists=rng.random() < 0.5)
        except XenCfgError as exc:
            assert any(_refusal_is_explained(v, str(exc)) for v in settings.values()), (settings, str(exc))
            continue
        rendered_some = True
        assert parse_xen_cfg(text) == settings, text
        assert "\u2028" not in text and "\u2029" not in text and "\r" not in text
        assert len(text.splitlines()) == text.count("\n")
    assert rendered_some
