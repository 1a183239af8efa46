# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter ``xen_legacy_translate``: a legacy xend/xm setup's files to this collection's xl variables.

A thin wrapper over module_utils/legacy_migration.py. Documentation is in
xen_legacy_translate.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# ansible-core before 2.19 templates a variable's value again when it holds
# '{{' or '{%': the result is marked unsafe so the configs' text stays as
# written (as dom0_plan.py does). Later releases never do that.
try:
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # pragma: no cover
    def wrap_var(value):
        """Return the value unchanged."""
        return value

from ansible_collections.kuutorvaja.xen.plugins.module_utils.legacy_migration import LegacyError, translate_legacy


def xen_legacy_translate(xend_config, network_scripts=None, guests=None, kernel_mode="pygrub", config_dir="/etc/xen",
                         interfaces=None):
    """Translate xend-config.sxp, custom network scripts, xm guest configs and the dom0's interfaces (their texts)."""
    try:
        return wrap_var(translate_legacy(xend_config, network_scripts=network_scripts, guests=guests,
                                         kernel_mode=kernel_mode, config_dir=config_dir, interfaces=interfaces))
    except LegacyError as exc:
        raise AnsibleFilterError("xen_legacy_translate: %s" % exc)


class FilterModule:
    """The legacy setup translator."""

    def filters(self):
        """Map filter names to functions."""
        return {"xen_legacy_translate": xen_legacy_translate}
