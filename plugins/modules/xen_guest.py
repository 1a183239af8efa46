#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module xen_guest: a list of Xen guests, each brought to its wanted image, config, disk size and state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_guest
short_description: Converge a list of Xen guests - image, offline fixes, config, disk size, power state, autostart
version_added: 0.1.0
description:
  - Takes a list of guests (O(guests)) and defaults for what an entry leaves out (O(defaults)), and brings each
    guest, in the list's order, through the steps of the guide - the image (built by xen-tools or copied from a
    golden image, as M(kuutorvaja.xen.xen_image) does; an existing guest is left alone), opt-in fixes applied
    offline to a freshly built (stopped) guest (as M(kuutorvaja.xen.xen_guest_files) does), the config
    C(CONFIG_DIR/NAME.cfg) in the layout xen-create-image writes (as M(kuutorvaja.xen.xen_guest_config)
    does), the root disk's size (as M(kuutorvaja.xen.xen_disk) does), then power state and autostart (as
    M(kuutorvaja.xen.xen_domain) does).
  - Every entry is checked before anything is done, so one bad entry changes nothing. Each guest is then
    converged under its own lock, with the toolstack's domain list read under it.
  - A guest is deleted (shut down, then its autostart link, config and disks removed) only when its entry says
    C(state=absent).
  - This is the module behind the C(kuutorvaja.xen.xen_guests) role, which hands it C(xen_guests_list) and
    its C(xen_guests_*) defaults.
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Predicts every step without changing the host; a guest whose image would be
    built is predicted to get its config, and its power state and autostart are predicted as if the config existed."]}
  diff_mode: {support: full, details: ["Shows each changed config file (before and after) and each power state or
    autostart change."]}
options:
  guests:
    description:
      - The guests, one dict each. A key left out (or null) falls back to O(defaults), then to the default
        given here.
    type: list
    elements: dict
    required: true
    suboptions: &guest_options
      name:
        description:
          - Host name and domain name; also the config file and image directory name. Required in each entry of
            O(guests).
          - Letters, digits, V(.), V(_), V(+) and V(-), starting with a letter or digit, at most 128 characters,
            not all digits and not V(Domain-0).
        type: str
      state:
        description:
          - V(running) or V(shutdown) - the power state; V(present) - image and config only, the power state
            is left alone; V(absent) - shut down and delete. Default V(running).
        type: str
        choices: [running, shutdown, present, absent]
      autostart:
        description: Link the config into C(/etc/xen/auto) (xendomains starts it at boot). Default V(true).
        type: bool
      dist:
        description: Distribution, as xen-tools names it. Default V(bookworm).
        type: str
      install_method:
        description:
          - How the guest is installed; all but V(image) are xen-tools' methods. Default V(debootstrap).
          - V(image) copies a golden disk image (the fast path; see M(kuutorvaja.xen.xen_image)).
        type: str
        choices: [debootstrap, cdebootstrap, tar, copy, rinse, image]
      install_source:
        description: Tarball, directory or golden disk image for V(tar), V(copy) or V(image).
        type: str
      mirror:
        description: Package mirror for debootstrap.
        type: str
      dir:
        description: Directory for file-backed images (C(DIR/domains/NAME/)). Default C(/srv/xen).
        type: str
      lvm:
        description: Volume group for the disks, instead of O(guests[].dir).
        type: str
      config_dir:
        description: Where the config goes. Default C(/etc/xen).
        type: str
      memory:
        description: Memory, for example V(512M). Default V(512M).
        type: str
      vcpus:
        description: Virtual CPUs. Default V(1).
        type: int
      disk_size:
        description:
          - Root disk size. Default V(2G). Raising it later grows a file-backed disk and its ext
            filesystem (the guest must be stopped).
        type: str
      swap:
        description: Swap image size. Default V(128M).
        type: str
      noswap:
        description: No swap image.
        type: bool
      fs:
        description: Root filesystem. Default V(ext4).
        type: str
        choices: [ext2, ext3, ext4, xfs, btrfs]
      image:
        description: Sparse or fully allocated image files. Default V(sparse).
        type: str
        choices: [sparse, full]
      ip:
        description:
          - Static address, or a list of them; without it the guest uses DHCP.
          - The address of the guest's one NIC; a guest with O(guests[].nics) gives it per NIC instead.
        type: raw
      gateway:
        description: Gateway for a static address (not with O(guests[].nics)).
        type: str
      netmask:
        description: Netmask for a static address (not with O(guests[].nics)).
        type: str
      nameserver:
        description: Name servers.
        type: list
        elements: str
      mac:
        description: MAC (unicast). Default - derived from the name, stable across runs. Not with O(guests[].nics).
        type: str
      bridge:
        description:
          - Bridge on the dom0. Default V(xenbr0).
          - With O(guests[].nics), the bridge of each NIC that names none.
        type: str
      nics:
        description:
          - The guest's NICs, for a guest with more than one; NIC 0 is its C(eth0), NIC I its C(ethI), and
            each gets a vif in the config, in this order.
          - Replaces the entry's O(guests[].ip), O(guests[].mac), O(guests[].gateway) and O(guests[].netmask),
            which are refused beside it; O(guests[].bridge) stays as the bridge of the NICs that name none.
          - NIC 0 is built by xen-create-image as the guest's one NIC is. The NICs after it are written into
            the new guest's C(/etc/network/interfaces) offline when it is built (see M(kuutorvaja.xen.xen_image)
            O(kuutorvaja.xen.xen_image#module:nics)); like keys, the guest's network files are written only
            when the guest is built. A NIC added to an existing guest gets its vif in the config (a running
            guest is reported as needing a restart), not a stanza in the guest.
        type: list
        elements: dict
        suboptions:
          bridge:
            description: Bridge on the dom0 the NIC joins; it must exist. Default - O(guests[].bridge).
            type: str
          mac:
            description:
              - MAC (unicast), different from every other NIC's of the guest.
              - Default for NIC 0 - the MAC derived from the name (the one a guest with one NIC has);
                for NIC I - derived from the name and I; both stable across runs.
            type: str
          ip:
            description:
              - Static IPv4 address, or a list of them (the first is the NIC's, the others aliases).
                Without it the NIC uses DHCP.
            type: raw
          netmask:
            description: Netmask; required with O(guests[].nics[].ip).
            type: str
          gateway:
            description: Default gateway, on one NIC at most and only with a static O(guests[].nics[].ip).
            type: str
      boot:
        description:
          - V(pygrub) boots the guest's own kernel; V(pv) boots O(guests[].kernel) from the dom0;
            V(pvh) boots it as a PVH guest (C(type = "pvh"), xl on Xen 4.10 or later, a PVH-capable kernel;
            the config's C(extra) starts with C(console=hvc0), Xen's console, which a PVH guest does
            not choose by itself). Default V(pygrub).
        type: str
        choices: [pygrub, pv, pvh]
      kernel:
        description: Kernel on the dom0 for O(guests[].boot=pv) and O(guests[].boot=pvh).
        type: str
      initrd:
        description: Initrd on the dom0 for O(guests[].boot=pv) and O(guests[].boot=pvh).
        type: str
      extra:
        description: Appended to the guest kernel's command line (xl's C(extra), also with pygrub).
        type: str
      xen_tools_roles:
        description: xen-tools roles to run in the new guest.
        type: list
        elements: str
      authorized_keys:
        description: SSH public keys for root, written into a new guest offline.
        type: list
        elements: str
      root_password_hash:
        description: A crypt(3) hash for root, written into a new guest's C(/etc/shadow) offline; never logged.
        type: str
      fixes:
        description: The guide's fixes for an old guest on a Xen kernel, applied offline.
        type: dict
        suboptions:
          console_kmap:
            description: Move C(/etc/console/boottime.kmap.gz) aside.
            type: bool
          lib_tls:
            description: Move C(/lib/tls) to C(/lib/tls.disabled).
            type: bool
          check_udev_mac:
            description: Fail when the guest's udev persistent-net rules name a MAC other than the pinned ones (every NIC's).
            type: bool
      force_rebuild:
        description: Rebuild the image even when it exists (the guest must be stopped).
        type: bool
  defaults:
    description: Values for the keys an entry of O(guests) leaves out; the same keys as an entry, except O(guests[].name).
    type: dict
    default: {}
    suboptions: *guest_options
  fixes_on_existing:
    description: Apply O(guests[].fixes) to guests that already existed (they must be stopped), not only to new ones.
    type: bool
    default: false
  restart_on_change:
    description:
      - A changed config of a running guest is only reported (C(restart_required) in RV(guests[].config)) unless
        this is true; then the guest is shut down and started with the new config.
    type: bool
    default: false
  shutdown_timeout:
    description: Seconds to wait for a guest to shut down (a restart, or before deleting it).
    type: int
    default: 300
requirements:
  - xen-tools (C(xen-create-image)) on the dom0 for a guest to build, except with O(guests[].install_method=image).
  - util-linux (C(losetup), C(mount)) and e2fsprogs on the dom0 for offline fixes and disk growth.
notes:
  - The steps are the single-object modules' backends, run in one module run; their options and refusals are
    the same (a running guest's disk is not grown, a partly present guest is not overwritten without
    O(guests[].force_rebuild)).
seealso:
  - module: kuutorvaja.xen.xen_image
  - module: kuutorvaja.xen.xen_guest_config
  - module: kuutorvaja.xen.xen_disk
  - module: kuutorvaja.xen.xen_domain
  - module: kuutorvaja.xen.xen_guest_files
"""

EXAMPLES = r"""
- name: Two guests from a golden image, one of them stopped
  kuutorvaja.xen.xen_guest:
    defaults:
      install_method: image
      install_source: /srv/golden/bookworm.img
      dir: /data
      disk_size: 8G
    guests:
      - name: web1
      - name: db1
        memory: 1G
        state: shutdown

- name: The guide's two-network guest - eth0 by DHCP on xenbr0, eth1 172.16.92.10/24 on xenbr1
  kuutorvaja.xen.xen_guest:
    defaults:
      install_method: tar
      install_source: /srv/xenlab/guest-bookworm.tar
      extra: net.ifnames=0
    guests:
      - name: web3
        nics:
          - bridge: xenbr0
          - bridge: xenbr1
            ip: 172.16.92.10
            netmask: 255.255.255.0

- name: A PVH guest booting a kernel of the dom0
  kuutorvaja.xen.xen_guest:
    guests:
      - name: pvh1
        boot: pvh
        kernel: /boot/vmlinuz-6.1.0-28-amd64
        initrd: /boot/initrd.img-6.1.0-28-amd64

- name: Delete a guest
  kuutorvaja.xen.xen_guest:
    guests:
      - name: old1
        state: absent
        dir: /data
"""

RETURN = r"""
guests:
  description: One result per guest, in the order of O(guests).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The guest's name.
      type: str
      sample: web1
    changed:
      description: Whether anything of this guest changed.
      type: bool
      sample: false
    image:
      description: The image step's result (as M(kuutorvaja.xen.xen_image) returns it).
      type: dict
      sample: {"changed": false, "config": "/etc/xen/web1.cfg", "disks": ["/data/domains/web1/disk.img"]}
    fixes:
      description: The offline fixes' result, or null when none ran.
      type: dict
      sample: null
    config:
      description: The config step's result (as M(kuutorvaja.xen.xen_guest_config) returns it), with C(restart_required).
      type: dict
      sample: {"changed": false, "path": "/etc/xen/web1.cfg", "restart_required": false, "running": true}
    disk:
      description: The disk step's result (as M(kuutorvaja.xen.xen_disk) returns it), or null (LVM, or built now).
      type: dict
      sample: {"changed": false, "size": 8589934592}
    domain:
      description: The power and autostart step's result (as M(kuutorvaja.xen.xen_domain) returns it), or null when nothing differed.
      type: dict
      sample: null
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC, get_toolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest import XEN_GUEST_ARGUMENT_SPEC, GuestList, plan_guests


def main():
    """Converge the guests of ``guests``."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=dict(XEN_GUEST_ARGUMENT_SPEC, **TOOLSTACK_ARGUMENT_SPEC), supports_check_mode=True)
    runner = CommandRunner(module)
    try:
        planned = plan_guests(module.params)
        toolstack = get_toolstack(module, runner, module.params["toolstack"])
        result = GuestList(module, runner, toolstack, module.params).run(planned)
    except (GuestError, CommandError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    module.exit_json(**result, commands_run=commands_run(module))


if __name__ == "__main__":
    main()
