# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers the unit tests import (conftest.py itself is not importable as a module)."""

from __future__ import annotations

import json
import os
import struct

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

# How long a test waits for another process's step that takes milliseconds on
# an idle machine (a lock taken, a child gone, a playbook done): make test runs
# the checks at the lowest CPU priority beside the two lab VMs, where such a
# step can wait minutes for the CPU. A bound against a hang, never a timing
# claim: nothing passing waits for it.
PATIENCE = 600


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


def ext_head(size=64 * 1024 * 1024, block_size=4096, bit64=True):
    """An image head (70000 bytes from offset 0) with a minimal ext4 superblock for a ``size``-byte filesystem.

    Only the fields a reader of the size needs, at the offsets of struct
    ext4_super_block (from byte 1024, little-endian; written here as literals,
    independently of the module): s_blocks_count_lo 0x04, s_log_block_size
    0x18, s_magic 0x38, s_feature_incompat 0x60 (64bit = 0x80),
    s_blocks_count_hi 0x150. tests/integration/host_tools/test_e2fsprogs.py
    checks them against a real mkfs.ext4.
    """
    head = bytearray(70000)
    blocks = size // block_size
    struct.pack_into("<I", head, 1024 + 0x04, blocks & 0xFFFFFFFF)
    struct.pack_into("<I", head, 1024 + 0x18, block_size.bit_length() - 11)
    struct.pack_into("<H", head, 1024 + 0x38, 0xEF53)
    struct.pack_into("<I", head, 1024 + 0x60, 0x80 if bit64 else 0)
    struct.pack_into("<I", head, 1024 + 0x150, blocks >> 32 if bit64 else 0)
    return bytes(head)


def write_ext_image(path, size, **kwargs):
    """A sparse ``size``-byte file whose head is :func:`ext_head` (an ext filesystem as a reader of the superblock sees it)."""
    with open(path, "wb") as handle:
        handle.write(ext_head(size, **kwargs))
        handle.truncate(size)
    return str(path)


def xl_list_long(disk=None):
    """``xl list -l`` of the recorded dom0 running test1 (Xen 4.17), test1's first disk at ``disk`` when given."""
    domains = json.loads(fixture_text("xen-4.17/xl-list-l-all.json"))
    if disk is not None:
        test1 = next(d for d in domains if d["config"]["c_info"]["name"] == "test1")
        test1["config"]["disks"][0]["pdev_path"] = disk
    return json.dumps(domains, indent=4)
