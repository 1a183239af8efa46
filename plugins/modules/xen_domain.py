#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module xen_domain: the power state and autostart of one Xen guest."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_domain
short_description: Start, stop, pause and reboot a Xen guest, and manage its autostart
version_added: 0.1.0
description:
  - Brings one Xen guest (domU) to a power state with C(xl) or C(xm), starting it from its config file when needed.
  - Manages the guest's autostart link C(/etc/xen/auto/NAME.cfg), which the C(xendomains) service starts at boot.
  - Reports the guest's facts and whether the running guest differs from its config file (O(config)) in memory,
    vcpus, disks or vifs, which only a restart applies.
  - Reads the domain list once per call; deleting a guest (config and disks) is not done here.
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
options:
  name:
    description:
      - Name of the guest, as in the C(name) setting of its config.
      - Letters, digits, V(.), V(_), V(+) and V(-), starting with a letter or digit, at most 128 characters, not all
        digits and not V(Domain-0).
    type: str
    required: true
  config:
    description:
      - Path of the guest config file. Must be an absolute path and may not contain C(..) components (the autostart
        link points to it).
      - Must exist for O(state=running), O(state=paused), O(state=rebooted) and O(autostart=true).
        In check mode a missing file is only a warning, since an earlier task may not have written it yet.
      - Defaults to C(/etc/xen/NAME.cfg), where C(xen-create-image) writes it.
    type: path
  state:
    description:
      - V(running) starts the guest from O(config) (C(xl create CONFIG)) when it is not running, and unpauses it when paused.
        A guest with a save file (see V(saved)) is restored from it instead (C(xl restore FILE)), and the file is
        removed once the guest runs again (restoring it twice would run the guest on a disk it has moved past).
      - V(paused) pauses a running guest, or starts (or restores) it paused (C(xl create -p CONFIG)).
      - V(shutdown) asks the guest to shut down cleanly and waits up to O(shutdown_timeout) seconds until it is gone.
        A paused guest is unpaused first so that it can act on the request.
        On timeout the module fails, unless O(force=true), which then destroys the guest.
      - V(destroyed) stops the guest at once (C(xl destroy)), like pulling the power cord.
      - V(rebooted) always reboots the guest (or starts it when it is not running), reports a change, and waits up to
        O(shutdown_timeout) seconds until it is back with a new domain ID.
      - Omit to leave the power state alone (for example to manage only O(autostart)).
        At least one of O(state) and O(autostart) is required.
      - V(saved) writes a running or paused guest's memory and state to C(SAVE_DIR/NAME.save) (C(xl save)); the guest
        is gone afterwards, and V(running) brings it back where it was. Unchanged when the guest is not there and has
        a save file; fails when it has neither. An existing save file is overwritten only with O(force=true).
        The save file is reported as the state V(saved) by every later call until it is restored.
      - A guest that has crashed and is kept by C(on_crash = 'preserve') is destroyed only with O(force=true).
    type: str
    choices: [running, shutdown, destroyed, paused, rebooted, saved]
  autostart:
    description:
      - V(true) makes C(/etc/xen/auto/NAME.cfg) a symlink to O(config); V(false) removes it.
      - Omit to leave it alone. Independent of O(state).
      - A regular file at that path is replaced or removed only with O(force=true).
      - xendomains starts every linked config as root at boot, so V(true) is refused (whatever O(force)
        says) for a config that does not parse as this guest's config (its C(name) must be O(name)), that
        is not owned by root or is group- or world-writable, or that sits in a directory (any one up to
        C(/), also after resolving symlinks) that is not owned by root or is group- or world-writable.
    type: bool
  shutdown_timeout:
    description:
      - Seconds to wait for a guest to go away (O(state=shutdown)) or come back (O(state=rebooted)). Must be positive.
    type: int
    default: 300
  wait_for:
    description:
      - V(network) waits, once the guest runs (O(state=running), also when it ran already, or O(state=rebooted)), until
        it has sent its first packet on its first vif, which the dom0 counts in
        C(/sys/class/net/vifDOMID.0/statistics/rx_packets). A started domain is not yet a booted guest; that packet
        (DHCP, or the neighbour solicitation of a static address) shows that its init brought the network up, the
        check the guide makes by hand on the console after the first boot.
      - Fails after O(wait_timeout) seconds, leaving the guest running; fails at once when the guest has no vif, or
        stops, crashes or is replaced while the module waits.
      - Omit to return as soon as the toolstack has started the domain. Skipped in check mode.
    type: str
    choices: [network]
  wait_timeout:
    description:
      - Seconds O(wait_for) waits. Must be positive. Under emulation (Xen in QEMU without KVM) a guest's boot can take
        minutes.
    type: int
    default: 300
  force:
    description:
      - Allow the forceful step when the gentle one is not enough, that is destroy a guest that did not shut down
        or come back within O(shutdown_timeout), destroy a crashed guest, replace a regular file at the autostart path,
        or overwrite a save file with O(state=saved).
    type: bool
    default: false
  save_dir:
    description:
      - Where O(state=saved) writes the guest's save file C(NAME.save) (created root-only, mode C(0700); the file
        holds the guest's memory, secrets included) and where a start looks for one. Absolute, without C(..).
      - Kept apart from the directory where C(xendomains) saves guests when the dom0 stops (the
        C(kuutorvaja.xen.xen_hypervisor) role's setting), which restores those by itself at boot.
    type: path
    default: /var/lib/kuutorvaja-xen/save
attributes:
  check_mode: {support: full, details: ["Predicts the change and the commands it would run without running any of
    them; waits (O(wait_for) too) are skipped."]}
  diff_mode: {support: full, details: ["Before and after hold the guest's power state and autostart."]}
notes:
  - O(state=rebooted) relies on the guest's C(on_reboot = 'restart') (the default) to come back.
seealso:
  - module: kuutorvaja.xen.xen_info
"""

EXAMPLES = r"""
- name: Save a running guest to disk (it stops; its memory goes to /var/lib/kuutorvaja-xen/save/web1.save)
  kuutorvaja.xen.xen_domain:
    name: web1
    state: saved

- name: Bring it back where it was (xl restore), removing the save file
  kuutorvaja.xen.xen_domain:
    name: web1
    state: running

- name: Start the guide's guest from /etc/xen/xen.loomaaed.tartu.ee.cfg and start it at boot
  kuutorvaja.xen.xen_domain:
    name: xen.loomaaed.tartu.ee
    state: running
    autostart: true

- name: Shut a guest down cleanly, destroying it if it has not stopped within two minutes
  kuutorvaja.xen.xen_domain:
    name: full-virt
    config: /etc/xen/full-virt.cfg
    state: shutdown
    shutdown_timeout: 120
    force: true

- name: Start a guest and wait until its network is up (its first packet on its vif)
  kuutorvaja.xen.xen_domain:
    name: xen.loomaaed.tartu.ee
    state: running
    wait_for: network
    wait_timeout: 600

- name: Reboot a guest when its config changed in ways only a restart applies
  kuutorvaja.xen.xen_domain:
    name: xen.loomaaed.tartu.ee
    state: running
  register: guest

- name: Reboot it
  kuutorvaja.xen.xen_domain:
    name: xen.loomaaed.tartu.ee
    state: rebooted
  when: guest.restart_required
"""

RETURN = r"""
name:
  description: Name of the guest.
  returned: always
  type: str
  sample: xen.loomaaed.tartu.ee
config:
  description: Path of the guest config used.
  returned: always
  type: str
  sample: /etc/xen/xen.loomaaed.tartu.ee.cfg
toolstack:
  description: The toolstack that ran the commands.
  returned: always
  type: str
  sample: xl
state:
  description:
    - Power state of the guest after the call (predicted in check mode).
    - One of V(running), V(paused), V(shutdown) (not there, or shut down and not yet gone), V(saved) (not there, with
      a save file), V(crashed), V(dying), V(unknown).
  returned: always
  type: str
  sample: running
autostart:
  description: Whether C(/etc/xen/auto/NAME.cfg) exists after the call (predicted in check mode).
  returned: always
  type: bool
  sample: true
commands:
  description: The commands that changed something, as argv lists (in check mode, the ones that would run).
  returned: always
  type: list
  elements: list
  sample: [["xl", "create", "/etc/xen/xen.loomaaed.tartu.ee.cfg"]]
domain:
  description:
    - Facts of the domain as the toolstack lists it after the call; V(null) when it does not exist.
    - The keys of each of RV(kuutorvaja.xen.xen_info#module:domains) (C(name), C(domid), C(memory_mib), C(vcpus),
      C(state), C(flags), C(cpu_time)), and C(uptime_seconds).
  returned: always
  type: dict
  contains:
    uptime_seconds:
      description: Seconds since the domain started; V(null) when not running or unknown.
      type: int
  sample:
    name: test1
    domid: 1
    memory_mib: 256
    vcpus: 1
    state: running
    flags: r-----
    cpu_time: 2.2
    uptime_seconds: 113
restart_required:
  description:
    - Whether the running guest's memory, vcpus, disks or vifs differ from O(config), so that only a restart applies them.
    - V(false) when the guest was just started or rebooted, or is not running; V(null) when the config cannot be compared
      (for example an old C(xm) config holding Python code).
  returned: always
  type: bool
  sample: false
ready_seconds:
  description:
    - Seconds the module waited for O(wait_for) (0 when the guest was ready already); V(null) when it did not wait.
  returned: always
  type: float
  sample: 41.5
save_file:
  description: The save file this call wrote (O(state=saved)) or restored the guest from (then removed); V(null) when none.
  returned: always
  type: str
  sample: /var/lib/kuutorvaja-xen/save/web1.save
restart_reasons:
  description: What differs, one line per difference.
  returned: always
  type: list
  elements: str
  sample: ["memory: running 256 MiB, config 512 MiB"]
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_domain import (
    XEN_DOMAIN_ARGUMENT_SPEC,
    XEN_DOMAIN_REQUIRED_ONE_OF,
    XenDomain,
)


def main():
    """Run the module."""
    with no_validation_traceback():
        module = AnsibleModule(
            argument_spec=XEN_DOMAIN_ARGUMENT_SPEC,
            required_one_of=XEN_DOMAIN_REQUIRED_ONE_OF,
            supports_check_mode=True,
        )
    XenDomain(module).run()


if __name__ == "__main__":
    main()
