# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where kuutorvaja.xen modules run external commands.

Every call is an argv list passed to ``module.run_command`` (never a shell),
with a C locale so the output we parse does not depend on the host's language.

Private to the kuutorvaja.xen collection: no API promise to other code.
"""

from __future__ import annotations

import re
import shlex

# Parsed output must not be translated.
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}

# The password of a URL (``scheme://user:password@host``).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/\s]*@")

# Where a module's runners record what ran: on the module object, not in
# module-level state, which a persistent interpreter (Mitogen) would carry
# from one task to the next.
_RAN_ATTR = "_kuutorvaja_xen_commands_run"


class CommandError(Exception):
    """A command failed; the message quotes the command, its rc and stderr, URL passwords masked.

    The message reaches results and logs; ``argv`` keeps what really ran.
    """

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        detail = mask_url_passwords((stderr or stdout or "").strip())
        super().__init__(
            "command '%s' failed with rc=%s: %s" % (quote_argv(masked_argv(argv)), rc, detail or "(no output)")
        )


def mask_url_passwords(text):
    """``text`` with the password of every ``scheme://user:password@`` replaced by ``********``."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "********@", text)


def masked_argv(argv):
    """``argv`` as text for a result or a log, with every URL password masked."""
    return [mask_url_passwords(str(arg)) for arg in argv]


def commands_run(module):
    """Every command the module's runners ran, in order, as argv lists (URL passwords masked).

    A command run several times in a row (a poll) is listed once. Modules
    return it as ``commands_run``, on success and on failure.
    """
    return getattr(module, _RAN_ATTR, [])


def quote_argv(argv):
    """Render an argv list for a message, quoted the way a shell user reads it."""
    return " ".join(shlex.quote(str(a)) for a in argv)


class CommandRunner:
    """Runs argv lists for a module, resolving executables once."""

    def __init__(self, module):
        self.module = module
        self._paths = {}
        if not hasattr(module, _RAN_ATTR):
            setattr(module, _RAN_ATTR, [])
        self._ran = getattr(module, _RAN_ATTR)

    def which(self, name, required=True):
        """Return the absolute path of ``name`` or fail (or None) when it is missing."""
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name, required=False)
        path = self._paths[name]
        if path is None and required:
            self.module.fail_json(msg="required command '%s' was not found on the host (is it installed and on PATH?)" % name)
        return path

    def run(self, argv, check_rc=True, data=None, env=None):
        """Run ``argv`` and return ``(rc, stdout, stderr)``.

        With ``check_rc`` a non-zero exit raises :class:`CommandError`.
        ``argv[0]`` may be a bare command name; it is resolved on PATH.
        """
        argv = [str(a) for a in argv]
        if not argv[0].startswith("/"):
            argv[0] = self.which(argv[0])
        environ = dict(C_LOCALE)
        if env:
            environ.update(env)
        reported = masked_argv(argv)
        if not self._ran or self._ran[-1] != reported:
            self._ran.append(reported)
        rc, out, err = self.module.run_command(argv, data=data, environ_update=environ, check_rc=False)
        if check_rc and rc != 0:
            raise CommandError(argv, rc, out, err)
        return rc, out, err
