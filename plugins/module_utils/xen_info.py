# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend of the ``kuutorvaja.xen.xen_info`` module: read-only hypervisor and domain facts.

Private to the kuutorvaja.xen collection: no API promise to other code.
"""

from __future__ import annotations

from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import (
    TOOLSTACK_ARGUMENT_SPEC,
    ToolstackError,
    get_toolstack,
    hypervisor_facts,
)

XEN_INFO_ARGUMENT_SPEC = dict(
    xen_dmesg=dict(type="bool", default=False),
    domain_details=dict(type="bool", default=False),
    only_on_dom0=dict(type="bool", default=False),
    **TOOLSTACK_ARGUMENT_SPEC
)
"""Argument spec of xen_info (the module documents each option)."""

CAPABILITIES = "/proc/xen/capabilities"
MEMINFO = "/proc/meminfo"


def is_running_dom0(path):
    """Whether this host runs as Xen's dom0: Xen lists ``control_d`` in ``path`` (/proc/xen/capabilities).

    No such file: not running on Xen. Any other error is raised, since "not a
    dom0" leads the xen_hypervisor role to reboot the host.
    """
    try:
        with open(path) as handle:
            return "control_d" in handle.read()
    except FileNotFoundError:
        return False


def mem_total_mib(path):
    """MemTotal of the running kernel in ``path`` (/proc/meminfo), in MiB; None when unreadable.

    On a dom0 this is only dom0's share; elsewhere it is the host's memory, so
    a role learns it without gathering Ansible's hardware facts.
    """
    try:
        with open(path) as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                if key == "MemTotal" and value.split() and value.split()[0].isdigit():
                    return int(value.split()[0]) // 1024
    except OSError:
        pass
    return None


def gather(tool, dmesg=False, details=False):
    """Collect the facts with ``tool`` (a Toolstack): ``info``, ``list``, optionally ``list -l`` and ``dmesg``.

    Returns the module result without ``changed``.
    """
    raw = tool.info()
    domains = [d.to_dict() for d in tool.list_domains().values()]
    if details:
        configured = tool.domain_details()
        for domain in domains:
            domain["details"] = configured.get(domain["name"])
    result = {
        "dom0": True,
        "hypervisor": hypervisor_facts(raw, tool.name),
        "info": raw,
        "domains": domains,
    }
    if dmesg:
        result["dmesg"] = tool.dmesg()
    return result


def run_module(module, toolstack=None):
    """Gather and exit the module; CLI failures become ``fail_json`` messages quoting the command."""
    if module.params["only_on_dom0"]:
        try:
            dom0 = is_running_dom0(CAPABILITIES)
        except OSError as exc:
            module.fail_json(msg="cannot read %s to tell whether this host is a running dom0: %s" % (CAPABILITIES, exc))
        if not dom0:
            # The toolstack is not asked: it may not be installed yet.
            module.exit_json(changed=False, dom0=False, mem_total_mib=mem_total_mib(MEMINFO))
    tool = toolstack or get_toolstack(module, preference=module.params["toolstack"])
    try:
        result = gather(tool, dmesg=module.params["xen_dmesg"], details=module.params["domain_details"])
    except (CommandError, ToolstackError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    else:
        module.exit_json(changed=False, mem_total_mib=mem_total_mib(MEMINFO), commands_run=commands_run(module), **result)
