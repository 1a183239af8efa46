# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record every process's argv and environment (what ``ps`` shows) until told to stop.

Usage: ps_sample.py OUT STOPFILE MAX_SECONDS

Two sources, both needed: the kernel's process events (the netlink proc
connector; root only) name each process the moment it execs, and its argv
and environment are read then, so short-lived commands are seen too; and
every 2 s a sweep of /proc/*/cmdline and /proc/*/environ catches what was
running before and argv rewritten in place. (A sweep every 0.2 s alone took
about a quarter of the lab dom0's one CPU under TCG, slowing the build it
watched, and still missed most short commands.) When STOPFILE appears (or
after MAX_SECONDS) it writes OUT (mode 0600) as JSON: the number of sweeps
and of exec events, how often the kernel dropped events, and every distinct
command line and environment entry seen. The test then looks for the
secret in OUT; the secret is never given to this script.
"""

import errno
import glob
import json
import os
import select
import socket
import struct
import sys
import time

SWEEP_SECONDS = 2.0

# linux/netlink.h, linux/connector.h, linux/cn_proc.h
NETLINK_CONNECTOR = 11
NLMSG_DONE = 3
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXEC = 0x00000002
NLMSG_HEADER = struct.Struct("=IHHII")  # len, type, flags, seq, pid
CN_HEADER = struct.Struct("=IIIIHH")  # idx, val, seq, ack, len, flags
EVENT_HEADER = struct.Struct("=IIQ")  # what, cpu, timestamp_ns
EXEC_EVENT = struct.Struct("=II")  # process_pid, process_tgid


def read(path):
    """Text of a NUL-separated /proc file as a list of strings ([] when gone or unreadable)."""
    try:
        with open(path, "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


def exec_events():
    """A netlink socket subscribed to the kernel's process events (raises OSError when refused)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
    sock.bind((0, CN_IDX_PROC))
    op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
    body = CN_HEADER.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
    sock.send(NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), NLMSG_DONE, 0, 0, sock.getsockname()[0]) + body)
    sock.setblocking(False)
    return sock


def exec_pids(data):
    """The pids (thread group IDs) of the exec events in one netlink datagram."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length = NLMSG_HEADER.unpack_from(data, offset)[0]
        if length < NLMSG_HEADER.size:
            break
        event = offset + NLMSG_HEADER.size + CN_HEADER.size
        if event + EVENT_HEADER.size + EXEC_EVENT.size <= offset + length:
            if EVENT_HEADER.unpack_from(data, event)[0] == PROC_EVENT_EXEC:
                yield EXEC_EVENT.unpack_from(data, event + EVENT_HEADER.size)[1]
        offset += (length + 3) & ~3


class Recorder:
    """Distinct command lines and environment entries, this process left out."""

    def __init__(self):
        self.me = os.getpid()
        self.cmdlines, self.environ = set(), set()

    def process(self, pid):
        """Record one process."""
        if pid == self.me:
            return
        argv = read("/proc/%d/cmdline" % pid)
        if argv:
            self.cmdlines.add(" ".join(argv))
        self.environ.update(read("/proc/%d/environ" % pid))

    def sweep(self):
        """Record every process now."""
        for proc in glob.glob("/proc/[0-9]*"):
            self.process(int(proc.rsplit("/", 1)[1]))


def main():
    """Record until the stop file appears."""
    out, stop, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    recorder = Recorder()
    events = exec_events()
    poller = select.poll()
    poller.register(events, select.POLLIN)
    sweeps = execs = dropped = 0
    deadline = time.monotonic() + limit
    next_sweep = 0.0
    while not os.path.exists(stop) and time.monotonic() < deadline:
        if time.monotonic() >= next_sweep:
            recorder.sweep()
            sweeps += 1
            next_sweep = time.monotonic() + SWEEP_SECONDS
        poller.poll(500)
        while True:
            try:
                data = events.recv(65536)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                dropped += 1  # the kernel dropped events; the sweeps still run
                continue
            for pid in exec_pids(data):
                execs += 1
                recorder.process(pid)
    recorder.sweep()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"samples": sweeps, "execs": execs, "dropped": dropped,
                   "cmdlines": sorted(recorder.cmdlines), "environ": sorted(recorder.environ)}, handle)


if __name__ == "__main__":
    main()
