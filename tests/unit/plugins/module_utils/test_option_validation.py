# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Values that crash ansible-core's own option validation end in a clean failed result that names no value."""

from __future__ import annotations

import json

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import (
    no_validation_traceback,
    validation_crash_message,
)
from ansible_collections.kuutorvaja.xen.plugins.modules import xen_domain, xen_guest

from ...conftest import patch_module_args

SECRET = "$6$planted$notinanyresult"

CASES = {
    # A scalar where a list element's sub-options need a dict (ansible/ansible pull request 81631);
    # the entry also carries a no_log value, which must not come back.
    "number for a list element's dict": (xen_guest, {"guests": [{"name": "web1", "fixes": 5, "root_password_hash": SECRET}]}),
    # int() of an infinite float overflows.
    "infinity for an int": (xen_domain, {"name": "web1", "state": "shutdown", "shutdown_timeout": float("inf")}),
}


# Which of these crash depends on the ansible-core version (2.17 reports the infinite int itself, 2.19 and
# later raise): either way the result is a failure with a message, and no secret comes back.
@pytest.mark.parametrize("module, args", list(CASES.values()), ids=list(CASES))
def test_a_crash_in_validation_is_a_clean_failure(module, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    out = capsys.readouterr().out
    assert exited.value.code == 1
    result = json.loads(out)
    assert result["failed"] is True and isinstance(result["msg"], str) and result["msg"]
    if result["msg"].startswith("the module's options could not be validated"):
        assert set(result) == {"failed", "msg"}
    assert SECRET not in out


def test_the_guard_prints_a_failed_result_and_exits(capsys):
    with pytest.raises(SystemExit) as exited, no_validation_traceback():
        raise OverflowError("cannot convert float infinity to integer")
    assert exited.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result == {"failed": True, "msg": validation_crash_message(OverflowError())}
    assert "OverflowError" in result["msg"] and "infinity" not in result["msg"]


def test_other_errors_are_not_hidden():
    with pytest.raises(KeyError), no_validation_traceback():
        raise KeyError("the collection's own bug stays a bug")
