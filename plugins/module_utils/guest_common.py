# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and small shared helpers for the guest modules.

Guest names, MAC addresses and sizes are checked here, before any command
runs, so every guest module refuses bad input with the same clear message.
"""

from __future__ import annotations

import hashlib
import os
import re

# Xen's own OUI; xen-tools and xl use it for generated MACs.
XEN_OUI = "00:16:3e"

# RFC 1123 host names (dots allowed for FQDNs, as the seed's
# xen.loomaaed.tartu.ee). No shell metacharacters, no path separators.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_NAME_RE = re.compile(r"^%s(\.%s)*$" % (_LABEL, _LABEL))
_MAC_RE = re.compile(r"^([0-9A-Fa-f]{2})([:-][0-9A-Fa-f]{2}){5}$")
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


class GuestError(Exception):
    """A refusal or failure with a message meant for the user."""


def validate_guest_name(name, option="name"):
    """Return ``name`` if it is a safe host name, else raise :class:`GuestError`."""
    if not isinstance(name, str) or not name or len(name) > 253 or not _NAME_RE.match(name):
        raise GuestError(
            "%s=%r is not a valid guest name: use letters, digits, '-' and '.' only "
            "(an RFC 1123 host name, at most 253 characters)" % (option, name)
        )
    return name


def validate_abs_path(path, option):
    """Return ``path`` if it is absolute and has no ``..`` component (so it cannot leave its directory)."""
    if not isinstance(path, str) or not os.path.isabs(path) or ".." in path.split("/"):
        raise GuestError("%s=%r must be an absolute path without '..' components" % (option, path))
    return path


def normalize_mac(mac, option="mac"):
    """Return ``mac`` lower-case and colon separated; refuse multicast or zero MACs."""
    if not isinstance(mac, str) or not _MAC_RE.match(mac.strip()):
        raise GuestError("%s=%r is not a MAC address (expected six hex pairs like 00:16:3e:2c:7e:ef)" % (option, mac))
    mac = mac.strip().lower().replace("-", ":")
    first = int(mac[:2], 16)
    if first & 1:
        raise GuestError("%s=%s is a multicast address; a guest NIC needs a unicast MAC (even first octet)" % (option, mac))
    if mac == "00:00:00:00:00:00":
        raise GuestError("%s=%s is the all-zero address; give a real unicast MAC" % (option, mac))
    return mac


def derive_mac(name):
    """A stable MAC for a guest: Xen's OUI plus three bytes of SHA-256 of its name.

    The same name always gives the same MAC, so re-runs never regenerate it.
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    # The OUI's first octet (00) already makes the address unicast.
    return "%s:%s:%s:%s" % (XEN_OUI, digest[0:2], digest[2:4], digest[4:6])


def parse_size(value, option="size", default_unit="M"):
    """Parse ``2G``, ``2Gb``, ``512M``, ``1024`` (MiB) or an int into bytes.

    Suffixes are binary (K=1024), as xen-tools and dd read them. A bare
    number means ``default_unit``.
    """
    if isinstance(value, bool):
        raise GuestError("%s=%r is not a size" % (option, value))
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise GuestError("%s=%r is not a size (use e.g. 2G, 512M)" % (option, value))
    match = _SIZE_RE.match(value)
    if not match:
        raise GuestError("%s=%r is not a size (use a number with an optional K, M, G or T suffix, e.g. 2G or 512M)" % (option, value))
    number, unit = match.group(1), match.group(2).upper()
    if not unit:
        unit = default_unit
    size = int(float(number) * _UNITS[unit])
    if size <= 0:
        raise GuestError("%s=%r must be larger than zero" % (option, value))
    return size


def size_mib(value, option="size"):
    """Parse a size and return whole MiB (refusing sizes that are not whole MiB)."""
    size = parse_size(value, option=option)
    if size % (1024 * 1024):
        raise GuestError("%s=%r is not a whole number of MiB" % (option, value))
    return size // (1024 * 1024)


def running_guests(module, runner=None, toolstack="auto"):
    """Return the set of domain names the toolstack knows (one ``xl list``).

    A domain that exists in any state (running, paused, shutting down) counts:
    its disks are in use and must not be touched.
    """
    # Imported here so that unit tests of the pure helpers need no toolstack.
    from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import get_toolstack

    stack = get_toolstack(module, runner=runner, preference=toolstack)
    # A domain with an id holds its disks open, whatever its state; a domain
    # xend merely knows about (``xm list`` row without id) does not.
    return {name for name, dom in stack.list_domains().items() if dom.domid is not None}


def refuse_if_running(name, domains, action):
    """Raise :class:`GuestError` when guest ``name`` is among ``domains``."""
    if name in domains:
        raise GuestError(
            "guest %s is running (it is in the toolstack's domain list); refusing to %s while it runs. "
            "Shut it down first (kuutorvaja.xen.xen_domain state=shutdown)" % (name, action)
        )


GUESTS_CONSTRAINTS = dict(mutually_exclusive=[("name", "guests")], required_one_of=[("name", "guests")])
"""One guest by ``name``, or a ``guests`` list, never both."""


def guests_argument_spec(item_spec):
    """The argument spec of a module that takes one guest's options, or a ``guests`` list of them.

    ``item_spec`` is the spec of one guest. At the top level none of its
    options is required, since they may come in ``guests`` instead;
    :func:`guest_items` applies ``item_spec`` in full to every guest.
    """
    from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC

    spec = {option: {k: v for k, v in entry.items() if k != "required"} for option, entry in item_spec.items()}
    spec["guests"] = dict(type="list", elements="dict")
    spec.update(TOOLSTACK_ARGUMENT_SPEC)
    return spec


def prepare_guests(module, runner, item_spec, prepare, **constraints):
    """Validate every guest, then read the toolstack's domain list once; fail the module on any refusal.

    ``prepare(items)`` checks further and returns what the module needs per
    guest. Nothing is acted on before all of this has passed. Returns
    ``(items, prepare(items), domains)``; see :func:`guest_items` and
    :func:`running_guests`.
    """
    from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError

    try:
        items = guest_items(module, item_spec, **constraints)
        prepared = prepare(items)
        domains = running_guests(module, runner, module.params["toolstack"])
    except (GuestError, CommandError) as exc:
        module.fail_json(msg=str(exc))
    return items, prepared, domains


def guest_items(module, item_spec, **constraints):
    """Validated parameter dicts, one per guest: the ``guests`` list, or the module's own options.

    Modules that take a list let a role handle many guests in one run, with
    one toolstack read. Each item is validated against ``item_spec`` (with
    defaults filled in and ``constraints`` such as ``required_if`` applied)
    before anything is done, so one bad entry changes nothing.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    validator = ArgumentSpecValidator(item_spec, **constraints)
    listed = module.params.get("guests")
    if listed is None:
        sources = [("", {k: v for k, v in module.params.items() if k in item_spec and v is not None})]
    else:
        sources = [("guests[%d]: " % i, item) for i, item in enumerate(listed)]
    items = []
    for label, source in sources:
        if not isinstance(source, dict):
            raise GuestError("%sexpected a dict of options, got %s" % (label, type(source).__name__))
        result = validator.validate(source)
        module.no_log_values.update(result._no_log_values)  # pylint: disable=protected-access
        if result.error_messages:
            raise GuestError(label + "; ".join(result.error_messages))
        items.append(result.validated_parameters)
    names = [item.get("name") for item in items]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise GuestError("guests: each name may appear once; repeated: %s" % ", ".join(duplicates))
    return items


def batch_result(results):
    """The module result for a list run: ``changed`` if any guest changed, per-guest ``results``.

    Ansible shows only a top-level ``diff`` (a list is fine), so the guests'
    diffs are gathered there too.
    """
    result = {"changed": any(r.get("changed") for r in results), "results": results}
    diffs = [r["diff"] for r in results if r.get("diff")]
    if diffs:
        result["diff"] = diffs
    return result


def run_for_guests(module, items, action):
    """Run ``action(params)`` for each item; exit with one result (single) or a batch result (``guests``).

    A failure stops the run and reports the results so far; in a list run the
    message names the guest.
    """
    from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError

    results = []
    for params in items:
        try:
            results.append(action(params))
        except (GuestError, CommandError) as exc:
            if module.params.get("guests") is None:
                module.fail_json(msg=str(exc))
            module.fail_json(msg="guest %s: %s" % (params.get("name"), exc), **batch_result(results))
    if module.params.get("guests") is None:
        module.exit_json(**results[0])
    module.exit_json(**batch_result(results))
