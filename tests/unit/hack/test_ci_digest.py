# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""hack/ci_digest.py picks the fatal that failed the last failing play, not the expected ones."""

from __future__ import annotations

import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "hack", "ci_digest.py")
SPEC = importlib.util.spec_from_file_location("ci_digest", PATH)
ci_digest = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ci_digest)

LOG = """\
TASK [Bad input is refused] ****
fatal: [dom0]: FAILED! => {"changed": false, "msg": "expected refusal"}
...ignoring

PLAY RECAP *****
dom0                       : ok=3    changed=0    unreachable=0    failed=0    skipped=0

TASK [The build failed naming the guest] ****
fatal: [dom0]: FAILED! => {
    "assertion": "'Probably out of disk space' in full_build.msg",
    "changed": false,
    "msg": "unexpected message: building guest kxf3 failed"
}

TASK [Remove the helpers] ****
fatal: [dom0]: FAILED! => {"changed": false, "msg": "cleanup step, ignored"}
...ignoring

PLAY RECAP *****
dom0                       : ok=30   changed=5    unreachable=0    failed=1    skipped=2
"""


def test_the_last_unignored_fatal_before_the_failing_recap():
    task, result = ci_digest.last_failure(LOG.splitlines())
    assert task == "The build failed naming the guest"
    text = ci_digest.summary(result)
    assert text.splitlines() == [
        "unexpected message: building guest kxf3 failed",
        "assertion: 'Probably out of disk space' in full_build.msg",
    ]


@pytest.mark.parametrize("recap", ["failed=0    skipped=0", "unreachable=0    failed=0"])
def test_no_failing_recap_means_no_digest(recap):
    lines = ["fatal: [dom0]: FAILED! => {\"msg\": \"x\"}", "dom0  : ok=1 changed=0 unreachable=0 " + recap]
    assert ci_digest.last_failure(lines) is None


def test_unreachable_counts_as_a_failure():
    lines = [
        "TASK [Read the guest's domid] ****",
        'fatal: [dom0]: UNREACHABLE! => {"msg": "Data could not be sent", "unreachable": true}',
        "dom0  : ok=1 changed=0 unreachable=1 failed=0",
    ]
    task, result = ci_digest.last_failure(lines)
    assert task == "Read the guest's domid"
    assert ci_digest.summary(result) == "Data could not be sent"


def test_molecule_frame_and_colours_are_read_through(tmp_path, capsys, monkeypatch):
    log = tmp_path / "ci.log"
    log.write_text(
        "  \x1b[2m│\x1b[0m TASK [Some check]\n"
        "  \x1b[2m\x1b[31m│\x1b[0m \x1b[31mfatal: [dom0]: FAILED! => {\"msg\": \"boom\"}\x1b[0m\n"
        "  \x1b[2m│\x1b[0m dom0  : ok=3 changed=0 unreachable=0 failed=1 skipped=0\n"
    )
    monkeypatch.setattr(ci_digest.sys, "argv", ["ci_digest.py", str(log)])
    assert ci_digest.main() == 0
    assert capsys.readouterr().out.splitlines() == [
        "== ci digest: the failing task was [Some check]",
        "== ci digest: boom",
    ]
