# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the legacy (Etch) profile's files against the seed, from outside."""

from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[4] / "tests" / "integration" / "roles" / "golden"
MANAGED = "#\n# Ansible managed\n#\n"


def unwiki(text):
    """Drop the one-space indent MediaWiki uses to mark preformatted text."""
    return "\n".join(line[1:] for line in text.split("\n"))


def test_menu_lst_is_the_seeds(host):
    menu = host.file("/boot/grub/menu.lst")
    assert menu.user == "root" and menu.mode == 0o644
    text = menu.content_string
    assert text.startswith(MANAGED)
    assert text[len(MANAGED):] == unwiki((GOLDEN / "menu.lst.digest").read_text())


def test_two_bridge_script_is_the_seeds(host):
    script = host.file("/etc/xen/scripts/kaks-silda.sh")
    assert script.mode == 0o755
    assert script.content_string.replace(MANAGED, "", 1) == (GOLDEN / "kaks-silda.sh").read_text()


def test_xend_config_settings(host):
    lines = host.file("/etc/xen/xend-config.sxp").content_string.splitlines()
    for wanted in (GOLDEN / "xend-config.sxp.digest").read_text().splitlines():
        assert lines.count(wanted) == 1, wanted
    assert "(vif-script vif-bridge)" in lines


def test_xen_tools_conf_keys(host):
    text = host.file("/etc/xen-tools/xen-tools.conf").content_string
    for line in ["dir = /data", "debootstrap = 1", "size = 4Gb", "dist = etch", "image = full"]:
        assert line in text.splitlines()
    # Interactive password prompt stays off unless asked for.
    assert "passwd = 1" not in text


def test_no_packages_installed(host):
    assert not host.package("xen-utils-common").is_installed
    assert not host.package("xen-tools").is_installed
