# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sample every process's argv and environment (what ``ps`` shows) until told to stop.

Usage: ps_sample.py OUT STOPFILE MAX_SECONDS

Every 0.2 s it reads /proc/*/cmdline and /proc/*/environ; when STOPFILE
appears (or after MAX_SECONDS) it writes OUT (mode 0600) as JSON: the number
of samples, and every distinct command line and environment entry seen. The
test then looks for the secret in OUT; the secret is never given to this
script.
"""

import glob
import json
import os
import sys
import time


def read(path):
    """Text of a NUL-separated /proc file as a list of strings ([] when gone or unreadable)."""
    try:
        with open(path, "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


def main():
    """Sample until the stop file appears."""
    out, stop, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    me = str(os.getpid())
    cmdlines, environ = set(), set()
    samples = 0
    deadline = time.monotonic() + limit
    while not os.path.exists(stop) and time.monotonic() < deadline:
        for proc in glob.glob("/proc/[0-9]*"):
            if proc.rsplit("/", 1)[1] == me:
                continue
            argv = read(proc + "/cmdline")
            if argv:
                cmdlines.add(" ".join(argv))
            environ.update(read(proc + "/environ"))
        samples += 1
        time.sleep(0.2)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"samples": samples, "cmdlines": sorted(cmdlines), "environ": sorted(environ)}, handle)


if __name__ == "__main__":
    main()
