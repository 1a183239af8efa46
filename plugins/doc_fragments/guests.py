# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the shared ``guests`` option (see ``guests_argument_spec`` in module_utils/guest_common.py)."""

from __future__ import annotations


class ModuleDocFragment:
    """Doc fragment ``kuutorvaja.xen.guests``, for modules that take one guest's options or a list of them."""

    DOCUMENTATION = r"""
options:
  guests:
    description:
      - Several guests in one run - a list of dicts, each taking this module's
        options (all but O(toolstack) and O(guests); O(name) required in each).
        Every entry is validated before any is acted on; one toolstack read
        serves them all. The result then has RV(results), one entry per guest.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
"""
