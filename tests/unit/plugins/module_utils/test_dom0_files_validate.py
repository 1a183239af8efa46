# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""xen_dom0_files' per-file validate: the new version is checked before anything of the batch is written.

The validator is played by a stand-in ``run_command`` that reads the
temporary copy it is handed (as ``nft -c -f`` or ``sh -n`` would) and
refuses the content it is told to; no host tool runs.
"""

from __future__ import annotations

import grp
import os
import pwd

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.dom0_files import Dom0Files, Dom0FilesError

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


class Module:
    """What Dom0Files uses of AnsibleModule; the validator refuses any copy that holds ``refuse``."""

    def __init__(self, tmpdir, refuse="BROKEN", check_mode=False):
        self.tmpdir, self.refuse, self.check_mode, self._diff = str(tmpdir), refuse, check_mode, False
        self.checked = []  # (argv, content of the copy when the validator ran)

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, argv, data=None, environ_update=None, check_rc=False):
        with open(argv[-1].split("=", 1)[-1]) as handle:
            content = handle.read()
        self.checked.append((list(argv), content))
        return (1, "", "syntax error near BROKEN") if self.refuse in content else (0, "", "")

    def atomic_move(self, src, dest):
        os.rename(src, dest)


def spec(path, **changes):
    entry = dict(path=str(path), owner=OWNER, group=GROUP, mode="0644", syntax="shell", content=None,
                 settings=None, stage=None, validate=None)
    entry.update(changes)
    return entry


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "etc").mkdir()
    return tmp_path


def test_the_new_version_is_checked_then_written(scratch):
    module = Module(scratch / "tmp")
    target = scratch / "etc" / "xendomains"
    result = Dom0Files(module).run([], [spec(target, content="A=1\n", validate="sh -n %s")])
    assert result["changed_paths"] == [str(target)] and target.read_text() == "A=1\n"
    (argv, content), = module.checked
    assert argv[:2] == ["/usr/bin/sh", "-n"] and content == "A=1\n"
    assert commands_run(module) == [argv]
    # The copy is gone, the module's temp dir as it was.
    assert os.listdir(str(scratch / "tmp")) == []


def test_settings_are_checked_as_they_will_be_written(scratch):
    module = Module(scratch / "tmp")
    target = scratch / "etc" / "grub"
    target.write_text("# keep\nGRUB_DEFAULT=0\n")
    Dom0Files(module).run([], [spec(target, settings=[dict(key="GRUB_DEFAULT", value="2")], validate="sh -n %s")])
    assert module.checked[0][1] == "# keep\nGRUB_DEFAULT=2\n" == target.read_text()


def test_a_refused_version_stops_the_whole_batch_before_the_first_write(scratch):
    module = Module(scratch / "tmp")
    first, refused = scratch / "etc" / "first.conf", scratch / "etc" / "nat.nft"
    refused.write_text("table ip old {}\n")
    with pytest.raises(Dom0FilesError) as caught:
        Dom0Files(module).run([dict(path=str(scratch / "etc" / "newdir"), owner=OWNER, group=GROUP, mode="0755")],
                              [spec(first, content="A=1\n"), spec(refused, content="BROKEN\n", validate="nft -c -f %s")])
    message = str(caught.value)
    assert message.startswith("files: '%s': the new version failed its check (validate), nothing was written: " % refused)
    assert "syntax error near BROKEN" in message
    # Neither the earlier file nor the directory was made; the refused file is as it was.
    assert sorted(os.listdir(str(scratch / "etc"))) == ["nat.nft"] and refused.read_text() == "table ip old {}\n"
    assert os.listdir(str(scratch / "tmp")) == []


def test_check_mode_runs_the_validator_and_predicts_the_refusal(scratch):
    module = Module(scratch / "tmp", check_mode=True)
    target = scratch / "etc" / "nat.nft"
    with pytest.raises(Dom0FilesError, match="failed its check"):
        Dom0Files(module).run([], [spec(target, content="BROKEN\n", validate="nft -c -f %s")])
    assert not target.exists() and len(module.checked) == 1


def test_an_unchanged_file_is_not_checked(scratch):
    module = Module(scratch / "tmp", refuse="A=1")
    target = scratch / "etc" / "xendomains"
    target.write_text("A=1\n")
    os.chmod(str(target), 0o644)
    result = Dom0Files(module).run([], [spec(target, content="A=1\n", validate="sh -n %s")])
    assert result["changed_paths"] == [] and module.checked == []


def test_the_placeholder_may_sit_inside_a_word(scratch):
    module = Module(scratch / "tmp")
    target = scratch / "etc" / "x.conf"
    Dom0Files(module).run([], [spec(target, content="A=1\n", validate="checker --file=%s")])
    argv = module.checked[0][0]
    assert argv[1].startswith("--file=" + str(scratch / "tmp")) and "%s" not in argv[1]


@pytest.mark.parametrize("validate, why", [
    ("sh -n", "must be a command with one %s"),
    ("cmp %s %s", "must be a command with one %s"),
    ("%s -n", "must be a command with one %s"),
    ("", "must be a command with one %s"),
    ("sh -c 'unbalanced %s", "cannot be split into a command: No closing quotation"),
])
def test_bad_validate_is_refused_before_anything(scratch, validate, why):
    module = Module(scratch / "tmp")
    target = scratch / "etc" / "x.conf"
    with pytest.raises(Dom0FilesError, match="files: '%s': validate .*%s" % (target, why.replace("(", "\\("))):
        Dom0Files(module).run([], [spec(target, content="A=1\n", validate=validate)])
    assert not target.exists() and module.checked == []
