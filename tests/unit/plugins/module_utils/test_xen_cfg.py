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

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import parse_xl_list_long
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    config_differences,
    normalise_guest_config,
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
        ({"disk": [["a"]]}, "nested list"),
        ({"cpus": {"a": 1}}, "has type dict"),
        ({"extra": "a\\b"}, "backslash"),
        ({"extra": "a\nb"}, "control character"),
        ({"extra": "a'b\"c"}, "both quote characters"),
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
        ("memory = 1.5\n", "line 1: unsupported syntax"),
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
