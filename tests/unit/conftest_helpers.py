# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers the unit tests import (conftest.py itself is not importable as a module)."""

from __future__ import annotations

import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture_text(relative):
    """Text of a fixture file under tests/unit/fixtures."""
    with open(os.path.join(FIXTURES, relative)) as handle:
        return handle.read()
