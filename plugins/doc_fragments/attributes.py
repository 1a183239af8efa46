# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module of this collection shares in its documentation: the author, the
descriptions of the standard attributes (modules state only ``support`` and ``details``) and
the ``platform`` attribute, the same for all (a Xen dom0).
"""

from __future__ import annotations


class ModuleDocFragment:
    """Doc fragment ``kuutorvaja.xen.attributes``."""

    DOCUMENTATION = r"""
author:
  - kuutorvaja.xen contributors (@kuutorvaja)
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details:
      - A Xen dom0 (control domain) with C(xl) or C(xm).
"""
