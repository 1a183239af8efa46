# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_domain`` module: guest power state and autostart.

Private to the kuutorvaja.xen collection: no API promise to other code.

Read the domain list once, decide, act only on the difference (never in
check mode), and report before/after from the same objects.
"""

from __future__ import annotations

import os

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    AUTOSTART_DIR,
    GuestError,
    autostart_link_for,
    config_path_for,
    name_error,
    validate_abs_path,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import (
    TOOLSTACK_ARGUMENT_SPEC,
    ToolstackError,
    get_toolstack,
    vif_device,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_cfg import (
    XenCfgError,
    config_differences,
    normalise_guest_config,
    parse_xen_cfg,
)

STATE_CHOICES = ("running", "shutdown", "destroyed", "paused", "rebooted")
NEEDS_CONFIG = ("running", "paused", "rebooted")

XEN_DOMAIN_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    config=dict(type="path"),
    state=dict(type="str", choices=list(STATE_CHOICES)),
    autostart=dict(type="bool"),
    shutdown_timeout=dict(type="int", default=300),
    wait_for=dict(type="str", choices=["network"]),
    wait_timeout=dict(type="int", default=300),
    force=dict(type="bool", default=False),
    **TOOLSTACK_ARGUMENT_SPEC
)
"""Argument spec of xen_domain (the module documents each option)."""

XEN_DOMAIN_REQUIRED_ONE_OF = [("state", "autostart")]

# States a leftover domain row can be in while it goes away on its own.
_LEAVING = ("shutdown", "dying")


def power_state(domain):
    """The domain's state in xen_domain's vocabulary: running, paused, shutdown, crashed, dying or unknown.

    A domain that does not exist, or whose row shows it shut down, is ``shutdown``;
    ``blocked`` (idle) counts as ``running``.
    """
    if domain is None:
        return "shutdown"
    if domain.state == "blocked":
        return "running"
    return domain.state


class XenDomainError(Exception):
    """A state cannot be reached without an explicit word from the user; the message says which."""


class XenDomain:
    """Drives one guest to the requested ``state`` and ``autostart`` for an AnsibleModule.

    ``toolstack`` may be passed in (tests); otherwise :func:`get_toolstack`
    picks it from the ``toolstack`` option.
    """

    poll_interval = 1.0

    def __init__(self, module, toolstack=None, autostart_dir=None, params=None):
        self.module = module
        # ``params``: xen_domain's options with defaults filled in, when the
        # caller is another module (xen_guest); else this module's own.
        self.params = params if params is not None else module.params
        self.name = self.params["name"]
        self.config = self.params["config"] or config_path_for(self.name)
        self.check_mode = module.check_mode
        self.autostart_dir = autostart_dir or AUTOSTART_DIR
        self.tool = toolstack
        self.commands = []
        self.warnings = []

    # -- validation ---------------------------------------------------------

    def validate(self):
        """Raise :class:`XenDomainError` before anything runs when the options cannot work; the message names the option."""
        params = self.params
        error = name_error(self.name)
        if error:
            raise XenDomainError(error)
        if params["shutdown_timeout"] <= 0:
            raise XenDomainError("shutdown_timeout must be a positive number of seconds, got %d" % params["shutdown_timeout"])
        if params.get("wait_for"):
            if params["state"] not in ("running", "rebooted"):
                raise XenDomainError("wait_for=%s needs state=running or state=rebooted (a guest that runs)" % params["wait_for"])
            if params["wait_timeout"] <= 0:
                raise XenDomainError("wait_timeout must be a positive number of seconds, got %d" % params["wait_timeout"])
        try:
            # The autostart link points here: it must not climb out of the config directory.
            validate_abs_path(self.config, "config")
        except GuestError as exc:
            raise XenDomainError(str(exc))
        needs_config = params["state"] in NEEDS_CONFIG or params["autostart"]
        if needs_config and not os.path.isfile(self.config):
            what = "state=%s" % params["state"] if params["state"] in NEEDS_CONFIG else "autostart=true"
            msg = "config %s does not exist, and %s needs it: create the guest config first or set config" % (self.config, what)
            if not self.check_mode:
                raise XenDomainError(msg)
            # In check mode an earlier task may only have predicted writing it.
            self.warnings.append(msg + " (check mode: predicting as if it existed)")

    # -- entry point ----------------------------------------------------------

    def run(self):
        """Validate, apply, and exit the module with the result (or fail it with the reason), holding the guest's lock."""
        error = name_error(self.name)
        if error:
            self.module.fail_json(msg=error)
        try:
            # Check mode shares the lock: its prediction reads no half-done change (locks' docstring).
            with locked(guest=self.name, shared=self.check_mode):
                self._run()
        except GuestError as exc:
            self.module.fail_json(msg=str(exc))

    def _run(self):
        """The module's run under the guest's lock: validate, apply, exit or fail."""
        try:
            self.validate()
        except XenDomainError as exc:
            self.module.fail_json(msg=str(exc))
        if self.tool is None:
            self.tool = get_toolstack(self.module, preference=self.params["toolstack"])
        try:
            result = self.apply()
        except (CommandError, ToolstackError, XenCfgError, XenDomainError, OSError) as exc:
            self.module.fail_json(msg=str(exc), commands=self.commands, commands_run=commands_run(self.module))
        else:
            for warning in self.warnings:
                self.module.warn(warning)
            self.module.exit_json(commands_run=commands_run(self.module), **result)

    def apply(self):
        """Reach the requested state and autostart; return the module result dict."""
        domains = self.tool.list_domains()
        current = domains.get(self.name)
        autostart_before = self._autostart_now()
        before = {"state": power_state(current), "autostart": autostart_before}

        changed = False
        restarted = False
        predicted = before["state"]
        wanted = self.params["state"]
        if wanted:
            # A domain xend only knows about (an ``xm list`` row without ID) is not running: nothing to wait for.
            active = current if current is None or current.domid is not None else None
            changed, predicted, restarted = getattr(self, "_ensure_" + wanted)(active)
        autostart_changed = False
        if self.params["autostart"] is not None:
            autostart_changed = self._ensure_autostart(self.params["autostart"])

        final = current
        if not self.check_mode and changed:
            final = self.tool.list_domains().get(self.name)
            predicted = power_state(final)
        ready_seconds = None
        if self.params.get("wait_for") and not self.check_mode:
            ready_seconds = self._wait_ready(final)
        after = {
            "state": predicted,
            "autostart": self.params["autostart"] if self.params["autostart"] is not None else autostart_before,
        }
        result = {
            "changed": changed or autostart_changed,
            "name": self.name,
            "config": self.config,
            "toolstack": self.tool.name,
            "state": after["state"],
            "autostart": after["autostart"],
            "commands": self.commands,
            "domain": None,
            "restart_required": False,
            "restart_reasons": [],
            "ready_seconds": ready_seconds,
        }
        if final is not None:
            facts = final.to_dict()
            facts["uptime_seconds"] = self.tool.uptime(self.name) if final.alive else None
            result["domain"] = facts
        if final is not None and final.alive and not restarted and after["state"] in ("running", "paused"):
            result["restart_required"], result["restart_reasons"] = self._restart_required()
        if self.module._diff:
            result["diff"] = {"before": before, "after": after}
        return result

    # -- actions ----------------------------------------------------------------

    def _do(self, method, *args, **kwargs):
        """Record the command and run it unless in check mode; returns the method's result (None in check mode)."""
        argv = [self.tool.name, method] + (["-p"] if kwargs.get("paused") else []) + list(args)
        self.commands.append(argv)
        if self.check_mode:
            return None
        return getattr(self.tool, method)(*args, **kwargs)

    def _create(self, paused=False):
        self._do("create", self.config, paused=paused)

    def _wait_gone(self, current):
        """Wait for a leftover (shut down or dying) row to disappear; destroy it after the timeout with force."""
        if self.check_mode:
            return
        gone, dummy = self.tool.wait_for(
            self.name, lambda d: d is None, self.params["shutdown_timeout"], self.poll_interval
        )
        if gone:
            return
        if not self.params["force"]:
            raise XenDomainError(
                "domain %s is still shutting down after %d seconds (shutdown_timeout); set force: true to destroy it"
                % (self.name, self.params["shutdown_timeout"])
            )
        self._do("destroy", self.name)

    def _clear_crashed(self, current):
        """A crashed domain must be destroyed before it can start again; only with force."""
        if not self.params["force"]:
            raise XenDomainError(
                "domain %s has crashed and is preserved (domid %s); set force: true to destroy it, "
                "or inspect it first (xl dmesg, /var/log/xen)" % (self.name, current.domid)
            )
        self._do("destroy", self.name)

    def _start_from(self, current, paused=False):
        """Start the guest when it is not alive: clear leftovers first. Returns the predicted state."""
        if current is not None and current.state in _LEAVING:
            self._wait_gone(current)
        elif current is not None and current.state == "crashed":
            self._clear_crashed(current)
        elif current is not None:
            raise XenDomainError("domain %s is in an unknown state (flags %r); not touching it" % (self.name, current.flags))
        self._create(paused=paused)
        return "paused" if paused else "running"

    def _ensure_running(self, current):
        if current is not None and current.alive:
            if current.state == "paused":
                self._do("unpause", self.name)
                return True, "running", False
            return False, "running", False
        return True, self._start_from(current), True

    def _ensure_paused(self, current):
        if current is not None and current.alive:
            if current.state == "paused":
                return False, "paused", False
            self._do("pause", self.name)
            return True, "paused", False
        return True, self._start_from(current, paused=True), True

    def _ensure_shutdown(self, current):
        if current is None:
            return False, "shutdown", False
        if current.state in _LEAVING:
            self._wait_gone(current)
            return False, "shutdown", False
        if current.state == "crashed":
            self._clear_crashed(current)
            return True, "shutdown", False
        if current.state == "paused":
            # A paused guest cannot act on the request.
            self._do("unpause", self.name)
        timeout = self.params["shutdown_timeout"]
        self.commands.append([self.tool.name, "shutdown", self.name])
        if self.check_mode:
            return True, "shutdown", False
        gone = self.tool.shutdown(self.name, wait=True, timeout=timeout, interval=self.poll_interval)
        if not gone:
            if not self.params["force"]:
                raise XenDomainError(
                    "domain %s did not shut down within %d seconds (shutdown_timeout); raise shutdown_timeout, "
                    "check that the guest handles shutdown requests, or set force: true to destroy it after the timeout"
                    % (self.name, timeout)
                )
            self._do("destroy", self.name)
        return True, "shutdown", False

    def _ensure_destroyed(self, current):
        if current is None:
            return False, "shutdown", False
        self._do("destroy", self.name)
        return True, "shutdown", False

    def _ensure_rebooted(self, current):
        if current is None or not current.alive:
            return True, self._start_from(current), True
        if current.state == "paused":
            self._do("unpause", self.name)
        self._do("reboot", self.name)
        if self.check_mode:
            return True, "running", True
        old_domid = current.domid
        # The new domain is built paused (flags --p---, no memory yet) and
        # unpaused once its devices are up; a guest first started paused
        # (xl create -p) is re-created paused and stays so: unpause it then.
        back, domain = self.tool.wait_for(
            self.name,
            lambda d: (
                d is not None and d.alive and d.domid != old_domid
                and (d.state != "paused" or self.tool.restart_settled(self.name, d.domid))
            ),
            self.params["shutdown_timeout"],
            self.poll_interval,
        )
        if back and domain.state == "paused":
            self._do("unpause", self.name)
        if not back:
            if not self.params["force"]:
                raise XenDomainError(
                    "domain %s did not come back with a new domid within %d seconds (shutdown_timeout); "
                    "check on_reboot = 'restart' in its config, or set force: true to destroy and start it"
                    % (self.name, self.params["shutdown_timeout"])
                )
            self._do("destroy", self.name)
            self._create()
        return True, "running", True

    def _wait_ready(self, domain):
        """Wait for the running guest to be ready (``wait_for``); the seconds waited, or XenDomainError."""
        if domain is None or not domain.alive:
            raise XenDomainError("domain %s is not running, so it cannot become ready (state %s)"
                                 % (self.name, power_state(domain)))
        timeout = self.params["wait_timeout"]
        outcome, seconds = self.tool.wait_network(self.name, domain.domid, timeout, self.poll_interval)
        if outcome == "ready":
            return round(seconds, 1)
        vif = vif_device(domain.domid)
        if outcome == "no-vif":
            raise XenDomainError("domain %s (domid %s) has no vif (no %s in the dom0): wait_for=network "
                                 "needs a guest with a network interface" % (self.name, domain.domid, vif))
        if outcome == "gone":
            raise XenDomainError("domain %s (domid %s) stopped, crashed or was replaced before it sent its first "
                                 "packet; see xl dmesg and /var/log/xen" % (self.name, domain.domid))
        raise XenDomainError("domain %s (domid %s) runs but sent no packet on %s within %d seconds (wait_timeout): "
                             "its network did not come up; it is left running (its console: xl console %s)"
                             % (self.name, domain.domid, vif, timeout, self.name))

    # -- autostart ----------------------------------------------------------------

    @property
    def autostart_link(self):
        """``/etc/xen/auto/NAME.cfg``."""
        return autostart_link_for(self.name, self.autostart_dir)

    def _autostart_now(self):
        return os.path.lexists(self.autostart_link)

    def _ensure_autostart(self, enabled):
        """Make the autostart symlink exist (pointing at ``config``) or not; returns whether it changed."""
        link = self.autostart_link
        is_link = os.path.islink(link)
        exists = os.path.lexists(link)
        if exists and not is_link and not self.params["force"]:
            raise XenDomainError(
                "%s is a regular file, not a symlink to the config; set force: true to replace it%s"
                % (link, " with a symlink" if enabled else " (remove it)")
            )
        if enabled:
            if is_link and os.readlink(link) == self.config:
                return False
            if not self.check_mode:
                if not os.path.isdir(self.autostart_dir):
                    os.makedirs(self.autostart_dir, 0o755)
                tmp = "%s.tmp-%d" % (link, os.getpid())
                os.symlink(self.config, tmp)
                os.rename(tmp, link)
            return True
        if not exists:
            return False
        if not self.check_mode:
            os.unlink(link)
        return True

    # -- restart_required ---------------------------------------------------------

    def _restart_required(self):
        """Compare the running guest with its config file; returns ``(bool_or_None, reasons)``."""
        if not os.path.isfile(self.config):
            return None, []
        try:
            with open(self.config) as handle:
                wanted = normalise_guest_config(parse_xen_cfg(handle.read()))
        except (XenCfgError, IOError, OSError) as exc:
            self.warnings.append("cannot compare the running guest with %s: %s" % (self.config, exc))
            return None, []
        running = self.tool.domain_details(self.name).get(self.name)
        if running is None:
            return None, []
        reasons = config_differences(wanted, running)
        return bool(reasons), reasons
