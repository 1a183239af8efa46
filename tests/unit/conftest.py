# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest setup: make the collection importable and stub commands as data.

Plain ``pytest tests/unit`` from the repository root needs
``ansible_collections.kuutorvaja.xen`` importable: the Makefile keeps the
symlink ``.cache/collections/ansible_collections/kuutorvaja/xen -> ../../../..``;
it is created here too when missing (fresh clone). Under ``ansible-test units``
the collection is already on the path and nothing is changed.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
import time
import types
from unittest import mock

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _ensure_collection_importable():
    try:
        import ansible_collections.kuutorvaja.xen.plugins.module_utils.command  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    root = os.path.join(REPO_ROOT, ".cache", "collections")
    namespace_dir = os.path.join(root, "ansible_collections", "kuutorvaja")
    link = os.path.join(namespace_dir, "xen")
    if not os.path.lexists(link):
        os.makedirs(namespace_dir, exist_ok=True)
        os.symlink(os.path.join("..", "..", "..", ".."), link)
    sys.path.insert(0, root)
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]


_ensure_collection_importable()

from ansible.module_utils import basic  # noqa: E402  pylint: disable=wrong-import-position

# Re-exported for tests that import them from here.
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    FIXTURES,
    PATIENCE,
    fixture_text,
)


try:
    from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
except ImportError:  # ansible-core 2.17 and 2.18 read the arguments from basic._ANSIBLE_ARGS

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Give the next ``AnsibleModule`` these arguments (2.19's helper, for older ansible-core)."""
        serialized = json.dumps({"ANSIBLE_MODULE_ARGS": dict(args or {})}).encode("utf-8")
        with mock.patch.object(basic, "_ANSIBLE_ARGS", serialized):
            yield


class ExitJson(Exception):
    """Raised instead of exiting when a module calls exit_json."""


class FailJson(Exception):
    """Raised instead of exiting when a module calls fail_json."""


class CommandScript:
    """Plays ``run_command`` as data: each expected call is ``(argv, rc, stdout, stderr)``.

    ``argv`` is compared with the executable's directory stripped, so
    ``["xl", "list"]`` matches ``/usr/sbin/xl list``. An unexpected or extra
    call fails the test with both argv lists shown. A callable stdout or
    stderr is called with the argv when the command runs (to look at a file
    the command is given while it exists).
    """

    def __init__(self, calls):
        # A fifth item names a file the command writes when it succeeds (``xl save``'s output).
        self.expected = [tuple(c) + ("", "", None)[max(0, len(c) - 2):] for c in calls]
        self.seen = []

    def __call__(self, module, args, **kwargs):
        argv = [os.path.basename(args[0])] + list(args[1:])
        self.seen.append(argv)
        index = len(self.seen) - 1
        if index >= len(self.expected):
            raise AssertionError("unexpected extra command %r (expected only %d)" % (argv, len(self.expected)))
        want, rc, out, err, creates = self.expected[index]
        if list(want) != argv:
            raise AssertionError("command %d: expected %r, got %r" % (index, list(want), argv))
        assert kwargs.get("environ_update", {}).get("LANG") == "C", "commands must run with LANG=C"
        assert isinstance(args, list), "commands must be argv lists"
        out = out(argv) if callable(out) else out
        err = err(argv) if callable(err) else err
        if creates and rc == 0:
            with open(creates, "w") as handle:
                handle.write("written by %s\n" % " ".join(argv))
        return rc, out, err

    def as_method(self):
        """A plain function to patch in as ``AnsibleModule.run_command`` (instances do not bind as methods)."""

        def run_command(module, args, **kwargs):
            return self(module, args, **kwargs)

        return run_command

    def assert_done(self):
        """All expected commands ran."""
        assert len(self.seen) == len(self.expected), "ran %r, expected %r" % (self.seen, [list(e[0]) for e in self.expected])


class FakeClock:
    """A monotonic clock that only moves when the code sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def lock_dir(tmp_path_factory, monkeypatch):
    """Every test takes its guest and disk locks in a directory of its own, never the host's /run/lock."""
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import locks

    directory = str(tmp_path_factory.mktemp("locks"))
    monkeypatch.setattr(locks, "LOCK_DIR", directory)
    return directory


def _hold_lock(directory, guest, disks, shared, ready, release, log):
    """In a child process: take the lock, say so, hold it until told, note when it let go."""
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import locks

    locks.LOCK_DIR = directory
    with locks.locked(guest=guest, disks=disks, shared=shared, timeout=PATIENCE):
        ready.set()
        release.wait(PATIENCE)
        with open(log, "a") as handle:
            handle.write("released %.6f\n" % time.time())


@pytest.fixture
def lock_holder(lock_dir, tmp_path):
    """``lock_holder(guest, disks=(), shared=False)``: another process holding that lock until ``.release.set()``.

    The process's ``.log`` records when it let go.
    """
    context = multiprocessing.get_context("fork")
    started = []

    def start(guest="test1", disks=(), shared=False):
        ready, release = context.Event(), context.Event()
        log = str(tmp_path / ("holder-%d.log" % len(started)))
        process = context.Process(target=_hold_lock, args=(lock_dir, guest, list(disks), shared, ready, release, log))
        process.start()
        started.append((process, release))
        assert ready.wait(PATIENCE), "the holder did not get its lock"
        process.release, process.log = release, log
        return process

    yield start
    for process, release in started:
        release.set()
        process.join(PATIENCE)


@pytest.fixture
def module_harness(monkeypatch):
    """Run a module's ``main()`` with args, scripted commands and installed tools; returns the result dict.

    Usage: ``result = module_harness(main, args, calls, installed=("xl",))``.
    The result carries ``failed`` for fail_json; ``result["_script"]`` is the
    :class:`CommandScript` and ``result["_clock"]`` the :class:`FakeClock`.
    """
    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs["failed"] = True
        kwargs["msg"] = msg
        raise FailJson(kwargs)

    def run(main, args, calls, installed=("xl",)):
        script = CommandScript(calls)
        clock = FakeClock()
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", script.as_method())
        monkeypatch.setattr(
            basic.AnsibleModule,
            "get_bin_path",
            lambda self, name, required=False, opt_dirs=None: "/usr/sbin/%s" % name if name in installed else None,
        )
        from ansible_collections.kuutorvaja.xen.plugins.module_utils import toolstack

        monkeypatch.setattr(toolstack, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
        monkeypatch.setattr(toolstack, "DEBIAN_TOOLSTACK_DEFAULTS", "/nonexistent/default/xen")
        result = None
        with patch_module_args(args):
            try:
                main()
            except (ExitJson, FailJson) as exc:
                result = exc.args[0]
        assert result is not None, "module returned without exit_json/fail_json"
        result = json.loads(json.dumps(result))
        result["_script"] = script
        result["_clock"] = clock
        return result

    return run


@pytest.fixture(autouse=True)
def _guest_mounts_in_tmp(monkeypatch, tmp_path):
    """Guest mount directories (and their records) in the test's temp dir, never the dom0's /run."""
    from ansible_collections.kuutorvaja.xen.plugins.module_utils import xen_guest_files

    monkeypatch.setattr(xen_guest_files, "MOUNT_DIR", str(tmp_path / "guest-mounts"))
