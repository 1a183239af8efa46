# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the shared ``toolstack`` option (see module_utils/toolstack.py)."""

from __future__ import annotations


class ModuleDocFragment:
    """Doc fragment ``kuutorvaja.xen.toolstack``."""

    DOCUMENTATION = r"""
options:
  toolstack:
    description:
      - Which Xen command-line toolstack runs the commands.
      - V(xl) is the toolstack of Xen 4.2 and later (libxl).
      - V(xm) is the toolstack of Xen 3.x and 4.0/4.1 (xend), as in Debian Etch.
      - V(auto) uses the C(TOOLSTACK=) choice of C(/etc/default/xen) when that tool is
        installed, otherwise V(xl) when it is found on the host, otherwise V(xm).
    type: str
    choices: [auto, xl, xm]
    default: auto
requirements:
  - The Xen utilities on the managed host (C(xl) from Debian's C(xen-utils-*) packages, or C(xm) with C(xend) running on Xen 3.x).
"""
