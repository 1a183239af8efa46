# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the per-guest and per-disk lock the acting modules hold (see module_utils/locks.py)."""

from __future__ import annotations


class ModuleDocFragment:
    """Doc fragment ``kuutorvaja.xen.guest_lock``."""

    DOCUMENTATION = r"""
options: {}
notes:
  - Holds a lock on the guest (C(/run/lock/kuutorvaja-xen/guest-NAME.lock); C(/var/lock) when there is no
    C(/run/lock)) and on each disk it touches (C(disk-*.lock) beside it, shared by every name of one file or
    device) from its first look at the guest to its last change, so two runs on one guest or one disk take
    turns instead of interleaving. A run waits up to 30 minutes for another, then fails naming the lock file
    and the pid that holds it. Check mode takes the lock shared (check runs do not wait for each other), except
    where its check mounts the disk.
"""
