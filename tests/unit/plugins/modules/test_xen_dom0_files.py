# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kuutorvaja.xen.xen_dom0_files through main(): writes, idempotence, check and diff mode, refusals.

The module runs no commands (``calls`` is ``[]``); every path lives under tmp_path and
is owned by the user running the tests, so they pass as root or not.
"""

from __future__ import annotations

import grp
import os
import subprocess
import pwd
import stat

import pytest

from ansible_collections.kuutorvaja.xen.plugins.modules import xen_dom0_files
from ansible_collections.kuutorvaja.xen.tests.unit.conftest_helpers import fixture_text

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name

# A shortened /etc/xen/xl.conf as Debian ships it.
XL_CONF = fixture_text("debian/xl.conf")


def afile(path, **changes):
    """A files[] entry owned by the current user."""
    spec = dict(path=str(path), owner=OWNER, group=GROUP)
    spec.update(changes)
    return spec


def adir(path, **changes):
    """A directories[] entry owned by the current user."""
    spec = dict(path=str(path), owner=OWNER, group=GROUP)
    spec.update(changes)
    return spec


def run(module_harness, files=(), directories=(), **extra):
    args = dict(files=list(files), directories=list(directories))
    args.update(extra)
    result = module_harness(xen_dom0_files.main, args, [])
    result["_script"].assert_done()
    return result


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def listing(root):
    """Every path under root, relative, sorted (to prove nothing was written)."""
    found = []
    for top, dirs, names in os.walk(str(root)):
        for name in dirs + names:
            found.append(os.path.relpath(os.path.join(top, name), str(root)))
    return sorted(found)


def test_new_file_written_with_mode_and_reported(module_harness, tmp_path):
    target = tmp_path / "new.cfg"
    result = run(module_harness, [afile(target, content="a=1\n", mode="0640")])
    assert result["changed"] is True
    assert result["changed_paths"] == [str(target)]
    assert target.read_text() == "a=1\n"
    assert mode_of(target) == 0o640
    st = os.stat(str(target))
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    # The atomic write leaves no temporary file beside the target.
    assert listing(tmp_path) == ["new.cfg"]


def test_default_file_mode_is_0644(module_harness, tmp_path):
    target = tmp_path / "new.cfg"
    run(module_harness, [afile(target, content="x\n")])
    assert mode_of(target) == 0o644


def test_second_identical_run_changes_nothing(module_harness, tmp_path):
    target = tmp_path / "new.cfg"
    files = [afile(target, content="a=1\n", mode="0600")]
    first = run(module_harness, files, directories=[adir(tmp_path / "d", mode="0750")])
    inode = os.stat(str(target)).st_ino
    second = run(module_harness, files, directories=[adir(tmp_path / "d", mode="0750")])
    assert first["changed"] and first["changed_paths"] == [str(tmp_path / "d"), str(target)]
    assert second["changed"] is False
    assert second["changed_paths"] == []
    assert os.stat(str(target)).st_ino == inode, "an unchanged file must not be rewritten"
    assert target.read_text() == "a=1\n" and mode_of(target) == 0o600


def test_existing_identical_file_is_left_alone(module_harness, tmp_path):
    target = tmp_path / "same.cfg"
    target.write_text("same\n")
    os.chmod(str(target), 0o644)
    result = run(module_harness, [afile(target, content="same\n")])
    assert result["changed"] is False and result["changed_paths"] == []


def test_mode_only_difference_corrected_without_rewrite(module_harness, tmp_path):
    target = tmp_path / "conf"
    target.write_text("keep\n")
    os.chmod(str(target), 0o666)
    inode = os.stat(str(target)).st_ino
    result = run(module_harness, [afile(target, content="keep\n", mode="0600")])
    assert result["changed"] is True and result["changed_paths"] == [str(target)]
    assert mode_of(target) == 0o600
    assert os.stat(str(target)).st_ino == inode, "content was equal: only chmod, no new file"
    assert target.read_text() == "keep\n"


def test_changed_content_replaces_the_file(module_harness, tmp_path):
    target = tmp_path / "conf"
    target.write_text("old\n")
    os.chmod(str(target), 0o644)
    result = run(module_harness, [afile(target, content="new\n")])
    assert result["changed_paths"] == [str(target)]
    assert target.read_text() == "new\n" and mode_of(target) == 0o644
    assert listing(tmp_path) == ["conf"]


def test_existing_directory_mode_corrected(module_harness, tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    os.chmod(str(directory), 0o777)
    (directory / "inside").write_text("x")
    result = run(module_harness, directories=[adir(directory, mode="0750")])
    assert result["changed_paths"] == [str(directory)]
    assert mode_of(directory) == 0o750
    assert (directory / "inside").read_text() == "x"


def test_check_mode_writes_nothing_but_reports(module_harness, tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("old\n")
    os.chmod(str(existing), 0o644)
    result = run(
        module_harness,
        [afile(existing, content="new\n"), afile(tmp_path / "newdir" / "new.cfg", content="x\n"),
         afile(tmp_path / "conf", settings=[{"key": "A", "value": "1"}])],
        directories=[adir(tmp_path / "newdir")],
        _ansible_check_mode=True,
    )
    assert result["changed"] is True
    assert result["changed_paths"] == [str(tmp_path / "newdir"), str(existing),
                                       str(tmp_path / "newdir" / "new.cfg"), str(tmp_path / "conf")]
    assert listing(tmp_path) == ["existing"]
    assert existing.read_text() == "old\n"


def test_check_mode_mode_only_difference_not_applied(module_harness, tmp_path):
    target = tmp_path / "conf"
    target.write_text("keep\n")
    os.chmod(str(target), 0o666)
    result = run(module_harness, [afile(target, content="keep\n", mode="0600")], _ansible_check_mode=True)
    assert result["changed"] and result["changed_paths"] == [str(target)]
    assert mode_of(target) == 0o666


def test_diff_mode_returns_one_diff_per_changed_path(module_harness, tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("old\n")
    os.chmod(str(existing), 0o644)
    unchanged = tmp_path / "unchanged"
    unchanged.write_text("same\n")
    os.chmod(str(unchanged), 0o644)
    new = tmp_path / "new"
    result = run(
        module_harness,
        [afile(existing, content="new\n"), afile(unchanged, content="same\n"), afile(new, content="fresh\n", mode="0600")],
        _ansible_diff=True,
    )
    assert result["changed_paths"] == [str(existing), str(new)]
    diff = result["diff"]
    assert isinstance(diff, list) and len(diff) == 2
    assert diff[0]["before"] == "old\n" and diff[0]["after"] == "new\n"
    assert str(existing) in diff[0]["before_header"] and "0644" in diff[0]["before_header"]
    assert diff[1]["before"] == "" and diff[1]["after"] == "fresh\n"
    assert diff[1]["before_header"] == "(absent)"
    assert str(new) in diff[1]["after_header"] and "0600 %s:%s" % (OWNER, GROUP) in diff[1]["after_header"]


def test_diff_mode_shows_mode_change_in_headers(module_harness, tmp_path):
    target = tmp_path / "conf"
    target.write_text("keep\n")
    os.chmod(str(target), 0o666)
    result = run(module_harness, [afile(target, content="keep\n", mode="0600")], _ansible_diff=True, _ansible_check_mode=True)
    (diff,) = result["diff"]
    assert diff["before"] == diff["after"] == "keep\n"
    assert "0666" in diff["before_header"] and "0600" in diff["after_header"]


def test_settings_on_existing_conffile_keep_comments(module_harness, tmp_path):
    conf = tmp_path / "xl.conf"
    conf.write_text(XL_CONF)
    os.chmod(str(conf), 0o644)
    spec = afile(conf, syntax="xl", settings=[{"key": "autoballoon", "value": "off"}])
    result = run(module_harness, [spec])
    assert result["changed_paths"] == [str(conf)]
    assert conf.read_text() == XL_CONF.replace('#autoballoon="auto"\n', '#autoballoon="auto"\nautoballoon="off"\n')
    again = run(module_harness, [spec])
    assert again["changed"] is False and again["changed_paths"] == []


def test_settings_create_a_missing_file_with_just_the_keys(module_harness, tmp_path):
    conf = tmp_path / "xendomains"
    spec = afile(conf, settings=[{"key": "XENDOMAINS_RESTORE", "value": "false"},
                                 {"key": "XENDOMAINS_SAVE", "value": ""}])
    result = run(module_harness, [spec])
    assert result["changed_paths"] == [str(conf)]
    assert conf.read_text() == "XENDOMAINS_RESTORE=false\nXENDOMAINS_SAVE=''\n"


def test_missing_directory_listed_is_created_before_its_file(module_harness, tmp_path):
    parent = tmp_path / "grub.d"
    child = parent / "sub"
    target = child / "zz.cfg"
    result = run(module_harness, [afile(target, content="GRUB=1\n")],
                 directories=[adir(parent, mode="0700"), adir(child)])
    assert result["changed_paths"] == [str(parent), str(child), str(target)]
    assert parent.is_dir() and mode_of(parent) == 0o700
    assert child.is_dir() and mode_of(child) == 0o755
    assert target.read_text() == "GRUB=1\n"


def test_file_in_missing_unlisted_directory_gets_it_made(module_harness, tmp_path):
    """As lineinfile's create: the missing parent of a file is made."""
    target = tmp_path / "nodir" / "x.cfg"
    result = run(module_harness, [afile(target, content="x\n")])
    assert result["changed_paths"] == [str(target)]
    assert target.read_text() == "x\n" and mode_of(target) == 0o644


def test_file_in_missing_unlisted_directory_check_mode_does_not_fail(module_harness, tmp_path):
    target = tmp_path / "nodir" / "x.cfg"
    result = run(module_harness, [afile(target, content="x\n")], _ansible_check_mode=True)
    assert not result.get("failed")
    assert result["changed"] and result["changed_paths"] == [str(target)]
    assert listing(tmp_path) == []


def test_directory_with_missing_parents_is_made_as_by_mkdir_p(module_harness, tmp_path):
    deep = tmp_path / "a" / "b"
    result = run(module_harness, [afile(deep / "f", content="x\n")], directories=[adir(deep, mode="0700")])
    assert result["changed_paths"] == [str(deep), str(deep / "f")]
    assert (tmp_path / "a").is_dir() and deep.is_dir() and mode_of(deep) == 0o700
    assert (deep / "f").read_text() == "x\n"


def test_check_mode_directory_with_missing_parents_creates_nothing(module_harness, tmp_path):
    deep = tmp_path / "a" / "b"
    result = run(module_harness, directories=[adir(deep)], _ansible_check_mode=True)
    assert result["changed"] and result["changed_paths"] == [str(deep)]
    assert listing(tmp_path) == []


def test_path_that_is_a_directory_under_files_fails(module_harness, tmp_path):
    directory = tmp_path / "is-a-dir"
    directory.mkdir()
    result = run(module_harness, [afile(directory, content="x\n")])
    assert result["failed"]
    assert str(directory) in result["msg"] and "not a regular file" in result["msg"]
    assert directory.is_dir() and listing(tmp_path) == ["is-a-dir"]


def test_path_that_is_a_file_under_directories_fails(module_harness, tmp_path):
    target = tmp_path / "plain"
    target.write_text("x")
    result = run(module_harness, directories=[adir(target)])
    assert result["failed"] and str(target) in result["msg"] and "not a directory" in result["msg"]
    assert target.read_text() == "x"


BAD_FILE_SPECS = {
    "relative-path": (lambda tmp: afile("etc/xen/xl.conf", content="x"), "etc/xen/xl.conf"),
    "dot-dot-in-path": (lambda tmp: afile("%s/etc/../x.cfg" % tmp, content="x"), "%s/etc/../x.cfg"),
    "both-content-and-settings": (
        lambda tmp: afile("%s/x.cfg" % tmp, content="x", settings=[{"key": "A", "value": "1"}]), "%s/x.cfg"),
    "neither-content-nor-settings": (lambda tmp: afile("%s/x.cfg" % tmp), "%s/x.cfg"),
    "absent-with-content": (lambda tmp: afile("%s/x.cfg" % tmp, state="absent", content="x"), "%s/x.cfg"),
    "bad-mode": (lambda tmp: afile("%s/x.cfg" % tmp, content="x", mode="9999"), "%s/x.cfg"),
    "mode-not-octal-word": (lambda tmp: afile("%s/x.cfg" % tmp, content="x", mode="u+rw"), "%s/x.cfg"),
    "unknown-owner": (lambda tmp: afile("%s/x.cfg" % tmp, content="x", owner="no-such-user-kx"), "%s/x.cfg"),
    "unknown-group": (lambda tmp: afile("%s/x.cfg" % tmp, content="x", group="no-such-group-kx"), "%s/x.cfg"),
}


@pytest.mark.parametrize("make_spec, named", list(BAD_FILE_SPECS.values()), ids=list(BAD_FILE_SPECS))
def test_bad_file_spec_refused_and_nothing_written(module_harness, tmp_path, make_spec, named):
    result = run(module_harness, [make_spec(tmp_path)])
    assert result["failed"]
    assert (named % tmp_path if "%s" in named else named) in result["msg"]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("changes, word", [
    (dict(mode="9999"), "mode"), (dict(owner="no-such-user-kx"), "owner"), (dict(group="no-such-group-kx"), "group")])
def test_bad_directory_spec_refused_and_nothing_created(module_harness, tmp_path, changes, word):
    directory = tmp_path / "d"
    result = run(module_harness, directories=[adir(directory, **changes)])
    assert result["failed"] and str(directory) in result["msg"] and word in result["msg"]
    assert listing(tmp_path) == []


def test_same_path_twice_refused_before_anything_is_written(module_harness, tmp_path):
    first = tmp_path / "first.cfg"
    twice = tmp_path / "twice.cfg"
    result = run(module_harness, [afile(first, content="1\n"), afile(twice, content="a\n"), afile(twice, content="b\n")])
    assert result["failed"] and str(twice) in result["msg"] and "twice" in result["msg"]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("spelling", ["%s/twice.cfg/", "%s/./twice.cfg", "%s//twice.cfg"])
def test_same_path_spelled_differently_refused(module_harness, tmp_path, spelling):
    twice = tmp_path / "twice.cfg"
    result = run(module_harness, [afile(twice, content="a\n"), afile(spelling % tmp_path, content="b\n")])
    assert result["failed"] and str(twice) in result["msg"] and "twice" in result["msg"]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("spelling", ["%s/x.cfg/", "%s/./x.cfg", "%s//x.cfg"])
def test_path_is_normalised(module_harness, tmp_path, spelling):
    result = run(module_harness, [afile(spelling % tmp_path, content="x\n")])
    assert result["changed_paths"] == [str(tmp_path / "x.cfg")]
    assert (tmp_path / "x.cfg").read_text() == "x\n" and listing(tmp_path) == ["x.cfg"]


def test_same_path_as_directory_and_file_refused(module_harness, tmp_path):
    both = tmp_path / "both"
    result = run(module_harness, [afile(both, content="x\n")], directories=[adir(both)])
    assert result["failed"] and str(both) in result["msg"]
    assert listing(tmp_path) == []


def test_relative_path_after_valid_entries_refused_before_anything_is_written(module_harness, tmp_path):
    result = run(module_harness, [afile(tmp_path / "ok.cfg", content="x\n"), afile("relative.cfg", content="x")],
                 directories=[adir(tmp_path / "d")])
    assert result["failed"] and "relative.cfg" in result["msg"]
    assert listing(tmp_path) == []


@pytest.mark.parametrize("changes", [dict(mode="9999"), dict(owner="no-such-user-kx"), dict(group="no-such-group-kx")],
                         ids=["mode", "owner", "group"])
def test_bad_attrs_in_a_later_entry_refused_before_anything_is_written(module_harness, tmp_path, changes):
    result = run(module_harness, [afile(tmp_path / "ok.cfg", content="x\n"),
                                  afile(tmp_path / "bad.cfg", content="x\n", **changes)])
    assert result["failed"] and str(tmp_path / "bad.cfg") in result["msg"]
    assert listing(tmp_path) == []


def test_crlf_content_is_idempotent(module_harness, tmp_path):
    target = tmp_path / "crlf.cfg"
    spec = afile(target, content="a=1\r\nb=2\r\n")
    run(module_harness, [spec])
    assert target.read_bytes() == b"a=1\r\nb=2\r\n"
    again = run(module_harness, [spec])
    assert again["changed"] is False and again["changed_paths"] == []


def test_integer_mode_is_not_misread(module_harness, tmp_path):
    target = tmp_path / "m.cfg"
    result = run(module_harness, [afile(target, content="x\n", mode=0o644)])
    assert result["changed"] and mode_of(target) == 0o644


def test_symlinked_paths_are_idempotent_or_refused(module_harness, tmp_path):
    (tmp_path / "real").mkdir()
    os.chmod(str(tmp_path / "real"), 0o755)
    (tmp_path / "real.cfg").write_text("x\n")
    os.chmod(str(tmp_path / "real.cfg"), 0o644)
    os.symlink("real", str(tmp_path / "link"))
    os.symlink("real.cfg", str(tmp_path / "link.cfg"))
    args = dict(files=[afile(tmp_path / "link.cfg", content="x\n")], directories=[adir(tmp_path / "link")])
    first = run(module_harness, **args)
    second = run(module_harness, **args)
    assert first["changed"] is False and second["changed"] is False and second["changed_paths"] == []
    changed = run(module_harness, files=[afile(tmp_path / "link.cfg", content="y\n")])
    assert changed["changed_paths"] == [str(tmp_path / "link.cfg")]
    assert os.path.islink(str(tmp_path / "link.cfg")) and (tmp_path / "real.cfg").read_text() == "y\n"


@pytest.mark.parametrize("setting, syntax, words", [
    ({"key": "a b", "value": "1"}, "shell", "key 'a b'"),
    ({"key": "X;rm", "value": "1"}, "shell", "key 'X;rm'"),
    ({"key": "X", "value": "1\nY=2"}, "shell", "one line"),
    ({"key": "vif.default.script", "value": 'a"b'}, "xl", "quotes it"),
    ({"key": "A.B", "value": "1"}, "shell", "key 'A.B' must be a name of letters, digits and '_'"),
    ({"key": "X", "value": "a\u2028b"}, "shell", "holds U+2028"),
    ({"key": "X", "value": "a\x0bb"}, "shell", "holds U+000B"),
    ({"key": "X", "value": "a\x85b"}, "xl", "holds U+0085"),
    ({"key": "vif.default.script", "value": "vif-bridge\\"}, "xl", "must not hold a backslash"),
], ids=["space", "metachar", "newline", "xl-quote", "shell-key-dot", "line-separator", "vertical-tab", "nel",
        "xl-backslash"])
def test_bad_setting_refused_before_anything_is_written(module_harness, tmp_path, setting, syntax, words):
    conf = tmp_path / "c.conf"
    conf.write_text("# kept\n")
    result = run(module_harness, [afile(tmp_path / "ok.cfg", content="x\n"),
                                  dict(afile(conf, settings=[setting]), syntax=syntax)])
    assert result["failed"] and str(conf) in result["msg"] and words in result["msg"]
    assert sorted(listing(tmp_path)) == ["c.conf"] and conf.read_text() == "# kept\n"


def test_shell_values_are_quoted_so_sourcing_runs_nothing(module_harness, tmp_path):
    """A value with ';', $(...) or backticks is text when the file is sourced, not a command."""
    conf = tmp_path / "xendomains"
    marker = tmp_path / "ran"
    values = ["x; touch %s" % marker, "$(touch %s)" % marker, "`touch %s`" % marker, "it's; touch %s" % marker]
    spec = afile(conf, settings=[{"key": "V%d" % i, "value": v} for i, v in enumerate(values)])
    assert run(module_harness, [spec])["changed"]
    script = ". %s; printf '%%s\\n' \"$V0\" \"$V1\" \"$V2\" \"$V3\"" % conf
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == values and not marker.exists()


# stage: a file that differs is written to its stage path for the caller to
# swap in (the network role's guarded apply); the file itself is left alone.

def test_differing_file_is_staged_not_written(module_harness, tmp_path):
    live, stage = tmp_path / "etc" / "bridge", tmp_path / "next" / "bridge"
    live.parent.mkdir()
    live.write_text("old\n")
    os.chmod(str(live), 0o644)
    result = run(module_harness, [afile(live, content="new\n", stage=str(stage))], _ansible_diff=True)
    assert result["changed"] is True
    assert result["staged_paths"] == [str(live)]
    assert result["changed_paths"] == [str(stage)]
    assert live.read_text() == "old\n"
    assert stage.read_text() == "new\n" and mode_of(stage) == 0o644
    (diff,) = result["diff"]
    assert diff["before"] == "old\n" and diff["after"] == "new\n"
    assert "staged at %s" % stage in diff["after_header"]


def test_missing_file_is_staged(module_harness, tmp_path):
    live, stage = tmp_path / "etc" / "interfaces", tmp_path / "next" / "interfaces"
    result = run(module_harness, [afile(live, content="x\n", stage=str(stage), mode="0600")])
    assert result["staged_paths"] == [str(live)]
    assert not live.exists() and stage.read_text() == "x\n" and mode_of(stage) == 0o600


def test_mode_only_difference_is_staged(module_harness, tmp_path):
    live, stage = tmp_path / "bridge", tmp_path / "staged"
    live.write_text("keep\n")
    os.chmod(str(live), 0o666)
    result = run(module_harness, [afile(live, content="keep\n", stage=str(stage))])
    assert result["staged_paths"] == [str(live)]
    assert mode_of(live) == 0o666 and mode_of(stage) == 0o644


def test_matching_file_stages_nothing_and_drops_a_stale_copy(module_harness, tmp_path):
    live, stage = tmp_path / "bridge", tmp_path / "staged"
    live.write_text("same\n")
    os.chmod(str(live), 0o644)
    spec = afile(live, content="same\n", stage=str(stage))
    clean = run(module_harness, [spec])
    assert clean["changed"] is False and clean["staged_paths"] == [] and clean["changed_paths"] == []
    # A copy an earlier run staged but never swapped in.
    stage.write_text("stale\n")
    check = run(module_harness, [spec], _ansible_check_mode=True)
    assert check["changed_paths"] == [str(stage)] and check["staged_paths"] == [] and stage.exists()
    dropped = run(module_harness, [spec])
    assert dropped["changed_paths"] == [str(stage)] and dropped["staged_paths"] == []
    assert not stage.exists() and live.read_text() == "same\n"
    again = run(module_harness, [spec])
    assert again["changed"] is False


def test_check_mode_stages_nothing_but_reports(module_harness, tmp_path):
    live, stage = tmp_path / "bridge", tmp_path / "next" / "bridge"
    result = run(module_harness, [afile(live, content="x\n", stage=str(stage))], _ansible_check_mode=True)
    assert result["changed"] and result["staged_paths"] == [str(live)] and result["changed_paths"] == [str(stage)]
    assert listing(tmp_path) == []


def test_staged_and_plain_files_in_one_batch(module_harness, tmp_path):
    live, stage, plain = tmp_path / "bridge", tmp_path / "next" / "bridge", tmp_path / "xl.conf"
    result = run(module_harness, [afile(live, content="b\n", stage=str(stage)),
                                  afile(plain, settings=[{"key": "autoballoon", "value": "off"}])],
                 directories=[adir(tmp_path / "next")])
    assert result["changed_paths"] == [str(tmp_path / "next"), str(stage), str(plain)]
    assert result["staged_paths"] == [str(live)]
    assert plain.read_text() == "autoballoon=off\n" and not live.exists()


@pytest.mark.parametrize("stage, words", [
    ("relative/bridge", "must be absolute"),
    ("{tmp}/next/../bridge", "must be absolute, without '..'"),
    ("{tmp}/other", "is given twice"),
    ("{tmp}/bridge", "is given twice"),
], ids=["relative", "dotdot", "another-path", "own-path"])
def test_bad_stage_refused_before_anything_is_written(module_harness, tmp_path, stage, words):
    result = run(module_harness, [afile(tmp_path / "other", content="o\n"),
                                  afile(tmp_path / "bridge", content="b\n", stage=stage.format(tmp=tmp_path))])
    assert result["failed"] and words in result["msg"]
    assert listing(tmp_path) == []


def test_stage_that_is_a_directory_is_refused(module_harness, tmp_path):
    (tmp_path / "next").mkdir()
    result = run(module_harness, [afile(tmp_path / "bridge", content="b\n", stage=str(tmp_path / "next"))])
    assert result["failed"] and "is not a regular file" in result["msg"]
    assert listing(tmp_path) == ["next"]


# state: absent, the role's files of another mode (a bridge dropped, NAT's ruleset).

def test_absent_file_removed_then_nothing_to_do(module_harness, tmp_path):
    gone, kept = tmp_path / "kuutorvaja-nat.nft", tmp_path / "xl.conf"
    gone.write_text("table ip t\n")
    files = [afile(gone, state="absent"), afile(kept, content="k\n")]
    check = run(module_harness, files, _ansible_check_mode=True, _ansible_diff=True)
    assert check["changed_paths"] == [str(gone), str(kept)] and gone.exists() and not kept.exists()
    assert check["diff"][0]["before"] == "table ip t\n" and check["diff"][0]["after_header"] == "(absent)"
    first = run(module_harness, files)
    assert first["changed_paths"] == [str(gone), str(kept)] and first["staged_paths"] == []
    assert listing(tmp_path) == ["xl.conf"]
    again = run(module_harness, files)
    assert again["changed"] is False


def test_absent_symlink_is_removed_not_its_target(module_harness, tmp_path):
    target, link = tmp_path / "target", tmp_path / "link"
    target.write_text("t\n")
    link.symlink_to(target)
    result = run(module_harness, [afile(link, state="absent")])
    assert result["changed_paths"] == [str(link)]
    assert listing(tmp_path) == ["target"]


def test_absent_file_with_stage_is_listed_for_the_caller_and_left(module_harness, tmp_path):
    live, stage = tmp_path / "etc" / "xenbr0", tmp_path / "next" / "xenbr0"
    live.parent.mkdir()
    live.write_text("auto xenbr0\n")
    stage.parent.mkdir()
    stage.write_text("stale\n")
    spec = afile(live, state="absent", stage=str(stage))
    result = run(module_harness, [spec])
    # The stale staged copy goes; the file itself is the caller's to remove.
    assert result["staged_paths"] == [str(live)]
    assert result["changed_paths"] == [str(stage), str(live)]
    assert live.exists() and not stage.exists()
    live.unlink()
    assert run(module_harness, [spec])["changed"] is False


def test_absent_path_that_is_a_directory_is_refused(module_harness, tmp_path):
    (tmp_path / "xenbr0").mkdir()
    result = run(module_harness, [afile(tmp_path / "xenbr0", state="absent")])
    assert result["failed"] and "is to be absent but is a directory" in result["msg"]
