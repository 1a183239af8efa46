#!/usr/bin/env python3
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print why a CI run failed, in the few lines a CI summary keeps (its tail).

Usage: ci_digest.py LOG

The suite expects many failures (bad input, faults) and ignores or rescues
them, so the digest looks only at the last ansible-playbook run whose recap
shows ``failed=`` or ``unreachable=`` above 0 and prints the last fatal task before it that was
not ignored: its task name and message (wrapped, at most ~40 lines).
"""

import json
import re
import sys
import textwrap

RECAP_FAILED = re.compile(r"^\S+\s+: ok=\d+ .*\b(unreachable|failed)=[1-9]")
FATAL = re.compile(r"^(fatal|failed): \[[^\]]+\].*? => (.*)$")
TASK = re.compile(r"^TASK \[(.*)\]")
# Colour codes, and the frame Molecule draws around a playbook's output on a terminal.
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
FRAME = re.compile(r"^\s*│\s?")


def last_failure(lines):
    """(task, result text) of the fatal that failed the last failing play, or None."""
    end = None
    for index in range(len(lines) - 1, -1, -1):
        if RECAP_FAILED.match(lines[index]):
            end = index
            break
    if end is None:
        return None
    for index in range(end - 1, -1, -1):
        match = FATAL.match(lines[index])
        if not match:
            continue
        following = lines[index + 1:index + 3]
        if any(line.startswith("...ignoring") for line in following):
            continue
        task = next((TASK.match(lines[i]).group(1) for i in range(index, -1, -1) if TASK.match(lines[i])), "?")
        return task, result_text(match.group(2), lines[index + 1:end])
    return None


def result_text(first, rest):
    """The whole result: one line, or pretty-printed JSON running on to its closing brace."""
    if first.strip() != "{":
        return first
    for stop, line in enumerate(rest):
        if line.startswith("}"):
            return "\n".join([first] + rest[:stop + 1])
    return first


def summary(result):
    """The message of an Ansible result (JSON), with the assertion when there is one."""
    try:
        data = json.loads(result)
    except ValueError:
        return result
    parts = [str(data.get("msg", ""))]
    for key in ("assertion", "cmd", "rc", "stderr"):
        if data.get(key) not in (None, ""):
            parts.append("%s: %s" % (key, data[key]))
    return "\n".join(parts)


def main():
    with open(sys.argv[1], errors="replace") as handle:
        lines = [FRAME.sub("", COLOUR.sub("", line)) for line in handle.read().splitlines()]
    found = last_failure(lines)
    if not found:
        print("== ci digest: no failed play recap in the log; see the lines above")
        return 0
    task, result = found
    print("== ci digest: the failing task was [%s]" % task)
    text = summary(result)
    wrapped = [w for line in text.splitlines() for w in (textwrap.wrap(line, 160) or [""])]
    for line in wrapped[:40]:
        print("== ci digest: " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
