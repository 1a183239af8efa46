# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""set_keys(): keys set in a package's conffile, every other line kept byte for byte.

Each case is ``(text, settings, syntax, expected)``; settings are ``(key, value)`` pairs.
"""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.dom0_files import set_keys
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

# A shortened /etc/default/xendomains as Debian ships it.
XENDOMAINS = (
    "## Path: System/Virtualization\n"
    "## Description: xen domain start/stop on boot\n"
    "\n"
    "# Directory to save running domains to when the system shuts down.\n"
    "#XENDOMAINS_SAVE=/var/lib/xen/save\n"
    "XENDOMAINS_SAVE=\n"
    "\n"
    "## Type: boolean\n"
    "# Restore saved domains on boot.\n"
    "#XENDOMAINS_RESTORE=true\n"
    "\n"
    "## Type: integer\n"
    "XENDOMAINS_STOP_MAXWAIT=300\n"
)

# A shortened /etc/xen/xl.conf as Debian ships it.
XL_CONF = fixture_text("debian/xl.conf")
XEND_CONFIG = fixture_text("xen-3.0.3/xend-config.sxp.excerpt")

CASES = {
    "replace-active-key": (
        "A=1\nB=2\nC=3\n",
        [("B", "20")], "shell",
        "A=1\nB=20\nC=3\n",
    ),
    "replace-active-key-with-spaces-around-equals": (
        "# c\nB = 2\n",
        [("B", "20")], "shell",
        "# c\nB=20\n",
    ),
    "replace-only-the-last-of-two-active-lines": (
        "B=1\nX=0\nB=2\nY=0\n",
        [("B", "3")], "shell",
        "B=1\nX=0\nB=3\nY=0\n",
    ),
    "active-line-wins-over-commented-example": (
        "#B=example\nA=1\nB=2\n",
        [("B", "3")], "shell",
        "#B=example\nA=1\nB=3\n",
    ),
    "replace-active-last-line-without-newline": (
        "A=1\nB=2",
        [("B", "3")], "shell",
        "A=1\nB=3\n",
    ),
    "insert-after-commented-example": (
        "# what B does\n#B=default\nA=1\n",
        [("B", "5")], "shell",
        "# what B does\n#B=default\nB=5\nA=1\n",
    ),
    "insert-after-last-of-two-commented-examples": (
        "#B=one\nA=1\n#B=two\nC=3\n",
        [("B", "5")], "shell",
        "#B=one\nA=1\n#B=two\nB=5\nC=3\n",
    ),
    "insert-after-commented-example-with-spaces": (
        "# B = default\nA=1\n",
        [("B", "5")], "shell",
        "# B = default\nB=5\nA=1\n",
    ),
    "insert-after-commented-example-that-ends-the-file-without-newline": (
        "A=1\n#B=default",
        [("B", "5")], "shell",
        "A=1\n#B=default\nB=5\n",
    ),
    "prose-comment-mentioning-the-key-is-not-an-example": (
        "# B is the thing\nA=1\n",
        [("B", "5")], "shell",
        "# B is the thing\nA=1\nB=5\n",
    ),
    "append-when-absent": (
        "# comment\nA=1\n",
        [("B", "2")], "shell",
        "# comment\nA=1\nB=2\n",
    ),
    "append-to-file-without-final-newline": (
        "A=1",
        [("B", "2")], "shell",
        "A=1\nB=2\n",
    ),
    "empty-file": (
        "",
        [("B", "2")], "shell",
        "B=2\n",
    ),
    "empty-file-several-keys-in-order": (
        "",
        [("C", "3"), ("A", "1"), ("B", "2")], "shell",
        "C=3\nA=1\nB=2\n",
    ),
    "several-keys-each-to-its-own-place": (
        "#C=x\nA=1\n#B=y\nZ=0\n",
        [("A", "10"), ("B", "20"), ("C", "30"), ("D", "40")], "shell",
        "#C=x\nC=30\nA=10\n#B=y\nB=20\nZ=0\nD=40\n",
    ),
    "same-key-twice-in-settings-last-value-wins": (
        "A=1\n",
        [("B", "1"), ("B", "2")], "shell",
        "A=1\nB=2\n",
    ),
    "shell-empty-value-quoted": (
        "",
        [("XENDOMAINS_SAVE", "")], "shell",
        "XENDOMAINS_SAVE=''\n",
    ),
    # A sourcing shell reads each value back as text: nothing in it runs.
    "shell-metacharacters-single-quoted": (
        "",
        [("A", "x; reboot"), ("B", "$(reboot)"), ("C", "`id`"), ("D", "it's"), ("E", "a b"), ("F", '""')], "shell",
        "A='x; reboot'\nB='$(reboot)'\nC='`id`'\nD='it'\\''s'\nE='a b'\nF='\"\"'\n",
    ),
    "shell-plain-words-bare": (
        "",
        [("A", "/var/lib/xen/save"), ("B", "dom0_mem=2G,max:2G"), ("C", "1")], "shell",
        "A=/var/lib/xen/save\nB=dom0_mem=2G,max:2G\nC=1\n",
    ),
    "xl-syntax-quotes-the-value": (
        "",
        [("autoballoon", "off")], "xl",
        'autoballoon="off"\n',
    ),
    "xl-syntax-replaces-active-line": (
        'autoballoon="auto"\nlockfile="/var/lock/xl"\n',
        [("autoballoon", "off")], "xl",
        'autoballoon="off"\nlockfile="/var/lock/xl"\n',
    ),
    "regex-metacharacters-in-key-are-literal": (
        "vifXdefaultXscript=nope\n#vifXdefaultXscript=nope\n",
        [("vif.default.script", "vif-bridge")], "xl",
        'vifXdefaultXscript=nope\n#vifXdefaultXscript=nope\nvif.default.script="vif-bridge"\n',
    ),
    "regex-metacharacters-in-key-match-themselves": (
        "vif.default.script=old\nA=1\n",
        [("vif.default.script", "vif-bridge")], "xl",
        'vif.default.script="vif-bridge"\nA=1\n',
    ),
    "key-with-plus-and-brackets": (
        "a+b[0]=1\naab[0]=2\n",
        [("a+b[0]", "9")], "shell",
        "a+b[0]=9\naab[0]=2\n",
    ),
    "key-that-is-a-prefix-of-another-is-not-confused": (
        "XENDOMAINS_SAVE=/x\n#XEN_SAVE=y\n",
        [("XEN", "1"), ("XENDOMAINS", "2")], "shell",
        "XENDOMAINS_SAVE=/x\n#XEN_SAVE=y\nXEN=1\nXENDOMAINS=2\n",
    ),
    "key-with-suffix-is-not-confused": (
        "AUTO_BALLOON=1\n#AUTO_BALLOON=2\n",
        [("AUTO", "x")], "shell",
        "AUTO_BALLOON=1\n#AUTO_BALLOON=2\nAUTO=x\n",
    ),
    "xendomains-conffile": (
        XENDOMAINS,
        [("XENDOMAINS_SAVE", ""), ("XENDOMAINS_RESTORE", "false"), ("XENDOMAINS_STOP_MAXWAIT", "120")], "shell",
        XENDOMAINS.replace("XENDOMAINS_SAVE=\n", "XENDOMAINS_SAVE=''\n")
        .replace("#XENDOMAINS_RESTORE=true\n", "#XENDOMAINS_RESTORE=true\nXENDOMAINS_RESTORE=false\n")
        .replace("XENDOMAINS_STOP_MAXWAIT=300\n", "XENDOMAINS_STOP_MAXWAIT=120\n"),
    ),
    "xl-conf": (
        XL_CONF,
        [("autoballoon", "off"), ("vif.default.bridge", "xenbr1")], "xl",
        XL_CONF.replace('#autoballoon="auto"\n', '#autoballoon="auto"\nautoballoon="off"\n')
        .replace('#vif.default.bridge="xenbr0"\n', '#vif.default.bridge="xenbr0"\nvif.default.bridge="xenbr1"\n'),
    ),
    "xend-config-as-the-guide-edits-it": (
        XEND_CONFIG,
        [("dom0-cpus", "1"), ("dom0-min-mem", "196"), ("vnc-listen", "'127.0.0.1'"),
         ("network-script", "kaks-silda.sh"), ("vif-script", "vif-bridge")], "sxp",
        # The set lines take the place of the active one, or of the commented example.
        XEND_CONFIG.replace("(dom0-cpus 0)\n", "(dom0-cpus 1)\n")
        .replace("#(vnc-listen '127.0.0.1')\n", "(vnc-listen '127.0.0.1')\n")
        .replace("(network-script network-bridge)\n", "(network-script kaks-silda.sh)\n"),
    ),
    "sxp-missing-key-at-the-end": (
        "(dom0-cpus 0)\n",
        [("enable-dump", "yes")], "sxp",
        "(dom0-cpus 0)\n(enable-dump yes)\n",
    ),
    "other-lines-kept-exactly": (
        "  indented = kept\t\n#\n\n\n# B\nexport A=1\nA =  spaced  \n\t# tabbed comment\n",
        [("C", "3")], "shell",
        "  indented = kept\t\n#\n\n\n# B\nexport A=1\nA =  spaced  \n\t# tabbed comment\nC=3\n",
    ),
    "no-settings-returns-text-unchanged": (
        "A=1\n# x",
        [], "shell",
        "A=1\n# x",
    ),
}


@pytest.mark.parametrize("text, settings, syntax, expected", list(CASES.values()), ids=list(CASES))
def test_set_keys(text, settings, syntax, expected):
    assert set_keys(text, [{"key": k, "value": v} for k, v in settings], syntax) == expected


@pytest.mark.parametrize("text, settings, syntax, expected", list(CASES.values()), ids=list(CASES))
def test_set_keys_is_idempotent(text, settings, syntax, expected):
    """Setting the same keys again on the result changes nothing (a second run is a no-op)."""
    settings = [{"key": k, "value": v} for k, v in settings]
    assert set_keys(set_keys(text, settings, syntax), settings, syntax) == expected


@pytest.mark.parametrize("text", [XENDOMAINS, XL_CONF, "A=1", ""])
def test_unrelated_lines_are_a_subsequence_of_the_result(text):
    """Only whole lines are added: every original line survives, in order (final newline aside)."""
    result = set_keys(text, [{"key": "NEW", "value": "v"}], "shell")
    original = text.splitlines()
    assert result.splitlines()[: len(original)] == original
    assert result.endswith("NEW=v\n")
