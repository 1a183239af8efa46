# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Descriptions of the standard module attributes; modules state only ``support`` and ``details``.

``platform`` is the same for every module of this collection (a Xen dom0), so its fragment holds all of it.
"""

from __future__ import annotations


class ModuleDocFragment:
    """Doc fragments ``kuutorvaja.xen.attributes`` and ``kuutorvaja.xen.attributes.platform``."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
"""

    PLATFORM = r"""
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details:
      - A Xen dom0 (control domain) with C(xl) or C(xm).
"""
