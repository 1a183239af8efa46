# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter ``dpkg_missing``: which wanted packages dpkg does not show as installed.

The roles read package status with one ``dpkg-query`` (a command, nothing to
install) and run apt only for what this filter returns. Documentation is in
dpkg_missing.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def installed_packages(dpkg_output):
    """Names whose ``${Status}`` ends in ``installed`` (want ``install`` or ``hold``), from ``${Package} ${Status}`` lines."""
    names = set()
    for line in dpkg_output.splitlines():
        words = line.split()
        # "NAME WANT FLAG STATUS"; dpkg-query prints errors for unknown names on stderr.
        if len(words) == 4 and words[3] == "installed" and words[2] == "ok":
            names.add(words[0].split(":")[0])
    return names


def dpkg_missing(wanted, dpkg_output):
    """The ``wanted`` packages, in their order, that ``dpkg_output`` does not show installed."""
    if isinstance(wanted, str) or not isinstance(wanted, (list, tuple)):
        raise AnsibleFilterError("dpkg_missing: the input must be a list of package names, got %r" % (wanted,))
    if dpkg_output is None:
        dpkg_output = ""
    if not isinstance(dpkg_output, str):
        raise AnsibleFilterError("dpkg_missing: the argument must be dpkg-query's output (a string), got %r" % (dpkg_output,))
    installed = installed_packages(dpkg_output)
    return [name for name in wanted if name.split(":")[0] not in installed]


class FilterModule:
    """Package status filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"dpkg_missing": dpkg_missing}
