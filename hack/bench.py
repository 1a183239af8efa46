#!/usr/bin/env python3
# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks of kuutorvaja.xen on the running real-Xen lab (make bench).

Each figure is a ratio of two timings taken in this one run, each timing the
median of BENCH_REPEAT (3) samples, the two sides interleaved so that the
noise of a shared machine falls on both. Nothing here asserts on time: the
script prints a table (figure, measured, floor, ratio, target, met?) and a
summary line, and writes docs/benchmarks.md.

  1. site.yml re-run, 1 guest / Ansible floor (facts + ping)        <= 1.5x
     (information: the same under Mitogen; package_facts / dpkg-query)
  2. per-guest re-run cost: (20 guests - 1 guest) / 19              <= 0.05 s
  3. xen_domain no-op / bare `xl list NAME` (same SSH master)       <= 1.3x
     xen_domain start / bare `xl create`                            <= 1.1x
     (information: the no-op under Mitogen)
  4. sparse image of 40 GiB / 4 GiB (xen_disk)                      <= 1.1x
  5. time to a running guest, debootstrap / golden image            >= 10x
     (BENCH_SLOW=1; the tarball's ratio beside it for information)

The site.yml variables are the lab's: lab/inventory/group_vars/xen_dom0.yml,
which the scenario `xen` links into its inventory, read here, so the re-run
is idempotent on the lab that scenario converged. Guests the bench makes are named kxb*, and
removed at the end (BENCH_KEEP=1 keeps them).

Settings (environment): BENCH_REPEAT (3), BENCH_FIGURES (e.g. 3,4: only those;
default all), BENCH_SLOW (unset: skip figure 5),
BENCH_SLOW_REPEAT (1: samples of the debootstrap build), BENCH_MIRROR
(http://deb.debian.org/debian), BENCH_KEEP, BENCH_OUT (docs/benchmarks.md),
BENCH_QUIET_LOAD (1.5) and BENCH_QUIET_WAIT (300 s): before each round, wait
that long at most for the dom0's load average to drop below that.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(REPO, ".cache", "bench")
LAB_STATE = os.path.join(REPO, ".cache", "xenlab")
LAB_INVENTORY = os.path.join(LAB_STATE, "guests-inventory.yml")
PLAYS = os.path.join(REPO, "tests", "bench")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
# Mitogen's strategy plugins (the Makefile's mitogen-link).
MITOGEN_STRATEGY = os.path.join(REPO, ".cache", "mitogen-strategy")

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
SLOW = os.environ.get("BENCH_SLOW", "") not in ("", "0")
SLOW_REPEAT = int(os.environ.get("BENCH_SLOW_REPEAT", "1"))
MIRROR = os.environ.get("BENCH_MIRROR", "http://deb.debian.org/debian")
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "docs", "benchmarks.md"))
# BENCH_FIGURES=3,4: run only those figures' phases (the others show no value).
ONLY = {f.strip() for f in os.environ.get("BENCH_FIGURES", "").split(",") if f.strip()}

# Figure 2's extra guests: never started, so they cost the role only its
# reads. The real guest of figure 3 and the provisioning guests of figure 5
# are small and never run two at a time.
FAKE_NAMES = ["kxb%02d" % i for i in range(1, 20)]
FAKE_ENTRY = dict(memory="128M", disk_size="1G", swap="128M", bridge="xenbr0", state="shutdown", autostart=False)
REAL_GUEST = dict(name="kxb20", memory="128M", disk_size="2G", bridge="xenbr0", state="shutdown", autostart=False)
# 512 MiB as the role's default: a guest that debootstrap made boots Debian's
# stock initramfs (MODULES=most), which 256 MiB does not hold (seen on the
# lab: an out-of-memory panic while the kernel unpacks it).
TAR_GUEST = dict(name="kxb21", memory="512M", disk_size="2G", bridge="xenbr0", state="running", autostart=False)
DEBOOTSTRAP_GUEST = dict(TAR_GUEST, name="kxb22", install_method="debootstrap", install_source="", mirror=MIRROR)
# The fast path: the tarball guest, booted once and shut down, kept as a golden image.
GOLDEN_IMAGE = "/data/kxb-golden.img"
GOLDEN_GUEST = dict(TAR_GUEST, name="kxb23", install_method="image", install_source=GOLDEN_IMAGE)
PROVISION_GUESTS = [TAR_GUEST["name"], DEBOOTSTRAP_GUEST["name"], GOLDEN_GUEST["name"]]
ALL_GUESTS = FAKE_NAMES + [REAL_GUEST["name"]] + PROVISION_GUESTS
SPARSE_DIR = "/data/kxb-bench"
SPARSE_SIZES = ("4G", "40G")

# Before each round, wait (up to QUIET_WAIT seconds) for the shared dom0's
# 1-minute load average to fall below QUIET_LOAD: fewer samples taken while
# someone else's build runs.
QUIET_LOAD = float(os.environ.get("BENCH_QUIET_LOAD", "1.5"))
QUIET_WAIT = int(os.environ.get("BENCH_QUIET_WAIT", "300"))

TIMEOUT = 3600
SLOW_TIMEOUT = 4 * 3600


class BenchError(Exception):
    """The bench cannot go on; the message says why."""


def log(msg):
    """Progress on stderr, so that stdout holds the table only."""
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def median(values):
    """Median of the samples, or None when there are none."""
    return statistics.median(values) if values else None


# -- the lab and its SSH connection -------------------------------------------


def read_ssh_env():
    """Port and key of the running lab (lab/up.sh writes .cache/xenlab/ssh.env)."""
    env = {}
    path = os.path.join(LAB_STATE, "ssh.env")
    try:
        with open(path) as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    env[key.replace("export ", "").strip()] = value.strip().strip("'\"")
    except OSError:
        raise BenchError("no lab is running (no %s): start it with `make lab`, then run `make bench`" % path)
    if "XENLAB_SSH_PORT" not in env or "XENLAB_SSH_KEY" not in env:
        raise BenchError("%s lacks XENLAB_SSH_PORT or XENLAB_SSH_KEY" % path)
    return env


def lab_loadavg(lab):
    """``/proc/loadavg``'s first three fields in the dom0 (1 vCPU: above 1 means queued work)."""
    _rc, out, _err, _sec = lab.run(["cat", "/proc/loadavg"], check=False)
    return " ".join(out.split()[:3]) or "?"


def wait_quiet(lab):
    """Wait for the dom0 to be quiet (load below QUIET_LOAD), at most QUIET_WAIT seconds; returns its load."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        load = lab.loadavg()
        try:
            busy = float(load.split()[0]) >= QUIET_LOAD
        except (ValueError, IndexError):
            busy = False
        if not busy or time.monotonic() >= deadline:
            if busy:
                log("the dom0 is still busy (load %s); going on" % load)
            return load
        log("the dom0 is busy (load %s); waiting for it to settle" % load)
        time.sleep(20)


class Lab:
    """The lab dom0 over the same SSH master connection (ControlPersist) that Ansible uses."""

    def __init__(self):
        env = read_ssh_env()
        self.port = env["XENLAB_SSH_PORT"]
        self.key = env["XENLAB_SSH_KEY"]
        self.control_dir = os.path.join(CACHE, "cp")
        # Ansible formats control_path with %(directory)s; ssh expands %C
        # (a hash of host, port and user) - the same socket for both.
        self.ssh_opts = [
            "-C", "-o", "ControlMaster=auto", "-o", "ControlPersist=900s",
            "-o", "ServerAliveInterval=30",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        ]

    def ssh_argv(self, argv):
        """ssh argv running ``argv`` in the dom0 through the shared master."""
        return (["ssh"] + self.ssh_opts
                + ["-o", "ControlPath=%s/%%C" % self.control_dir, "-o", "BatchMode=yes",
                   "-o", "Port=%s" % self.port, "-o", "User=root", "-i", self.key, "127.0.0.1",
                   shlex.join(argv)])

    def run(self, argv, check=True, timeout=600, data=None):
        """Run ``argv`` in the dom0 (``data`` on its stdin); returns (rc, stdout, stderr, seconds)."""
        start = time.monotonic()
        proc = subprocess.run(self.ssh_argv(argv), capture_output=True, text=True, timeout=timeout, check=False,
                              input=data if data is not None else "")
        seconds = time.monotonic() - start
        if check and proc.returncode != 0:
            raise BenchError("in the dom0, %s failed (rc=%d): %s" % (shlex.join(argv), proc.returncode,
                                                                     (proc.stderr or proc.stdout).strip()))
        return proc.returncode, proc.stdout, proc.stderr, seconds

    def loadavg(self):
        """The dom0's 1, 5 and 15 minute load averages: how busy the shared lab was."""
        return lab_loadavg(self)

    def master_running(self):
        """Whether the ControlPersist master (Ansible's or ours) is up."""
        argv = self.ssh_argv(["true"])
        argv = argv[:-2] + ["-O", "check", "127.0.0.1"]
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0

    def ansible_env(self, callback="ansible.posix.json", profile=False):
        """Environment for ansible-playbook: pipelining, the shared master, our callback."""
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".cache", "collections")),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="true",
            ANSIBLE_HOST_KEY_CHECKING="false",
            ANSIBLE_PIPELINING="true",
            ANSIBLE_SSH_ARGS=" ".join(self.ssh_opts),
            ANSIBLE_SSH_CONTROL_PATH_DIR=self.control_dir,
            ANSIBLE_SSH_CONTROL_PATH="%(directory)s/%%C",
            ANSIBLE_STDOUT_CALLBACK=callback,
            ANSIBLE_RETRY_FILES_ENABLED="false",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_DEPRECATION_WARNINGS="false",
        )
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        if profile:
            env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
        return env


# -- ansible-playbook runs ------------------------------------------------------


def _seconds(start, end):
    parse = datetime.datetime.fromisoformat
    return (parse(end.rstrip("Z")) - parse(start.rstrip("Z"))).total_seconds()


class Run:
    """One ansible-playbook run: wall time, recap, each task's duration, SSH round trips, profile_tasks' text."""

    def __init__(self, wall, output, ssh_execs=None, profile=""):
        self.wall = wall
        self.ssh_execs = ssh_execs
        self.profile = profile
        self.tasks = []
        self.stats = {}
        for play in output.get("plays", []):
            for task in play.get("tasks", []):
                duration = task["task"].get("duration", {})
                seconds = _seconds(duration["start"], duration["end"]) if "end" in duration else 0.0
                self.tasks.append((task["task"]["name"], seconds, task.get("hosts", {})))
        self.stats = output.get("stats", {})

    @property
    def changed(self):
        """Changed tasks over all hosts."""
        return sum(host.get("changed", 0) for host in self.stats.values())

    def timed(self, name):
        """Duration of the one task called ``name``."""
        found = [seconds for task, seconds, _hosts in self.tasks if task == name]
        if len(found) != 1:
            raise BenchError("expected one task %r in the run, found %d" % (name, len(found)))
        return found[0]

    def result(self, name, host="dom0"):
        """The registered result of task ``name`` on ``host``."""
        for task, _seconds, hosts in self.tasks:
            if task == name:
                return hosts.get(host, {})
        return {}


# Ansible runs this instead of ssh (ssh_executable): one line per SSH
# invocation - with pipelining, one per module run - then ssh, unchanged.
SSH_COUNTER = """#!/bin/sh
# Written by hack/bench.py: note one SSH round trip, then run ssh unchanged.
echo x >>"$BENCH_SSH_LOG"
exec ssh "$@"
"""


def split_output(stdout):
    """ansible.posix.json's document and the other callbacks' text (profile_tasks) around it."""
    match = re.search(r"^\{$", stdout, re.MULTILINE)
    if not match:
        return None, stdout
    try:
        document, end = json.JSONDecoder().raw_decode(stdout, match.start())
    except ValueError:
        return None, stdout
    return document, stdout[:match.start()] + stdout[end:]


class Ansible:
    """Runs the bench playbooks against the lab and parses what they report."""

    def __init__(self, lab):
        self.lab = lab
        self.counter = os.path.join(CACHE, "ssh-counting")
        with open(self.counter, "w") as handle:
            handle.write(SSH_COUNTER)
        os.chmod(self.counter, 0o755)
        self.ssh_log = os.path.join(CACHE, "ssh-execs.log")

    def play(self, playbook, inventory, extra=None, timeout=TIMEOUT, profile=False, mitogen=False):
        """Run ``playbook``; returns a :class:`Run`. ``profile`` adds the profile_tasks callback;
        ``mitogen`` runs it under Mitogen's mitogen_linear strategy (one persistent interpreter
        on the host, reached over its own SSH connection: no round trips to count)."""
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook]
        if extra:
            argv += ["-e", json.dumps(extra)]
        env = self.lab.ansible_env(profile=profile)
        if mitogen:
            env.update(ANSIBLE_STRATEGY="mitogen_linear", ANSIBLE_STRATEGY_PLUGINS=MITOGEN_STRATEGY)
        env.update(ANSIBLE_SSH_EXECUTABLE=self.counter, BENCH_SSH_LOG=self.ssh_log)
        with open(self.ssh_log, "w"):
            pass
        log("ansible-playbook %s" % os.path.relpath(playbook, REPO))
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout, check=False)
        wall = time.monotonic() - start
        with open(self.ssh_log) as handle:
            ssh_execs = len(handle.readlines())
        output, rest = split_output(proc.stdout)
        if proc.returncode != 0 or output is None:
            failed = []
            for play in (output or {}).get("plays", []):
                for task in play.get("tasks", []):
                    for host, res in task.get("hosts", {}).items():
                        if res.get("failed") or res.get("unreachable"):
                            # A loop's own msg only says that items failed: quote theirs.
                            items = [r.get("msg", r) for r in res.get("results", []) if r.get("failed")]
                            failed.append("%s on %s: %s" % (task["task"]["name"], host, "; ".join(map(str, items)) or res.get("msg", res)))
            raise BenchError("%s failed (rc=%d): %s" % (
                os.path.relpath(playbook, REPO), proc.returncode,
                "; ".join(failed) or (proc.stderr.strip()[-2000:] or proc.stdout.strip()[-2000:])))
        return Run(wall, output, ssh_execs, rest if profile else "")


# -- inventories: the lab's host, the lab's group_vars ---------------------------

LAB_GROUP_VARS = os.path.join(REPO, "lab", "inventory", "group_vars", "xen_dom0.yml")


def lab_group_vars():
    """lab/inventory/group_vars/xen_dom0.yml: the variables the lab was converged with."""
    with open(LAB_GROUP_VARS) as handle:
        group_vars = yaml.safe_load(handle)
    if not isinstance(group_vars, dict):
        raise BenchError("%s holds no variables" % os.path.relpath(LAB_GROUP_VARS, REPO))
    return group_vars


def write_inventory(name, group_vars):
    """An inventory folder: the lab's host (guests-inventory.yml) plus ``group_vars`` for xen_dom0."""
    if not os.path.exists(LAB_INVENTORY):
        raise BenchError("%s is missing: run `make %s` (make bench does)" % (LAB_INVENTORY, os.path.relpath(LAB_INVENTORY, REPO)))
    folder = os.path.join(CACHE, name)
    os.makedirs(os.path.join(folder, "group_vars"), exist_ok=True)
    shutil.copyfile(LAB_INVENTORY, os.path.join(folder, "hosts.yml"))
    with open(os.path.join(folder, "group_vars", "xen_dom0.yml"), "w") as handle:
        handle.write("---\n# Written by hack/bench.py from lab/inventory/group_vars/xen_dom0.yml.\n")
        yaml.safe_dump(group_vars, handle, default_flow_style=False, sort_keys=False)
    return folder


# -- the figures ------------------------------------------------------------------


class Figure:
    """One row of the table."""

    def __init__(self, number, title, target, unit="x", higher_is_better=False, info=False):
        self.number = number
        self.title = title
        self.target = target
        self.unit = unit
        self.higher_is_better = higher_is_better
        self.info = info
        self.measured = None
        self.floor = None
        self.value = None
        self.samples = ([], [])
        self.note = ""

    def set(self, measured, floor, value=None):
        """Medians of the two sides; the ratio unless ``value`` is given."""
        self.samples = (list(measured), list(floor))
        self.measured, self.floor = median(measured), median(floor)
        if value is not None:
            self.value = value
        elif self.measured is not None and self.floor:
            self.value = (self.floor / self.measured) if self.higher_is_better else (self.measured / self.floor)

    @property
    def met(self):
        """True, False, or None (not measured, or for information)."""
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def cells(self):
        """The row's cells as text."""
        def sec(value):
            return "-" if value is None else "%.2f s" % value
        if self.value is None:
            value = "-"
        elif self.unit == "s":
            value = "%.3f s/guest" % self.value
        else:
            value = "%.2fx" % self.value
        target = "-" if self.target is None else ("%s %s%s" % (">=" if self.higher_is_better else "<=", self.target,
                                                               " s/guest" if self.unit == "s" else "x"))
        met = {True: "yes", False: "NO", None: "info" if self.info else "n/a"}[self.met]
        if self.note:
            met = self.note if self.value is None else "%s (%s)" % (met, self.note)
        return ["%s %s" % (self.number, self.title), sec(self.measured), sec(self.floor), value, target, met]


def fake_paths(name):
    """What xen_image looks at to call fake guest ``name`` present."""
    base = "%s/domains/%s/" % (lab_group_vars().get("xen_guests_dir", "/data"), name)
    return ["/etc/xen/%s.cfg" % name, base + "disk.img", base + "swap.img"]


PLACEHOLDER = """# Placeholder from hack/bench.py; the xen_guests role rewrites it.
name = "%s"
"""


def make_fakes(lab):
    """Make the files the fake guests lack, over SSH (a module run per file costs seconds under TCG).

    disk.img: an empty ext4 filesystem of the entry's disk_size (mkfs.ext4
    makes the sparse file); swap.img: a sparse file with a swap signature;
    the config: a placeholder that the role's xen_guest_config rewrites in
    the warm-up run. Returns the names of the guests it completed.
    """
    paths = [p for name in FAKE_NAMES for p in fake_paths(name)]
    _rc, out, _err, _sec = lab.run(["ls", "-1", "-d", "--"] + paths, check=False)
    found = set(out.split())
    made = []
    for name in FAKE_NAMES:
        config, disk, swap = fake_paths(name)
        if all(p in found for p in (config, disk, swap)):
            continue
        log("making the files of fake guest %s" % name)
        lab.run(["mkdir", "-p", "--", os.path.dirname(disk)])
        if disk not in found:
            lab.run(["mkfs.ext4", "-q", "-F", disk, FAKE_ENTRY["disk_size"]])
        if swap not in found:
            lab.run(["truncate", "-s", FAKE_ENTRY["swap"], swap])
            lab.run(["mkswap", swap])
        if config not in found:
            lab.run(["tee", config], data=PLACEHOLDER % name)
        made.append(name)
    return made


def placeholder_configs(lab):
    """Fake guests' configs still placeholders (the warm-up run replaces them)."""
    configs = [fake_paths(name)[0] for name in FAKE_NAMES]
    _rc, out, _err, _sec = lab.run(["grep", "-l", "--", "Placeholder from hack/bench.py"] + configs, check=False)
    return out.split()


def bench_site(ansible, inv1, inv20, figures, details):
    """Figures 1 and 2: floor, site.yml with 1 and with 20 guests, interleaved."""
    floor_play = os.path.join(PLAYS, "floor.yml")
    site = os.path.join(REPO, "playbooks", "site.yml")
    # Warm-up (not timed): the role rewrites the extra guests' placeholder configs.
    details["warmup_changed"] = None
    if details.get("placeholders"):
        details["warmup_changed"] = ansible.play(site, inv20).changed
    floors, runs1, runs20 = [], [], []
    package_facts, dpkg_query, mitogen1 = [], [], []
    for i in range(REPEAT):
        log("figures 1-2, round %d/%d" % (i + 1, REPEAT))
        for runs, playbook, inventory in ((floors, floor_play, inv1), (runs1, site, inv1), (runs20, site, inv20)):
            wait_quiet(ansible.lab)
            runs.append(ansible.play(playbook, inventory, profile=True))
        wait_quiet(ansible.lab)
        mitogen1.append(ansible.play(site, inv1, mitogen=True))
        read = ansible.play(os.path.join(PLAYS, "package_read.yml"), inv1)
        package_facts.append(read.timed("Timed: ansible.builtin.package_facts"))
        dpkg_query.append(read.timed("Timed: the roles' dpkg-query read"))
    figure(figures, "1b").set(package_facts, dpkg_query)
    site1 = [r.wall for r in runs1]
    site20 = [r.wall for r in runs20]
    figure(figures, "1").set(site1, [r.wall for r in floors])
    figure(figures, "1m").set([r.wall for r in mitogen1], [r.wall for r in floors])
    if any(r.changed for r in mitogen1):
        figure(figures, "1m").note = "not idempotent"
    details["changed_mitogen1"] = [r.changed for r in mitogen1]
    figure(figures, "2").set(site20, site1, value=(median(site20) - median(site1)) / len(FAKE_NAMES))
    for fig, runs in ((figure(figures, "1"), runs1), (figure(figures, "2"), runs20)):
        if any(r.changed for r in runs):
            fig.note = "not idempotent"
    details["changed_site1"] = [r.changed for r in runs1]
    details["changed_site20"] = [r.changed for r in runs20]
    details["round_trips"] = {label: sorted(set(r.ssh_execs for r in runs))
                              for label, runs in (("floor", floors), ("site1", runs1), ("site20", runs20))}
    # profile_tasks' summary of the site.yml run whose wall time is the median.
    middle = sorted(runs1, key=lambda r: r.wall)[len(runs1) // 2]
    details["profile_site1"] = parse_profile_tasks(middle.profile)
    for label, runs in (("floor", floors), ("site1", runs1), ("site20", runs20)):
        for i, run in enumerate(runs):
            with open(os.path.join(CACHE, "%s-%d.profile" % (label, i + 1)), "w") as handle:
                handle.write(run.profile)
    details["growth"] = task_growth(runs1, runs20)
    details["site1_tasks"] = len(runs1[0].tasks)
    details["site20_tasks"] = len(runs20[0].tasks)


def parse_profile_tasks(text):
    """profile_tasks' closing summary: [(task, seconds)], slowest first."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"^(.+?) -{2,} (\d+\.\d+)s$", line.strip())
        if match:
            rows.append((match.group(1).strip(), float(match.group(2))))
    return rows


def task_growth(runs1, runs20):
    """Per task name: median total seconds with 1 and with 20 guests, largest growth first."""
    def totals(runs):
        per_name = {}
        for run in runs:
            sums = {}
            for name, seconds, _hosts in run.tasks:
                sums[name] = sums.get(name, 0.0) + seconds
            for name, seconds in sums.items():
                per_name.setdefault(name, []).append(seconds)
        return {name: median(values) for name, values in per_name.items()}
    one, twenty = totals(runs1), totals(runs20)
    rows = [(name, one.get(name, 0.0), twenty.get(name, 0.0)) for name in set(one) | set(twenty)]
    return sorted(rows, key=lambda r: r[2] - r[1], reverse=True)


def wait_gone(lab, name, timeout=120):
    """Wait until ``name`` has left the domain list (a destroyed domain may linger as dying)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, _out, _err, _sec = lab.run(["xl", "list", name], check=False)
        if rc != 0:
            return
        time.sleep(1)
    raise BenchError("domain %s is still listed %d s after being destroyed" % (name, timeout))


def bench_domain(lab, ansible, inv1, figures, details):
    """Figure 3: xen_domain start vs bare `xl create`, no-op vs bare `xl list NAME`."""
    name = REAL_GUEST["name"]
    config = "/etc/xen/%s.cfg" % name
    ansible.play(os.path.join(PLAYS, "guest.yml"), inv1, {"bench_guest": REAL_GUEST}, timeout=SLOW_TIMEOUT)
    rc, _out, _err, _sec = lab.run(["xl", "list", name], check=False)
    if rc == 0:
        lab.run(["xl", "destroy", name])
        wait_gone(lab, name)
    module_start, command_start, bare_start = [], [], []
    for i in range(REPEAT):
        log("figure 3 (start), round %d/%d" % (i + 1, REPEAT))
        wait_quiet(lab)
        run = ansible.play(os.path.join(PLAYS, "start.yml"), inv1, {"bench_guest_name": name})
        module_start.append(run.timed("Timed: xen_domain start"))
        command_start.append(run.timed("Timed: ansible.builtin.command xl create"))
        wait_gone(lab, name)
        _rc, _out, _err, seconds = lab.run(["xl", "create", config])
        bare_start.append(seconds)
        lab.run(["xl", "destroy", name])
        wait_gone(lab, name)
    figure(figures, "3b").set(module_start, bare_start)
    figure(figures, "3d").set(module_start, command_start)
    # The no-op needs the guest running (started here, not timed).
    lab.run(["xl", "create", config])
    noop, command, bare, noop_mitogen = [], [], [], []
    try:
        for i in range(REPEAT):
            log("figure 3 (no-op), round %d/%d" % (i + 1, REPEAT))
            wait_quiet(lab)
            run = ansible.play(os.path.join(PLAYS, "noop.yml"), inv1, {"bench_guest_name": name})
            noop.append(run.timed("Timed: xen_domain no-op"))
            command.append(run.timed("Timed: ansible.builtin.command xl list NAME"))
            run = ansible.play(os.path.join(PLAYS, "noop.yml"), inv1, {"bench_guest_name": name}, mitogen=True)
            noop_mitogen.append(run.timed("Timed: xen_domain no-op"))
            details["master_reused"] = lab.master_running()
            bare.append(lab.run(["xl", "list", name])[3])
    finally:
        lab.run(["xl", "destroy", name], check=False)
        wait_gone(lab, name)
    figure(figures, "3a").set(noop, bare)
    figure(figures, "3am").set(noop_mitogen, bare)
    figure(figures, "3c").set(noop, command)


def bench_sparse(ansible, inv1, figures, details):
    """Figure 4: xen_disk makes a 4 GiB and a 40 GiB sparse image, interleaved."""
    plain = {size: [] for size in SPARSE_SIZES}
    ext4 = {size: [] for size in SPARSE_SIZES}
    for i in range(REPEAT):
        log("figure 4, round %d/%d" % (i + 1, REPEAT))
        wait_quiet(ansible.lab)
        for size in SPARSE_SIZES:
            run = ansible.play(os.path.join(PLAYS, "sparse.yml"), inv1, {"bench_size": size, "bench_sparse_dir": SPARSE_DIR})
            plain[size].append(run.timed("Timed: xen_disk sparse image"))
            ext4[size].append(run.timed("Timed: xen_disk ext4 image grown"))
            details["sparse_du_%s" % size] = run.result("Report: MiB apparent / allocated").get("msg")
    figure(figures, "4").set(plain["40G"], plain["4G"])
    figure(figures, "4b").set(ext4["40G"], ext4["4G"])


def bench_provision(ansible, inv1, figures, details):
    """Figure 5: time to a running guest from a golden image (and the tarball) and by debootstrap from the mirror."""
    guest_play = os.path.join(PLAYS, "guest.yml")
    cleanup = os.path.join(PLAYS, "cleanup.yml")
    tar, golden, deboot = [], [], []
    for i in range(REPEAT):
        log("figure 5 (tarball), round %d/%d" % (i + 1, REPEAT))
        tar.append(ansible.play(guest_play, inv1, {"bench_guest": TAR_GUEST, "bench_wait_up": True}, timeout=SLOW_TIMEOUT).wall)
        if i == 0:
            ansible.play(os.path.join(PLAYS, "golden.yml"), inv1, {"bench_guest": TAR_GUEST, "bench_golden_image": GOLDEN_IMAGE})
        ansible.play(cleanup, inv1, {"bench_guests": [{"name": TAR_GUEST["name"]}], "bench_sparse_dir": SPARSE_DIR})
        log("figure 5 (golden image), round %d/%d" % (i + 1, REPEAT))
        golden.append(ansible.play(guest_play, inv1, {"bench_guest": GOLDEN_GUEST, "bench_wait_up": True}, timeout=SLOW_TIMEOUT).wall)
        ansible.play(cleanup, inv1, {"bench_guests": [{"name": GOLDEN_GUEST["name"]}], "bench_sparse_dir": SPARSE_DIR})
    for i in range(SLOW_REPEAT):
        log("figure 5 (debootstrap from %s), round %d/%d - slow" % (MIRROR, i + 1, SLOW_REPEAT))
        deboot.append(ansible.play(guest_play, inv1, {"bench_guest": DEBOOTSTRAP_GUEST, "bench_wait_up": True}, timeout=SLOW_TIMEOUT).wall)
        ansible.play(cleanup, inv1, {"bench_guests": [{"name": DEBOOTSTRAP_GUEST["name"]}], "bench_sparse_dir": SPARSE_DIR})
    figure(figures, "5").set(golden, deboot)
    figure(figures, "5b").set(tar, deboot)
    details["provision_samples"] = (golden, tar, deboot)


def figure(figures, number):
    """The row of ``figures`` numbered ``number``."""
    return next(f for f in figures if f.number == number)


def make_figures():
    """The table's rows, in order (indexes are used above)."""
    return [
        Figure("1", "site.yml re-run, 1 guest / floor (facts+ping)", 1.5),
        Figure("1m", "site.yml re-run, 1 guest, under Mitogen / floor (stock)", None, info=True),
        Figure("1b", "package read: ansible.builtin.package_facts / the roles' dpkg-query", None, info=True),
        Figure("2", "re-run cost per extra guest (20 vs 1 guest)", 0.05, unit="s"),
        Figure("3a", "xen_domain no-op / bare `xl list NAME` over ssh", 1.3),
        Figure("3am", "xen_domain no-op under Mitogen / bare `xl list NAME` over ssh", None, info=True),
        Figure("3b", "xen_domain start / bare `xl create` over ssh", 1.1),
        Figure("3c", "xen_domain no-op / ansible.builtin.command xl list", None, info=True),
        Figure("3d", "xen_domain start / ansible.builtin.command xl create", None, info=True),
        Figure("4", "sparse image 40 GiB / 4 GiB (xen_disk)", 1.1),
        Figure("4b", "ext4 image grown to 40 GiB / 4 GiB (xen_disk)", None, info=True),
        Figure("5", "running guest: debootstrap / golden image (x faster)", 10, higher_is_better=True),
        Figure("5b", "running guest: debootstrap / tarball (x faster)", None, higher_is_better=True, info=True),
    ]


# -- output -------------------------------------------------------------------------


HEADER = ["figure", "measured", "floor", "ratio", "target", "met?"]


def text_table(figures):
    """The table for the terminal."""
    rows = [HEADER] + [f.cells() for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(figures):
    """The last line: how many targets are met, which are missed."""
    judged = [f for f in figures if f.target is not None and f.value is not None]
    missed = [f.number for f in judged if not f.met]
    skipped = [f.number for f in figures if f.target is not None and f.value is None]
    line = "bench: %d of %d targets met" % (len(judged) - len(missed), len(judged))
    if missed:
        line += "; missed: %s" % ", ".join(missed)
    if skipped:
        line += "; not measured: %s" % ", ".join(skipped)
    return line + " (median of %d, %s)" % (REPEAT, os.path.relpath(OUT, REPO))


def machine(lab):
    """Commit, date and machine details for the results file."""
    def cmd(argv):
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False).stdout.strip()
    facts = {
        "commit": cmd(["git", "rev-parse", "--short", "HEAD"]),
        "dirty": bool(cmd(["git", "status", "--porcelain", "--untracked-files=no"])),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": cmd(["nproc"]),
    }
    with open("/proc/meminfo") as handle:
        facts["mem_gib"] = int(handle.readline().split()[1]) / 1024 / 1024
    with open("/proc/cpuinfo") as handle:
        models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    facts["cpu"] = models[0] if models else "unknown"
    facts["accel"] = "unknown"
    try:
        with open(os.path.join(LAB_STATE, "qemu.pid")) as handle:
            pid = handle.read().strip()
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            args = handle.read().split(b"\0")
        accel = args[args.index(b"-accel") + 1].decode()
        facts["accel"] = accel.split(",")[0].upper() + " (" + accel + ")"
        facts["qemu_mem"] = args[args.index(b"-m") + 1].decode()
        facts["qemu_cpus"] = args[args.index(b"-smp") + 1].decode()
    except (OSError, ValueError, IndexError):
        pass
    _rc, out, _err, _sec = lab.run(["xl", "info"])
    info = dict((k.strip(), v.strip()) for k, _s, v in (line.partition(":") for line in out.splitlines()))
    facts["xen"] = "%s.%s%s" % (info.get("xen_major"), info.get("xen_minor"), info.get("xen_extra"))
    facts["xen_mem"] = info.get("total_memory")
    _rc, out, _err, _sec = lab.run(["xl", "list", "Domain-0"])
    facts["dom0_mem"] = out.splitlines()[-1].split()[2] if out.strip() else "?"
    return facts


def markdown(figures, facts, details):
    """docs/benchmarks.md."""
    def row(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`hack/bench.py`, playbooks in `tests/bench/`) on the",
        "real-Xen lab; rerun it to refresh this file. Each ratio is two timings taken",
        "in the same run, each the median of %d samples, the two sides interleaved." % REPEAT,
        "Nothing asserts on these numbers; they are measured facts about one run.",
        "",
        "- commit: `%s`%s" % (facts["commit"], " (with uncommitted changes)" if facts["dirty"] else ""),
        "- date: %s" % facts["date"],
        "- machine: %s CPUs (%s), %.1f GiB RAM" % (facts["nproc"], facts["cpu"], facts["mem_gib"]),
        "- lab: QEMU accel %s, %s vCPUs, %s MiB; Xen %s (total_memory %s MiB), dom0 %s MiB" % (
            facts["accel"], facts.get("qemu_cpus", "?"), facts.get("qemu_mem", "?"), facts["xen"], facts["xen_mem"],
            facts["dom0_mem"]),
        "- Ansible: pipelining on, one SSH master per run reused across runs (ControlPersist),",
        "  ansible.posix.json callback for task durations",
        "",
        "## Results",
        "",
        row(HEADER),
        row(["---"] * len(HEADER)),
    ]
    out += [row(f.cells()) for f in figures]
    out += ["", summary(figures), "", "Samples (seconds, measured side then floor side):", ""]
    for f in figures:
        if f.samples[0]:
            out.append("- %s: %s / %s" % (f.number, ", ".join("%.2f" % s for s in f.samples[0]),
                                          ", ".join("%.2f" % s for s in f.samples[1])))
    rt = details.get("round_trips", {})
    out += [
        "",
        "## How each figure is measured",
        "",
        "1. Wall time of `ansible-playbook playbooks/site.yml` re-run on the converged lab with the",
        "   lab's own variables (`lab/inventory/group_vars/xen_dom0.yml`, one guest `kxlab1`), over",
        "   the wall time of `tests/bench/floor.yml` (same inventory, `become`, fact gathering and one",
        "   `ansible.builtin.ping`). Every timed re-run must report changed=0 (changed per run:",
        "   1 guest %s, 20 guests %s)." % (details.get("changed_site1"), details.get("changed_site20")),
        "   m (information): the same re-run under Mitogen's `mitogen_linear` strategy (one Python",
        "   interpreter kept on the dom0 for the whole run), over the same stock floor (changed per",
        "   run: %s)." % details.get("changed_mitogen1"),
        "   b (information): `tests/bench/package_read.yml`, run after each round: the duration",
        "   (ansible.posix.json) of an `ansible.builtin.package_facts` task (manager apt) over that of",
        "   the `dpkg-query` the dom0 roles run once per play (the xen_packages role) for the lab's",
        "   packages: what reading them as package facts would add to every run.",
        "2. The same re-run with 20 guests in `xen_guests_list`: `kxlab1` and 19 guests `kxb01`..`kxb19`",
        "   (memory 128M, disk 1G, state shutdown, autostart false) that were not built by",
        "   xen-create-image (4 minutes each under TCG) but made by `hack/bench.py` over SSH, one command",
        "   each: `/data/domains/NAME/disk.img` an empty ext4 filesystem of 1 GiB (`mkfs.ext4 -q -F",
        "   disk.img 1G`, a sparse file), `swap.img` (`truncate -s 128M`, `mkswap`), and a placeholder",
        "   `/etc/xen/NAME.cfg` (`name = \"NAME\"`)",
        "   that the role's own `xen_guest_config` rewrote in an untimed warm-up run (changed=%s;" % details.get("warmup_changed"),
        "   None: the configs were already rewritten by an earlier bench run's warm-up).",
        "   That is everything `xen_image` looks at to call a guest present (config and disks), and",
        "   `xen_disk` reads a real ext4 superblock in each. (median 20 - median 1) / 19.",
        "3. a: the duration (ansible.posix.json) of a `xen_domain` task (state running, autostart",
        "   false) on the running guest `kxb20`, over `ssh ... xl list kxb20` timed by the script through",
        "   the same ControlPersist master socket Ansible uses (master reused: %s)." % details.get("master_reused"),
        "   am (information): the same `xen_domain` task in the same play run under Mitogen's",
        "   `mitogen_linear` strategy, over the same bare `xl list`.",
        "   b: the `xen_domain` task that starts the stopped `kxb20` (built from the lab's tarball by the",
        "   `xen_guests` role, 128 MiB, pygrub), over `ssh ... xl create /etc/xen/kxb20.cfg`; the guest",
        "   is destroyed (not timed) between samples. c (information): the no-op over an",
        "   `ansible.builtin.command: xl list kxb20` task, Ansible's floor for one remote command.",
        "   d (information): the start over an `ansible.builtin.command: xl create` task in the same play",
        "   (after a destroy), Ansible's floor for starting a guest.",
        "4. The `xen_disk` task (resize_fs false: `os.truncate`, the seed's `dd count=0 seek=`) that",
        "   extends an empty file to 40 GiB, over the same for 4 GiB. b (information): `xen_disk` growing a",
        "   64 MiB ext4 image and its filesystem (`e2fsck -f`, `resize2fs`) to 40 GiB over 4 GiB.",
        "   MiB apparent/allocated after: 4G %s; 40G %s." % (details.get("sparse_du_4G"), details.get("sparse_du_40G")),
        "5. Wall time of `tests/bench/guest.yml` (the `xen_guests` role, one guest, state running, then",
        "   a wait until the guest sends its first packet on its vif: its init brought its network up)",
        "   building `kxb22` with debootstrap from %s, over making `kxb23` from a golden image" % MIRROR,
        "   (`install_method: image`: `%s`, the disk of `kxb21` kept after its sample and a clean" % GOLDEN_IMAGE,
        "   shutdown, not timed); b: over building `kxb21` from the lab's tarball",
        "   (`/srv/xenlab/guest-bookworm.tar`, xen-create-image). Each guest deleted after its sample.",
        "   Only with `BENCH_SLOW=1` (debootstrap samples: BENCH_SLOW_REPEAT=%d)." % SLOW_REPEAT,
        "",
        "## Where the time goes",
        "",
        "SSH round trips per run (ssh invocations, counted by an `ssh_executable` wrapper in the timed",
        "runs; pipelining on, so one per module run): floor %s, site.yml with"
        % rt.get("floor", "?"),
        "1 guest %s, with 20 guests %s. Tasks in the timed runs: %s (1 guest), %s (20 guests)." % (
            rt.get("site1", "?"), rt.get("site20", "?"), details.get("site1_tasks"), details.get("site20_tasks")),
        "",
        "Wall time of each phase and the dom0's load average (1/5/15 min) at its end - the lab is shared",
        "and its dom0 has one vCPU, so a load above 1 means other work queued with the bench's:",
        "",
    ]
    out += ["- figures %s: %.0f s, load %s" % entry for entry in details.get("load", [])]
    out += [
        "",
        "Slowest tasks of the site.yml re-run with 1 guest (profile_tasks, the run of median wall time):",
        "",
        "| task | seconds |",
        "| --- | --- |",
    ]
    out += [row([name, "%.2f" % sec]) for name, sec in details.get("profile_site1", [])[:15]]
    out += [
        "",
        "Tasks whose time grew most from 1 to 20 guests (medians of the timed runs):",
        "",
        "| task | 1 guest | 20 guests |",
        "| --- | --- | --- |",
    ]
    out += [row([name, "%.2f" % a, "%.2f" % b]) for name, a, b in details.get("growth", [])[:10]]
    out.append("")
    return "\n".join(out)


# -- main -----------------------------------------------------------------------------


def preflight(lab):
    """Refuse to start without a running, converged lab."""
    try:
        rc, out, err, _sec = lab.run(["xl", "list"], check=False, timeout=120)
    except subprocess.TimeoutExpired:
        raise BenchError("the lab dom0 does not answer over SSH: is the lab running? (`make lab`)")
    if rc != 0:
        raise BenchError("no running lab answers (`xl list` over SSH: rc=%d %s): start it with `make lab`" % (rc, err.strip()))
    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    guests = [g["name"] for g in lab_group_vars().get("xen_guests_list", [])]
    missing = [g for g in guests if g not in names]
    if missing:
        raise BenchError("the lab's guest(s) %s do not run: converge the lab first (`make lab`), so that "
                         "site.yml's re-run is a no-op" % ", ".join(missing))
    mine = [n for n in names if n.startswith("kxb")]
    if mine:
        log("bench guests left running by an earlier run: %s (the bench stops or removes them)" % ", ".join(mine))


def main():
    """Run every figure, print the table and write docs/benchmarks.md."""
    os.makedirs(os.path.join(CACHE, "cp"), mode=0o700, exist_ok=True)
    try:
        lab = Lab()
        preflight(lab)
    except BenchError as exc:
        print("bench: %s" % exc, file=sys.stderr)
        return 2
    ansible = Ansible(lab)
    figures = make_figures()
    details = {}
    base = lab_group_vars()
    entries = [dict(FAKE_ENTRY, name=name) for name in FAKE_NAMES]
    inv1 = write_inventory("inventory-1", base)
    inv20 = write_inventory("inventory-20", dict(base, xen_guests_list=list(base["xen_guests_list"]) + entries))
    cleanup = os.path.join(PLAYS, "cleanup.yml")
    status = 0
    facts = None
    try:
        facts = machine(lab)
        # Leftovers of an interrupted run. The fakes and kxb20 (4 minutes to
        # build) are reused: make_fakes() and the role complete them.
        ansible.play(cleanup, inv1, {"bench_guests": [{"name": n} for n in PROVISION_GUESTS], "bench_sparse_dir": SPARSE_DIR,
                                     "bench_golden_image": GOLDEN_IMAGE})
        details["fakes_made"] = make_fakes(lab)
        details["placeholders"] = placeholder_configs(lab)
        phases = [("1-2", bench_site, (ansible, inv1, inv20)), ("3", bench_domain, (lab, ansible, inv1)),
                  ("4", bench_sparse, (ansible, inv1))]
        if SLOW:
            phases.append(("5", bench_provision, (ansible, inv1)))
        else:
            figure(figures, "5").note = figure(figures, "5b").note = "skipped (BENCH_SLOW=1)"
        if ONLY:
            phases = [phase for phase in phases if set(phase[0].split("-")) & ONLY]
        details["load"] = []
        # A failed phase (the lab is shared: someone may stop a daemon under
        # us) marks its figures and the run as failed; the others still run.
        for label, phase, args in phases:
            start = time.monotonic()
            try:
                phase(*(args + (figures, details)))
            except (BenchError, subprocess.TimeoutExpired) as exc:
                print("bench: figures %s failed: %s" % (label, exc), file=sys.stderr)
                for fig in figures:
                    if re.match(r"\d+", fig.number).group() in label.split("-") and fig.value is None:
                        fig.note = "FAILED"
                status = 1
            details["load"].append((label, time.monotonic() - start, lab.loadavg()))
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print("bench: %s" % exc, file=sys.stderr)
        status = 1
    finally:
        if not KEEP:
            try:
                ansible.play(cleanup, inv1, {"bench_guests": [{"name": n} for n in ALL_GUESTS], "bench_sparse_dir": SPARSE_DIR,
                                             "bench_golden_image": GOLDEN_IMAGE})
            except (BenchError, subprocess.TimeoutExpired) as exc:
                print("bench: cleanup failed, remove the kxb* guests by hand: %s" % exc, file=sys.stderr)
                status = 1
    if facts is None:
        return status
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as handle:
        handle.write(markdown(figures, facts, details))
    print(text_table(figures))
    print(summary(figures))
    return status


if __name__ == "__main__":
    sys.exit(main())
