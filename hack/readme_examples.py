# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that every example under docs/examples/ appears verbatim in the README.

The examples are files so that a test can run them (hack/install-check.sh);
the README quotes them. Each file, without its YAML start and license lines,
must be the text of one fenced block of the README.
Usage: python hack/readme_examples.py README.md docs/examples
"""

import pathlib
import re
import sys

HEADER = re.compile(r"^(---|# Copyright .*|# SPDX-License-Identifier: .*)$")


def quoted_text(path):
    """The example as the README quotes it: its header lines dropped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and HEADER.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines)


def fenced_blocks(readme):
    """The contents of the README's fenced code blocks."""
    return [m.group(1).rstrip("\n") for m in re.finditer(r"^```[a-z]*\n(.*?)^```$", readme, re.S | re.M)]


def main(readme_path, examples_dir):
    """Report each example the README does not quote; exit 1 if any."""
    blocks = fenced_blocks(pathlib.Path(readme_path).read_text(encoding="utf-8"))
    missing = [
        str(path) for path in sorted(pathlib.Path(examples_dir).rglob("*.yml")) if quoted_text(path) not in blocks
    ]
    for path in missing:
        print("readme_examples: %s is not quoted verbatim in %s" % (path, readme_path), file=sys.stderr)
    print("readme_examples: %d examples checked" % len(list(pathlib.Path(examples_dir).rglob("*.yml"))))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
