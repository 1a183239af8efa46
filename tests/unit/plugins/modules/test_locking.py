# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module that acts on a guest or its disk holds the guest's lock before it looks at anything."""

from __future__ import annotations

import os
import types

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils import locks
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest import GuestList
from ansible_collections.kuutorvaja.xen.plugins.modules import (
    xen_disk,
    xen_domain,
    xen_guest,
    xen_guest_config,
    xen_guest_files,
    xen_image,
)

# (module, its arguments for guest test1 with DIR standing for a temporary directory, locks check mode shares)
MODULES = [
    (xen_image, dict(name="test1", dist="bookworm", dir="DIR", dhcp=True), True),
    (xen_image, dict(name="test1", dir="DIR", state="absent"), True),
    (xen_disk, dict(name="test1", path="DIR/disk.img", size="1G"), True),
    (xen_guest_files, dict(name="test1", image="DIR/disk.img", operations=[dict(action="read", path="/etc/hostname")]), False),
    (xen_guest_config, dict(name="test1", path="DIR/test1.cfg", state="absent"), True),
    (xen_domain, dict(name="test1", state="shutdown"), True),
    (xen_guest, dict(guests=[dict(name="test1", state="absent", dir="DIR")], defaults=dict(state="running")), True),
]
IDS = ["xen_image", "xen_image-absent", "xen_disk", "xen_guest_files", "xen_guest_config", "xen_domain", "xen_guest"]


def with_dir(args, directory):
    """``args`` with the placeholder DIR replaced by ``directory``, however deep."""
    if isinstance(args, dict):
        return {k: with_dir(v, directory) for k, v in args.items()}
    if isinstance(args, list):
        return [with_dir(v, directory) for v in args]
    return args.replace("DIR", directory) if isinstance(args, str) else args


@pytest.mark.parametrize("module, args, _shares", MODULES, ids=IDS)
def test_a_held_guest_lock_makes_the_module_wait_then_fail(module_harness, lock_holder, lock_dir,
                                                           tmp_path, monkeypatch, module, args, _shares):
    holder = lock_holder("test1")
    monkeypatch.setattr(locks, "DEFAULT_TIMEOUT", 0.3)
    result = module_harness(module.main, with_dir(args, str(tmp_path)), [])
    assert result["failed"], result
    assert os.path.join(lock_dir, "guest-test1.lock") in result["msg"]
    assert "held by pid %d (working on guest test1)" % holder.pid in result["msg"]
    result["_script"].assert_done()  # nothing ran, not even a toolstack read


@pytest.mark.parametrize("module, args, shares", MODULES, ids=IDS)
def test_check_mode_shares_the_lock_unless_its_check_mounts(module_harness, lock_holder, tmp_path, monkeypatch,
                                                            module, args, shares):
    lock_holder("test1", shared=True)
    monkeypatch.setattr(locks, "DEFAULT_TIMEOUT", 0.3)
    taken = []
    real = locks.FileLock.acquire

    def acquire(self, deadline, timeout):
        taken.append((os.path.basename(self.path), self.shared))
        real(self, deadline, timeout)
        # Got it beside the shared holder: stop before the module reads anything.
        raise GuestError("stop: locked")

    monkeypatch.setattr(locks.FileLock, "acquire", acquire)
    result = module_harness(module.main, dict(with_dir(args, str(tmp_path)), _ansible_check_mode=True), [])
    assert taken == [("guest-test1.lock", shares)], result["msg"]
    assert result["failed"]
    assert ("stop: locked" in result["msg"]) is shares
    if not shares:
        assert "a check-mode run" in result["msg"]


@pytest.mark.parametrize("check_mode, fixes_on_existing, fixes, shared", [
    (False, False, {}, False),
    (False, True, dict(lib_tls=True), False),
    (True, False, dict(lib_tls=True), True),  # fixes only after a build, which check mode only predicts
    (True, True, dict(lib_tls=False), True),
    (True, True, dict(lib_tls=True), False),  # the check mounts the disk
])
def test_xen_guest_shares_a_guests_lock_in_check_mode_unless_it_mounts(check_mode, fixes_on_existing, fixes, shared):
    guests = GuestList(types.SimpleNamespace(check_mode=check_mode), None, None, dict(fixes_on_existing=fixes_on_existing))
    assert guests.shared_lock(dict(fixes=fixes)) is shared
