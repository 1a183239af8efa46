# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A clean failure where ansible-core's own option validation crashes.

Private to the kuutorvaja.xen collection: no API promise to other code.

Every module builds its AnsibleModule inside :func:`no_validation_traceback`.
ansible-core can raise instead of reporting a bad value: it looks up the
sub-options' fallbacks in a list element's value before it checks that the
value is a dict (``guests: [{fixes: 5}]``; ansible/ansible pull request
81631), and ``int()`` of an infinite float overflows. Nothing of the
collection has run then, and which values are ``no_log`` is not known yet,
so the failure is written here, as AnsibleModule.fail_json would, but with
no option value and no ``invocation``.
"""

from __future__ import annotations

import contextlib
import json
import sys

# What ansible-core's validation raises on those values; raised from inside
# AnsibleModule() only, so never from the collection's own code.
VALIDATION_CRASHES = (TypeError, OverflowError)


def validation_crash_message(exc):
    """The failure message for ``exc``: what kind of value to look for, and no value."""
    return (
        "the module's options could not be validated: a value is of the wrong kind, for example a number or "
        "a string where sub-options need a dict, or an infinite number where an integer is expected "
        "(ansible-core raised %s while checking them)" % type(exc).__name__
    )


@contextlib.contextmanager
def no_validation_traceback():
    """Turn an ansible-core crash while AnsibleModule() validates the options into a failed result."""
    try:
        yield
    except VALIDATION_CRASHES as exc:
        # No AnsibleModule exists to call fail_json on: what it would write, by hand.
        print(json.dumps({"failed": True, "msg": validation_crash_message(exc)}))  # pylint: disable=ansible-bad-function
        sys.exit(1)  # pylint: disable=ansible-bad-function
