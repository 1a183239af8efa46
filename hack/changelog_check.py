# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dry-run the first release's changelog and check what it announces.

Runs ``antsibull-changelog release`` for galaxy.yml's version in a scratch
copy of the collection (the tree is never touched) and checks that the
release notes have a summary, list every module, filter, inventory plugin, role and playbook
exactly once, and mention no internal numbering (issue, fault, benchmark figure). Only before the first release: afterwards the objects of
earlier releases are not new any more, and antsibull-changelog's own lint
(in ansible-test sanity) is the check.
Usage: python hack/changelog_check.py   (from the repository root, in the venv)
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def tracked_files():
    """The files git tracks or would track (as hack/sanity.sh stages them)."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def expected_objects():
    """Every object the first release must announce, as (kind, name)."""
    objects = [("module", p.stem) for p in ROOT.glob("plugins/modules/*.py")]
    objects += [("filter", p.stem) for p in ROOT.glob("plugins/filter/*.yml")]
    objects += [("inventory", p.stem) for p in ROOT.glob("plugins/inventory/*.py")]
    objects += [("role", p.name) for p in ROOT.glob("roles/*") if p.is_dir()]
    objects += [("playbook", p.stem) for p in ROOT.glob("playbooks/*.yml")]
    return sorted(objects)


def main():
    """Stage, release, check; print the new-object sections."""
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    if changes.get("releases"):
        print("changelog_check: a release exists already; nothing to dry-run")
        return 0
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="kuutorvaja-changelog."))
    try:
        stage = scratch / "ansible_collections" / "kuutorvaja" / "xen"
        for name in tracked_files():
            source = ROOT / name
            if source.is_file():
                (stage / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, stage / name)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(scratch))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "antsibull-changelog"), "release", "--version", str(version)],
            cwd=stage, env=env, check=True,
        )
        notes = (stage / "CHANGELOG.rst").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(scratch)
    problems = []
    if "Release Summary" not in notes:
        problems.append("no release summary")
    for internal in re.findall(r"\b(?:issue|fault|figure) \d+\b", notes, re.I):
        problems.append("an internal reference in the release notes: %r" % internal)
    for kind, name in expected_objects():
        count = len(re.findall(r"^- kuutorvaja\.xen\.%s - " % re.escape(name), notes, re.M))
        if count != 1:
            problems.append("%s %s is listed %d times" % (kind, name, count))
    print(notes[notes.index("New "):] if "New " in notes else notes)
    for problem in problems:
        print("changelog_check: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
