# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CommandRunner: argv only, C locale, and the record of what ran that modules return as commands_run."""

from __future__ import annotations

import pytest

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import (
    CommandError,
    CommandRunner,
    commands_run,
    mask_url_passwords,
)


class Module:
    """The two AnsibleModule methods a runner uses; ``fail`` names commands that exit 1."""

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.calls = []

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name

    def run_command(self, argv, data=None, environ_update=None, check_rc=False):
        self.calls.append((list(argv), dict(environ_update)))
        return (1, "", "boom") if argv[1:2] and argv[1] in self.fail else (0, "out", "")


def test_runs_argv_with_the_path_resolved_and_a_c_locale():
    module = Module()
    assert CommandRunner(module).run(["xl", "list"]) == (0, "out", "")
    argv, environ = module.calls[0]
    assert argv == ["/usr/sbin/xl", "list"] and environ["LC_ALL"] == "C"


def test_records_every_command_in_order_across_the_runners_of_one_module():
    module = Module()
    first, second = CommandRunner(module), CommandRunner(module)
    first.run(["xl", "list"])
    second.run(["losetup", "-j", "/data/disk.img"])
    first.run(["xl", "create", "/etc/xen/web1.cfg"])
    assert commands_run(module) == [
        ["/usr/sbin/xl", "list"],
        ["/usr/sbin/losetup", "-j", "/data/disk.img"],
        ["/usr/sbin/xl", "create", "/etc/xen/web1.cfg"],
    ]


def test_a_poll_is_listed_once_and_a_later_repeat_again():
    module = Module()
    runner = CommandRunner(module)
    for argv in (["xl", "list"], ["xl", "list"], ["xl", "list"], ["xl", "uptime", "web1"], ["xl", "list"]):
        runner.run(argv)
    assert commands_run(module) == [["/usr/sbin/xl", "list"], ["/usr/sbin/xl", "uptime", "web1"], ["/usr/sbin/xl", "list"]]
    assert len(module.calls) == 5


def test_a_failed_command_is_recorded_before_it_raises():
    module = Module(fail=["create"])
    with pytest.raises(CommandError, match="failed with rc=1: boom"):
        CommandRunner(module).run(["xl", "create", "/etc/xen/web1.cfg"])
    assert commands_run(module) == [["/usr/sbin/xl", "create", "/etc/xen/web1.cfg"]]


def test_modules_do_not_share_a_record():
    # Module-level state would leak from task to task in a persistent interpreter (Mitogen).
    one, other = Module(), Module()
    CommandRunner(one).run(["xl", "list"])
    assert commands_run(other) == [] and len(commands_run(one)) == 1


def test_url_passwords_are_masked_in_the_record_but_not_in_what_runs():
    module = Module()
    CommandRunner(module).run(["xen-create-image", "--mirror=http://deb:s3cr3t@mirror.example.org/debian"])
    assert module.calls[0][0][1] == "--mirror=http://deb:s3cr3t@mirror.example.org/debian"
    assert commands_run(module) == [["/usr/sbin/xen-create-image", "--mirror=http://deb:********@mirror.example.org/debian"]]


def test_a_failed_commands_message_masks_the_url_password_of_argv_and_stderr():
    error = CommandError(["debootstrap", "bookworm", "/mnt", "http://deb:s3cr3t@mirror.example.org/debian"], 1, "",
                         "E: Failed getting release file http://deb:s3cr3t@mirror.example.org/debian/dists/bookworm/Release")
    assert "s3cr3t" not in str(error) and str(error).count("deb:********@mirror.example.org") == 2
    assert error.argv[-1] == "http://deb:s3cr3t@mirror.example.org/debian"  # what really ran, for the caller


@pytest.mark.parametrize("text, masked", [
    ("http://user:pass@host/debian", "http://user:********@host/debian"),
    ("https://u:p@ss:w@rd@host/x@y", "https://u:********@host/x@y"),  # up to the host's @, not into the path
    ("ftp://:secret@host", "ftp://:********@host"),
    ("http://user@host/debian", "http://user@host/debian"),  # no password
    ("http://host/a:b@c", "http://host/a:b@c"),  # a colon and an @ in the path only
    ("/data/domains/web1/disk.img", "/data/domains/web1/disk.img"),
])
def test_mask_url_passwords(text, masked):
    assert mask_url_passwords(text) == masked
