# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""write_atomically on real files in a temporary directory."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.file_write import write_atomically


def leftovers(directory, keep):
    return sorted(name for name in os.listdir(directory) if name != keep)


def test_creates_with_the_mode(tmp_path):
    path = tmp_path / "xl.conf"
    write_atomically(str(path), "autoballoon=\"off\"\n", 0o640)
    assert path.read_text() == "autoballoon=\"off\"\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path, "xl.conf") == []


def test_replaces_and_keeps_bytes_and_line_endings(tmp_path):
    path = tmp_path / "interfaces"
    path.write_bytes(b"old\n")
    write_atomically(str(path), "auto lo\r\n\udcff\n", 0o644)
    assert path.read_bytes() == b"auto lo\r\n\xff\n"


def test_bytes_and_owner(tmp_path):
    path = tmp_path / "shadow"
    uid, gid = os.getuid(), os.getgid()
    write_atomically(str(path), b"root:*:1::::::\n", 0o600, (uid, gid))
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, 0o600)


def test_the_move_is_the_callers(tmp_path):
    path = tmp_path / "guest.cfg"
    moves = []

    def move(src, dest):
        moves.append((os.path.dirname(src), os.path.basename(src).startswith(".guest.cfg."), dest))
        os.rename(src, dest)

    write_atomically(str(path), "name = \"a\"\n", 0o644, replace=move)
    assert moves == [(str(tmp_path), True, str(path))]
    assert path.read_text() == "name = \"a\"\n"


def test_a_failed_move_leaves_the_target_and_no_temp_file(tmp_path):
    path = tmp_path / "grub"
    path.write_text("GRUB_DEFAULT=0\n")

    def broken(src, dest):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(str(path), "GRUB_DEFAULT=2\n", 0o644, replace=broken)
    assert path.read_text() == "GRUB_DEFAULT=0\n"
    assert leftovers(tmp_path, "grub") == []


def test_a_failed_chmod_leaves_no_temp_file(tmp_path):
    path = tmp_path / "f"
    with pytest.raises((OSError, OverflowError, TypeError)):
        write_atomically(str(path), "x", mode="not a mode")
    assert os.listdir(tmp_path) == []


def test_sync_flushes_the_file_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    path = tmp_path / "test1.json"
    events = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.path.exists(str(path)))), real_fsync(fd)))
    write_atomically(str(path), "{}", 0o600, replace=lambda tmp, dest: (events.append(("replace", None)), os.replace(tmp, dest)),
                     sync=True)
    assert events == [("fsync", False), ("replace", None), ("fsync", True)]
    assert path.read_text() == "{}" and leftovers(tmp_path, "test1.json") == []
