# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers the unit tests import (conftest.py itself is not importable as a module)."""

from __future__ import annotations

import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture_text(relative):
    """Text of a fixture file under tests/unit/fixtures."""
    with open(os.path.join(FIXTURES, relative)) as handle:
        return handle.read()


class ScriptedRunner:
    """A CommandRunner stand-in that replays (argv, rc, stdout) per call and records what ran.

    With ``prefix`` a scripted argv only has to match the start of the real one.
    A non-zero rc with ``check_rc`` raises CommandError like the real runner.
    """

    def __init__(self, calls, prefix=False):
        self.calls = list(calls)
        self.prefix = prefix
        self.seen = []

    def run(self, argv, check_rc=True, data=None, env=None):
        from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError

        self.seen.append(list(argv))
        want, rc, out = self.calls.pop(0)
        got = list(argv[:len(want)]) if self.prefix else list(argv)
        assert got == want, (argv, want)
        if check_rc and rc:
            raise CommandError(argv, rc, out, "scripted failure")
        return rc, out, ""
