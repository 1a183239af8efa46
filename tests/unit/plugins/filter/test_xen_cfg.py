# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The to_xen_cfg / from_xen_cfg filters: registered, wrapping module_utils, errors as AnsibleFilterError."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kuutorvaja.xen.plugins.filter.xen_cfg import FilterModule
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

FILTERS = FilterModule().filters()


def test_filters_registered():
    assert set(FILTERS) == {"to_xen_cfg", "from_xen_cfg"}


def test_round_trip_through_filters_is_the_canonical_seed():
    parsed = FILTERS["from_xen_cfg"](fixture_text("seed/section9-hvm.cfg"))
    assert FILTERS["to_xen_cfg"](parsed) == fixture_text("seed/section9-hvm.canonical.cfg")


def test_positional_options():
    assert FILTERS["to_xen_cfg"]({"b": 1, "a": ["x", "y"]}, ["a"], False, False) == "a = [ 'x', 'y' ]\nb = 1\n"


def test_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="to_xen_cfg: value of 'memory' has type float"):
        FILTERS["to_xen_cfg"]({"memory": 1.5})
    with pytest.raises(AnsibleFilterError, match="from_xen_cfg: line 1"):
        FILTERS["from_xen_cfg"]("import os\n")
