#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module kuutorvaja.xen.xen_guest_config: write a guest's /etc/xen/NAME.cfg."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_guest_config
short_description: Write a Xen guest config file from structured settings
version_added: 0.1.0
description:
  - Writes C(/etc/xen/NAME.cfg) atomically from structured settings, in one of
    three boot styles - PV with a kernel on the dom0 (the guide's Etch guest),
    C(pygrub) booting the guest's own kernel (the guide's Red Hat layout, one
    C(os.img) holding partitions), and HVM (full virtualisation) in Xen 3.x's
    legacy form (C(kernel=hvmloader), C(builder='hvm'), C(device_model)) or
    xl's current form (C(type='hvm')).
  - Compares settings, not text - quotes, spacing, key order and MAC case do
    not cause a rewrite.
  - A changed config is first read by the toolstack itself, from a private copy (C(xl -N create COPY),
    C(xm create --dryrun COPY) on Xen 3.x), in check mode too - the dry run creates nothing. When the
    toolstack refuses it, the module fails with the toolstack's own message and the file stays as it was.
  - The change of a running guest is classified (RV(change_class)) - C(config-only) (xen-tools' C(dhcp), which
    xl does not read), C(live) (C(memory) up to
    the maxmem the guest was started with, C(vcpus) up to its maxvcpus, C(vif) and C(disk) entries added at
    the end of their lists) or C(restart) (anything else, a removed or changed device among it, and a guest
    that already differs from its old config).
  - A C(restart) change, or a C(live) one without O(apply_live=true), is written and reported with
    RV(restart_required=true); the running guest keeps its old settings until it is restarted
    (e.g. M(kuutorvaja.xen.xen_domain) with C(state=rebooted)).
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Reports the change and the diff without writing; runs the toolstack's dry run
    (which creates nothing) and predicts the live changes without applying them."]}
  diff_mode: {support: full, details: ["Shows the old and new file."]}
options:
  name: {type: str, required: true, description: Guest (domain) name.}
  path:
    description:
      - Config file path. Default C(CONFIG_DIR/NAME.cfg), where C(CONFIG_DIR) is O(config_dir).
      - Must be an absolute path and may not contain C(..) components.
      - Must lie in O(config_dir) unless O(force=true).
    type: path
  config_dir:
    description:
      - The directory guest configs live in. O(path) outside it is refused unless O(force=true).
      - An absolute, normalised path without C(..) components.
    type: path
    default: /etc/xen
  state:
    description: C(absent) removes the file (refused while the guest runs).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace or remove O(path) even when it is not this guest's config - a file that does not
        parse as a Xen guest config or sets no C(name) (for example V(/etc/passwd) given by mistake),
        or the config of another guest (its C(name) differs) - and allow O(path) outside O(config_dir).
        Without it such a file is refused and left as it is.
      - Even with it, the text of such a file never goes into the diff; a placeholder naming the
        reason does.
      - A device, FIFO or directory at O(path) is refused even with it.
    type: bool
    default: false
  type:
    description:
      - Boot style. V(pv) boots O(kernel) from the dom0; V(pygrub) boots the
        guest's own kernel through O(bootloader); V(pvh) boots O(kernel) from the
        dom0 in a PVH container (C(type = "pvh"), C(xl) on Xen 4.10 and later; the
        guest kernel needs PVH support, as Debian's has); V(hvm) is full virtualisation.
    type: str
    choices: [pv, pygrub, pvh, hvm]
    default: pv
  memory:
    description: Memory, e.g. C(256M), C(1G); written in MiB. At most 16 TiB.
    type: str
  maxmem:
    description: Maximum memory for ballooning.
    type: str
  vcpus:
    description: Virtual CPUs, 1 to 512.
    type: int
    default: 1
  kernel:
    description: dom0 path of the domU kernel (O(type=pv) and O(type=pvh)).
    type: str
  ramdisk:
    description: dom0 path of its initrd (O(type=pv) and O(type=pvh)).
    type: str
  root:
    description: Root device for the kernel command line, e.g. C(/dev/sda1 ro).
    type: str
  extra:
    description: Extra kernel command line.
    type: str
  bootloader:
    description: Bootloader for O(type=pygrub).
    type: str
    default: pygrub
  disks:
    description:
      - Disks, in order. Each a dict with C(target) (image path or device),
        C(vdev) (e.g. C(sda1), C(xvda2), C(ioemu:hda), C(hdc:cdrom)), C(mode)
        (C(w) or C(r), default C(w)) and optional C(prefix) (default C(file:),
        or C(phy:) for C(/dev/...)); or a string written as is.
      - Required with O(state=present).
    type: list
    elements: raw
  vifs:
    description:
      - NICs. Each a dict with optional C(mac), C(bridge), C(ip), C(type),
        C(model), C(vifname), C(script), C(rate); or a string written as is.
      - Pin C(mac) so the guest's udev keeps naming it C(eth0).
    type: list
    elements: raw
  hvm_style:
    description: HVM config style - V(legacy) for xm/Xen 3.x, V(current) for xl.
    type: str
    choices: [legacy, current]
    default: current
  hvmloader:
    description: hvmloader path for O(hvm_style=legacy).
    type: str
    default: /usr/lib/xen/boot/hvmloader
  device_model:
    description: qemu-dm path for O(hvm_style=legacy).
    type: str
    default: /usr/lib/xen/bin/qemu-dm
  boot:
    description: HVM boot order - C(d) CD-ROM first (to install), C(c) disk (after).
    type: str
    default: c
  vnc:
    description: Give an HVM guest a VNC console.
    type: bool
    default: true
  vnclisten:
    description:
      - Address the VNC console listens on; reach it through an SSH tunnel.
      - Written only when given. Left out, C(xl) listens on C(127.0.0.1), and C(xend) (Xen 3.x) on the
        C((vnc-listen)) of C(xend-config.sxp), which the C(kuutorvaja.xen.xen_hypervisor) role sets
        (C(xen_hypervisor_vnc_listen), C(127.0.0.1) by default) - the guide's setup. A C(vnclisten) in the
        guest config would override that on Xen 3.0.3.
    type: str
  pae:
    description: Enable PAE for a 32-bit HVM guest that needs more memory.
    type: bool
    default: false
  on_poweroff: {type: str, description: Action when the guest powers off.}
  on_reboot: {type: str, description: Action when the guest reboots.}
  on_crash: {type: str, description: Action when the guest crashes.}
  settings:
    description: Further C(key = value) settings (strings, integers, lists of those).
    type: dict
  apply_live:
    description:
      - When the change of a running guest is C(live) as a whole (see RV(change_class)), apply it to the guest after
        writing the file - C(xl mem-set), C(xl vcpu-set), C(xl network-attach), C(xl block-attach) (the C(xm)
        commands on Xen 3.x) - instead of asking for a restart (RV(restart_required=false)).
      - A change that needs a restart anyway is not applied in part.
      - In check mode the commands are only predicted (RV(live_changes)).
    type: bool
    default: false
seealso:
  - module: kuutorvaja.xen.xen_guest
  - module: kuutorvaja.xen.xen_domain
  - module: kuutorvaja.xen.xen_image
"""

EXAMPLES = r"""
- name: The guide's PV guest, with the MAC pinned
  kuutorvaja.xen.xen_guest_config:
    name: xen.loomaaed.tartu.ee
    type: pv
    kernel: /boot/vmlinuz-2.6.18-6-xen-i386
    ramdisk: /boot/initrd.img-2.6.18-6-xen-i386
    root: /dev/sda1 ro
    memory: 1024M
    disks:
      - {target: /data/domains/xen.loomaaed.tartu.ee/disk.img, vdev: sda1}
      - {target: /data/domains/xen.loomaaed.tartu.ee/swap.img, vdev: sda2}
    vifs:
      - mac: "00:16:3E:2C:7E:EF"

- name: pygrub guest with one partitioned os.img (Red Hat's layout)
  kuutorvaja.xen.xen_guest_config:
    name: domU-1
    type: pygrub
    memory: 3072M
    disks:
      - {target: /data/domains/domU-1/os.img, vdev: xvda}
    vifs:
      - {bridge: xenbr0}

- name: PVH guest booting the guest's own kernel, kept as a file on the dom0 (xl, Xen 4.10 and later)
  kuutorvaja.xen.xen_guest_config:
    name: web1
    type: pvh
    kernel: /var/lib/xen/kernels/web1/vmlinuz
    ramdisk: /var/lib/xen/kernels/web1/initrd.img
    root: /dev/xvda2 ro
    memory: 512M
    disks:
      - {target: /data/domains/web1/disk.img, vdev: xvda2}
    vifs:
      - {mac: "00:16:3E:12:34:56", bridge: xenbr0}

- name: HVM guest installing from CD as in the guide, xl style
  kuutorvaja.xen.xen_guest_config:
    name: full-virt
    type: hvm
    memory: 2048M
    boot: d
    disks:
      - {target: /data/zones/domains/full-virt/disk.img, vdev: hda}
      - {target: /data/images/debian-40r0-i386-CD-1.iso, vdev: "hdc:cdrom", mode: r}
    vifs:
      - {mac: "00:16:3E:3A:8E:7A", bridge: xenbr2}
  register: cfg

- name: Apply the change to the running guest
  kuutorvaja.xen.xen_domain:
    name: full-virt
    state: rebooted
  when: cfg.restart_required

- name: More memory for a running guest started with maxmem 1024M, ballooned at once (xl mem-set)
  kuutorvaja.xen.xen_guest_config:
    name: web1
    type: pvh
    kernel: /var/lib/xen/kernels/web1/vmlinuz
    root: /dev/xvda2 ro
    memory: 768M
    maxmem: 1024M
    disks:
      - {target: /data/domains/web1/disk.img, vdev: xvda2}
    apply_live: true
  register: web1_cfg

- name: Show what xl made of the new config
  ansible.builtin.debug:
    msg: "{{ web1_cfg.change_class }}: {{ web1_cfg.live_changes | map(attribute='argv') | list }}; {{ web1_cfg.parsed.b_info | default({}) }}"
"""

RETURN = r"""
path:
  description: The config file.
  returned: always
  type: str
  sample: /etc/xen/web1.cfg
settings:
  description: The settings written (or to be written), as Xen reads them.
  returned: state=present
  type: dict
  sample: {"name": "web1", "bootloader": "pygrub", "memory": "512", "vcpus": "1", "disk": ["file:/srv/xen/domains/web1/disk.img,xvda2,w"]}
running:
  description: Whether the guest was running.
  returned: state=present
  type: bool
  sample: false
restart_required:
  description:
    - The config changed while the guest runs, and the running guest does not have the change - RV(change_class=restart),
      or C(live) without O(apply_live=true); restart it to apply.
  returned: state=present
  type: bool
  sample: false
validated:
  description: The toolstack's dry run read the new config and accepted it (false when nothing changed).
  returned: state=present
  type: bool
  sample: true
validated_by:
  description: The dry run that read the new config (run on a private copy, which is removed afterwards).
  returned: when validated
  type: str
  sample: xl -N create
parsed:
  description:
    - The domain configuration C(xl -N create) made of the new config (libxl's JSON, as one domain's C(config)
      of C(xl list -l)), without its empty members, the C(uuid) xl invents on every dry run and any C(passwd) member
      (a C(vncpasswd) or SPICE password); a few KiB.
    - Larger than 64 KiB, only its C(c_info), C(b_info), C(disks) and C(nics).
    - Not returned for C(xm), which prints SXP.
  returned: when validated by xl
  type: dict
  sample: {"c_info": {"type": "pv", "name": "web1"}, "b_info": {"max_vcpus": 1, "avail_vcpus": [0], "max_memkb": 1048576,
           "target_memkb": 786432}, "disks": [{"pdev_path": "/data/domains/web1/disk.img", "vdev": "xvda2", "format": "raw",
           "readwrite": 1}]}
change_class:
  description:
    - How the change reaches the guest. V(none) - nothing changed. V(config-only) - the guest is not running, or only
      keys the toolstack does not read changed (xen-tools' C(dhcp)); the C(on_*) actions are kept by a running guest
      from its start, so they need a restart. V(live) - the running guest can take every change at once
      (see RV(live_changes)). V(restart) - some change needs a restart (see RV(restart_reasons)).
  returned: state=present
  type: str
  sample: live
live_changes:
  description:
    - The changes that can be applied to the running guest, each C(setting) (C(memory) in MiB, C(vcpus), C(vif),
      C(disk)), C(before), C(after), and C(argv), the command that applies it (when the change is C(live) as a whole).
  returned: state=present
  type: list
  elements: dict
  sample: [{"setting": "memory", "before": 512, "after": 768, "argv": ["xl", "mem-set", "web1", "768m"]}]
live_applied:
  description: The live changes were applied (O(apply_live=true)); in check mode, that they would be.
  returned: state=present
  type: bool
  sample: true
restart_reasons:
  description: Why the change needs a restart of the running guest, one line each.
  returned: state=present
  type: list
  elements: str
  sample: ["maxmem: 1024 -> 2048"]
config_only:
  description: The changed keys that the running guest does not need (xen-tools' C(dhcp)).
  returned: when the guest is running and its config changed
  type: list
  elements: str
  sample: ["dhcp"]
autostart:
  description: Whether C(/etc/xen/auto/NAME.cfg) is a symlink to this config (so the role needs no further read).
  returned: always
  type: bool
  sample: true
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC, get_toolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_config import (
    CONFIG_ARGUMENT_SPEC,
    config_request,
    converge_config,
)

ARGUMENT_SPEC = dict(CONFIG_ARGUMENT_SPEC, force=dict(type="bool", default=False), apply_live=dict(type="bool", default=False),
                     **TOOLSTACK_ARGUMENT_SPEC)


def main():
    """Write or remove one guest config."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                               required_if=[("state", "present", ("memory", "disks"))])
    params, runner = module.params, CommandRunner(module)
    try:
        request = config_request(params, force=params["force"])
        with locked(guest=request[0], shared=module.check_mode):
            tool = get_toolstack(module, runner, params["toolstack"])
            result = converge_config(module, request, params["type"], tool.names_with_id(), force=params["force"],
                                     toolstack=tool, apply_live=params["apply_live"])
    except (GuestError, CommandError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    module.exit_json(**result, commands_run=commands_run(module))


if __name__ == "__main__":
    main()
