# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dpkg_missing filter: dpkg-query ``${Package} ${Status}`` lines to the wanted packages not installed."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kuutorvaja.xen.plugins.filter.dpkg import FilterModule

dpkg_missing = FilterModule().filters()["dpkg_missing"]

WANTED = ["xen-system-amd64", "xen-tools", "bridge-utils", "ifupdown"]


@pytest.mark.parametrize("output, missing", [
    # All installed: apt is skipped.
    ("xen-system-amd64 install ok installed\nxen-tools install ok installed\n"
     "bridge-utils install ok installed\nifupdown install ok installed\n", []),
    # A name dpkg does not know is on stderr only: absent from stdout, so missing.
    ("xen-system-amd64 install ok installed\nxen-tools install ok installed\nifupdown install ok installed\n",
     ["bridge-utils"]),
    # Removed with its config files left, half-installed, marked for removal but still installed.
    ("xen-system-amd64 deinstall ok config-files\nxen-tools install ok half-installed\n"
     "bridge-utils deinstall ok installed\nifupdown install ok unpacked\n",
     ["xen-system-amd64", "xen-tools", "ifupdown"]),
    # Held packages are installed; an error flag (reinst-required) is not.
    ("xen-system-amd64 hold ok installed\nxen-tools install reinstreq installed\n"
     "bridge-utils install ok installed\nifupdown install ok installed\n", ["xen-tools"]),
    # Architecture qualifiers on either side.
    ("xen-system-amd64:amd64 install ok installed\nxen-tools install ok installed\n"
     "bridge-utils install ok installed\nifupdown:amd64 install ok installed\n", []),
    # dpkg-query printed nothing (or the task was skipped): everything is missing, in the input's order.
    ("", WANTED),
    (None, WANTED),
], ids=["all-installed", "unknown-name", "not-fully-installed", "hold-and-error-flag", "arch", "empty", "none"])
def test_missing_packages(output, missing):
    assert dpkg_missing(WANTED, output) == missing


def test_wanted_name_with_architecture_matches_plain_output():
    assert dpkg_missing(["libc6:amd64"], "libc6 install ok installed\n") == []


def test_lines_that_are_not_status_lines_are_ignored():
    output = "dpkg-query: no packages found matching bridge-utils\nxen-tools install ok installed\n"
    assert dpkg_missing(["xen-tools", "bridge-utils"], output) == ["bridge-utils"]


@pytest.mark.parametrize("wanted, output, words", [
    ("xen-tools", "", "list of package names"),
    ({"xen-tools": 1}, "", "list of package names"),
    (["xen-tools"], ["xen-tools install ok installed"], "dpkg-query's output"),
], ids=["string-input", "dict-input", "list-output"])
def test_wrong_types_are_filter_errors(wanted, output, words):
    with pytest.raises(AnsibleFilterError, match=words):
        dpkg_missing(wanted, output)
