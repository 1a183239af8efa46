# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters ``to_xen_cfg`` and ``from_xen_cfg``: Xen guest config text to and from a dict.

Thin wrappers over module_utils/xen_cfg.py, the one implementation the
modules use too. Documentation is in to_xen_cfg.yml and from_xen_cfg.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    parse_xen_cfg,
    render_xen_cfg,
)


def to_xen_cfg(settings, key_order=None, align=True, multiline_lists=True):
    """Render a dict as Xen guest config text."""
    try:
        return render_xen_cfg(settings, key_order=key_order, align=align, multiline_lists=multiline_lists)
    except XenCfgError as exc:
        raise AnsibleFilterError("to_xen_cfg: %s" % exc)


def from_xen_cfg(text):
    """Parse Xen guest config text into a dict."""
    try:
        return parse_xen_cfg(text)
    except XenCfgError as exc:
        raise AnsibleFilterError("from_xen_cfg: %s" % exc)


class FilterModule:
    """Xen guest config filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"to_xen_cfg": to_xen_cfg, "from_xen_cfg": from_xen_cfg}
