#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module kuutorvaja.xen.xen_image: build or delete a guest image with xen-tools."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_image
short_description: Build or delete a Xen guest image with xen-tools
version_added: 0.1.0
description:
  - Builds a guest's root and swap images and its config C(/etc/xen/NAME.cfg)
    with xen-tools' C(xen-create-image), the way the guide does, but
    non-interactively and idempotently.
  - An existing guest (config and all disks present) is left alone and reported
    unchanged. It is rebuilt only with O(force=true), and the result says so
    (RV(rebuilt)). A guest that is only partly there (and not from an
    interrupted build of this module) is refused unless O(force=true).
  - A failed build removes what that run created (disks, config, its
    directory) and the error quotes the tail of xen-tools' log
    C(/var/log/xen-tools/NAME.log); when O(dir) had less room than the
    guest's disks before the build, the error says first that the build
    probably ran out of disk space. An interrupted build (the module killed)
    leaves a marker in C(/var/lib/kuutorvaja-xen/builds); the next run (or
    O(state=absent)) unmounts what the killed build left mounted on the new
    disk, removes what the marker lists, and starts clean.
  - The marker names the process that builds (pid, start time, boot id); a
    marker of a build that still runs is never cleaned - the run fails saying
    so. A marker that cannot be read (empty, garbled) is treated as
    interrupted, and only the guest's own config, disks and directory (derived
    from O(name), O(dir) or O(lvm) and O(config_dir)) are removed before the
    rebuild, never a path read from it.
  - Root password - never on the command line and never in the result. The run
    passes C(--nopasswd --genpass=0), so the guide's C(passwd = 1) in
    C(/etc/xen-tools/xen-tools.conf) cannot block it. Give
    O(root_password_hash) (a crypt hash, written into the guest's
    C(/etc/shadow) offline) and/or O(authorized_keys) for SSH.
  - The dom0's C(/etc/hosts) is not touched (C(--nohosts)), the guest is not
    started (C(--noboot)); start it with M(kuutorvaja.xen.xen_domain).
  - C(xen-create-image) runs in a private mount namespace (C(unshare --mount
    --propagation private)), so the mounts it makes (the new disk, C(/proc)
    and C(/dev/pts) bound into it) stay its own - concurrent builds cannot
    trip over each other's - and go away with it, also when it is killed.
  - O(state=absent) removes the autostart link in C(/etc/xen/auto), the config
    and the disks (files, or logical volumes with O(lvm)); refused while the
    guest runs.
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Reports what would be built or removed; runs nothing that changes the
    host."]}
  diff_mode: {support: none, details: ["Nothing to show as a diff; the result lists what changed."]}
options:
  name:
    description:
      - The guest's host name; also the domain name, the config file name and the
        image directory name. Letters, digits, C(.), C(_), C(+) and C(-), starting with a
        letter or digit; not all digits, at most 128 characters (the rule every module of
        this collection applies).
    type: str
    required: true
    aliases: [hostname]
  state:
    description: Whether the guest image should exist.
    type: str
    choices: [present, absent]
    default: present
  dist:
    description:
      - Distribution to install, as xen-tools names it (a directory
        C(/usr/share/xen-tools/DIST.d) must exist), e.g. C(bookworm), C(etch).
      - Required with O(state=present).
    type: str
  install_method:
    description:
      - How the guest system is installed. All but C(image) are xen-tools' methods.
      - C(image) is the fast path, without xen-create-image - O(install_source) is a golden image, one
        bare ext2/3/4 filesystem such as the C(disk.img) of a stopped guest that xen-tools built. It is
        copied sparsely, grown to O(size) (C(resize2fs)), given a swap image, and made this guest
        offline as xen-tools' hooks would - C(/etc/hostname), C(/etc/hosts), C(/etc/fstab),
        C(/etc/network/interfaces) (O(dhcp), O(ip) or O(nics)), C(/etc/resolv.conf) (with O(nameserver)), new
        SSH host keys, an empty C(/etc/machine-id) (a new one at first boot) - and the config is written
        in xen-create-image's layout. Needs O(dir); O(fs) and O(roles) do not apply, O(dist) is recorded only.
        Refused when O(size) is smaller than the golden filesystem or a running guest uses the golden image.
      - Like xen-create-image's, the config sets no kernel command line; a bookworm guest then names its
        NIC C(enX0), not the C(eth0) of its interfaces file. The M(kuutorvaja.xen.xen_guest_config) run of
        the C(kuutorvaja.xen.xen_guests) role adds C(net.ifnames=0) (C(xen_guests_extra)).
    type: str
    choices: [debootstrap, cdebootstrap, tar, copy, rinse, image]
    default: debootstrap
  install_source:
    description:
      - Tarball (O(install_method=tar)), directory (O(install_method=copy)) or golden disk image
        (O(install_method=image)) to install from.
    type: path
  mirror:
    description: Package mirror for debootstrap.
    type: str
  arch:
    description: Architecture to pass to debootstrap, e.g. C(amd64).
    type: str
  dir:
    description:
      - Directory for file-backed images; disks go to C(DIR/domains/NAME/disk.img) and C(swap.img).
      - Exactly one of O(dir) and O(lvm) is required with O(state=present) and O(state=absent).
    type: path
  lvm:
    description: Volume group for the disks (C(NAME-disk), C(NAME-swap)) instead of files.
    type: str
  size:
    description: Root disk size, e.g. C(2G), C(4096M).
    type: str
    default: 4G
  swap:
    description: Swap image size.
    type: str
    default: 128M
  noswap:
    description: Make no swap image.
    type: bool
    default: false
  fs:
    description: Root filesystem. pygrub cannot boot C(xfs).
    type: str
    choices: [ext2, ext3, ext4, xfs, btrfs]
    default: ext4
  image:
    description:
      - Sparse or fully allocated image files (O(dir)); with O(lvm) the logical volumes are allocated anyway.
      - C(full) leaves every block of the disk and swap images allocated, so that the guest cannot run out of
        room on the dom0 later. xen-create-image writes them whole, but C(mkfs.ext4) then discards the new
        filesystem's free blocks, punching holes in a file; the module allocates the holes again
        (C(posix_fallocate)) after the build.
    type: str
    choices: [sparse, full]
    default: sparse
  memory:
    description:
      - Guest memory, e.g. C(512M).
      - The default is the guide's; a bookworm guest that debootstrap built boots Debian's stock initramfs,
        which does not fit in 256M (the guest's kernel panics out of memory while unpacking it).
    type: str
    default: 512M
  vcpus:
    description: Number of virtual CPUs.
    type: int
    default: 1
  dhcp:
    description:
      - Configure the guest's network by DHCP. Either this or O(ip) (or O(nics)).
    type: bool
    default: false
  ip:
    description: Static IPv4 address(es); the first is the system address.
    type: list
    elements: str
  gateway:
    description: Default gateway for a static address.
    type: str
  netmask:
    description: Netmask for a static address.
    type: str
  nics:
    description:
      - The guest's NICs, for a guest with more than one; NIC 0 is the guest's C(eth0), NIC I its C(ethI),
        and each gets a vif in the config, in this order.
      - Replaces O(dhcp), O(ip), O(netmask), O(gateway) and O(mac), which are refused beside it;
        O(bridge) stays as the bridge of the NICs that name none.
      - NIC 0 goes to C(xen-create-image) as its one NIC. The NICs after it are written into the new
        guest offline after the build (the same mount as O(authorized_keys)) - the guest's whole
        C(/etc/network/interfaces), since xen-tools' networking hook writes that file without a C(source)
        line for C(/etc/network/interfaces.d) - and the config is written again with a vif for each NIC.
        With O(install_method=image) they go into the C(/etc/network/interfaces) the copy writes anyway.
      - Like keys and password, the guest's network files are written only when the guest is built;
        a later change of O(nics) is not written into an existing guest.
      - A bookworm or newer guest names its NICs C(enX0), C(enX1), ... unless its kernel command line
        has C(net.ifnames=0) (the C(kuutorvaja.xen.xen_guests) role's default C(extra)).
    type: list
    elements: dict
    suboptions:
      bridge:
        description: Bridge on the dom0 the NIC joins; it must exist. Default - O(bridge).
        type: str
      mac:
        description:
          - MAC address (unicast), different from every other NIC's of the guest.
          - Default for NIC 0 - the MAC derived from O(name), the one a guest with one NIC has (so
            existing guests keep theirs); for NIC I - derived from O(name) and I, the same on every run.
        type: str
      ip:
        description:
          - Static IPv4 address, or a list of them (the first is the NIC's address, the others aliases
            C(ethI:1), ...). Without it the NIC uses DHCP.
        type: raw
      netmask:
        description: Netmask; required with O(nics[].ip).
        type: str
      gateway:
        description: Default gateway, on one NIC at most and only with a static O(nics[].ip).
        type: str
  nameserver:
    description: Name servers to write into the guest.
    type: list
    elements: str
  mac:
    description:
      - MAC address of the guest's NIC (unicast). Default - derived from O(name)
        (Xen's OUI C(00:16:3e) plus three bytes of a hash), the same on every run.
    type: str
  bridge:
    description:
      - Bridge the NIC joins; it must exist on the dom0.
      - With O(nics), the bridge of each NIC that names none.
    type: str
  pygrub:
    description: Boot the guest's own kernel with pygrub. Ignored (false) when O(kernel) is given.
    type: bool
    default: true
  pvh:
    description:
      - Boot O(kernel) as a PVH guest (C(type = "pvh") in the config; Xen 4.10 or later with xl, and a
        PVH-capable guest kernel). Needs O(kernel).
      - Built as with a dom0 kernel; then the config is written again with C(type = "pvh") and
        C(extra = "console=hvc0") (a PVH guest's console is Xen's C(hvc0), which nothing else makes
        its console); its root is the same C(/dev/xvdaN) as a PV guest's.
    type: bool
    default: false
  kernel:
    description: dom0 path of a domU kernel to boot (the guide's Etch way).
    type: path
  initrd:
    description: dom0 path of the matching initrd.
    type: path
  roles:
    description: xen-tools role scripts to run after install (e.g. C(udev)).
    type: list
    elements: str
  config_dir:
    description:
      - Where the guest config is written.
      - Must be an absolute path and may not contain C(..) components.
    type: path
    default: /etc/xen
  authorized_keys:
    description:
      - SSH public keys to install as C(/root/.ssh/authorized_keys) in a newly built
        guest (written offline, before its first boot).
    type: list
    elements: str
  root_password_hash:
    description:
      - A crypt(3) hash (e.g. from C(mkpasswd -m sha-512)) for root in a newly built
        guest, written into its C(/etc/shadow) offline. Never logged.
    type: str
  force:
    description:
      - Rebuild an existing or partial guest, overwriting its disks. Refused while
        the guest runs.
    type: bool
    default: false
notes:
  - Keys, password and the guest's network files (the NICs of O(nics) after C(eth0)) are applied when the
    image is built; to change them on an existing guest use M(kuutorvaja.xen.xen_guest_files).
requirements:
  - xen-tools (C(xen-create-image)) and C(unshare) (util-linux) on the dom0 for O(state=present).
seealso:
  - module: kuutorvaja.xen.xen_guest_config
  - module: kuutorvaja.xen.xen_domain
"""

EXAMPLES = r"""
- name: Build a small bookworm guest from a local tarball
  kuutorvaja.xen.xen_image:
    name: web1
    dist: bookworm
    install_method: tar
    install_source: /srv/xenlab/guest-bookworm.tar
    dir: /srv/xen
    size: 2G
    memory: 512M
    dhcp: true
    bridge: xenbr0
    authorized_keys:
      - "{{ lookup('ansible.builtin.file', 'files/admin.pub') }}"

- name: A guest copied from a golden image (the disk of a stopped guest built once by xen-tools)
  kuutorvaja.xen.xen_image:
    name: web2
    dist: bookworm
    install_method: image
    install_source: /srv/xen/golden/bookworm.img
    dir: /srv/xen
    size: 8G
    dhcp: true
    bridge: xenbr0

- name: The guide's guest
  kuutorvaja.xen.xen_image:
    name: xen.loomaaed.tartu.ee
    dist: etch
    dir: /data
    size: 4G
    memory: 512M
    swap: 1024M
    fs: ext3
    image: full
    kernel: /boot/vmlinuz-2.6.18-6-xen-686
    mirror: http://ftp.aso.ee/debian/
    ip: [172.16.92.2]
    gateway: 172.16.92.128
    netmask: 255.255.255.0

- name: The guide's two-network guest - eth0 by DHCP on xenbr0, eth1 static on xenbr1
  kuutorvaja.xen.xen_image:
    name: web3
    dist: bookworm
    install_method: tar
    install_source: /srv/xenlab/guest-bookworm.tar
    dir: /srv/xen
    nics:
      - bridge: xenbr0
      - bridge: xenbr1
        ip: 172.16.92.10
        netmask: 255.255.255.0

- name: A PVH guest booting a kernel of the dom0
  kuutorvaja.xen.xen_image:
    name: pvh1
    dist: bookworm
    install_method: tar
    install_source: /srv/xenlab/guest-bookworm.tar
    dir: /srv/xen
    dhcp: true
    pvh: true
    kernel: /boot/vmlinuz-6.1.0-28-amd64
    initrd: /boot/initrd.img-6.1.0-28-amd64

- name: Delete a guest (config, autostart link and disks)
  kuutorvaja.xen.xen_image:
    name: web1
    dir: /srv/xen
    state: absent
"""

RETURN = r"""
config:
  description: Path of the guest config.
  returned: always
  type: str
  sample: /etc/xen/web1.cfg
disks:
  description: Disk paths, root disk first.
  returned: always
  type: list
  elements: str
  sample: [/srv/xen/domains/web1/disk.img, /srv/xen/domains/web1/swap.img]
vdevs:
  description:
    - The guest's device for each of RV(disks), as in the config xen-create-image writes
      (root C(xvda2) beside swap C(xvda1), C(xvda1) without swap).
  returned: always
  type: list
  elements: str
  sample: [xvda2, xvda1]
mac:
  description: The MAC address of the guest's NIC 0 (lower-case).
  returned: always
  type: str
  sample: "00:16:3e:2c:7e:ef"
ip:
  description: The first static address of NIC 0, or C(dhcp).
  returned: always
  type: str
  sample: dhcp
nics:
  description: Each NIC of the guest, NIC 0 (C(eth0)) first - its MAC, bridge and first address (or C(dhcp)).
  returned: always
  type: list
  elements: dict
  contains:
    mac:
      description: MAC address (lower-case).
      type: str
      sample: "00:16:3e:2c:7e:ef"
    bridge:
      description: Bridge on the dom0, or null (the toolstack's default).
      type: str
      sample: xenbr0
    ip:
      description: The first static address, or C(dhcp).
      type: str
      sample: dhcp
  sample: [{"mac": "00:16:3e:2c:7e:ef", "bridge": "xenbr0", "ip": "dhcp"},
           {"mac": "00:16:3e:5a:01:9c", "bridge": "xenbr1", "ip": "172.16.92.10"}]
rebuilt:
  description: True when an existing or partial guest was (or in check mode would be) rebuilt.
  returned: state=present
  type: bool
  sample: false
status:
  description: What was found before acting - C(present), C(absent), C(partial) or C(interrupted).
  returned: state=present
  type: str
  sample: absent
command:
  description:
    - The xen-create-image argv that ran (or would run; in a private mount namespace). Holds no secret.
    - With O(install_method=image), the copy of the golden image.
  returned: when a build ran or would run
  type: list
  elements: str
  sample:
    - "xen-create-image"
    - "--hostname=web1"
    - "--dist=bookworm"
    - "--install-method=debootstrap"
    - "--dir=/srv/xen"
    - "--size=4096M"
    - "--memory=512M"
    - "--vcpus=1"
    - "--swap=128M"
    - "--fs=ext4"
    - "--image=sparse"
    - "--dhcp"
    - "--mac=00:16:3e:2c:7e:ef"
    - "--pygrub"
    - "--output=/etc/xen"
    - "--extension=.cfg"
    - "--nopasswd"
    - "--genpass=0"
    - "--noboot"
    - "--nohosts"
    - "--noaccounts"
    - "--nokeep"
    - "--verbose"
summary:
  description:
    - xen-tools' "Installation Summary" (hostname, distribution, mac, ip, ssh_fingerprints); never the password.
    - With O(install_method=image), the same keys for the copy (the fingerprints of its new SSH host keys).
  returned: when a build ran
  type: dict
  sample: {"hostname": "web1", "distribution": "bookworm", "mac": "00:16:3e:2c:7e:ef", "ip": "dynamic", "ssh_fingerprints": {"root@web1": "SHA256:..."}}
removed:
  description: Paths removed (or to be removed in check mode).
  returned: state=absent
  type: list
  elements: str
  sample: ["/etc/xen/auto/web1.cfg", "/etc/xen/web1.cfg", "/srv/xen/domains/web1/disk.img", "/srv/xen/domains/web1/swap.img", "/srv/xen/domains/web1"]
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC, get_toolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_image import (
    NIC_OPTIONS,
    ImageManager,
    post_install_ops,
    spec_from_params,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True, aliases=["hostname"]),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    dist=dict(type="str"),
    install_method=dict(type="str", choices=["debootstrap", "cdebootstrap", "tar", "copy", "rinse", "image"], default="debootstrap"),
    install_source=dict(type="path"),
    mirror=dict(type="str"),
    arch=dict(type="str"),
    dir=dict(type="path"),
    lvm=dict(type="str"),
    size=dict(type="str", default="4G"),
    swap=dict(type="str", default="128M"),
    noswap=dict(type="bool", default=False),
    fs=dict(type="str", choices=["ext2", "ext3", "ext4", "xfs", "btrfs"], default="ext4"),
    image=dict(type="str", choices=["sparse", "full"], default="sparse"),
    memory=dict(type="str", default="512M"),
    vcpus=dict(type="int", default=1),
    dhcp=dict(type="bool", default=False),
    ip=dict(type="list", elements="str"),
    gateway=dict(type="str"),
    netmask=dict(type="str"),
    nameserver=dict(type="list", elements="str"),
    mac=dict(type="str"),
    bridge=dict(type="str"),
    nics=dict(type="list", elements="dict", options=NIC_OPTIONS),
    pygrub=dict(type="bool", default=True),
    pvh=dict(type="bool", default=False),
    kernel=dict(type="path"),
    initrd=dict(type="path"),
    roles=dict(type="list", elements="str"),
    config_dir=dict(type="path", default="/etc/xen"),
    authorized_keys=dict(type="list", elements="str", no_log=False),
    root_password_hash=dict(type="str", no_log=True),
    force=dict(type="bool", default=False),
    **TOOLSTACK_ARGUMENT_SPEC
)
CONSTRAINTS = dict(
    required_if=[("state", "present", ("dist",))],
    required_one_of=[("dir", "lvm")],
    mutually_exclusive=[("dir", "lvm")],
)


def main():
    """Build or delete one guest image."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **CONSTRAINTS)
    params, runner = module.params, CommandRunner(module)
    try:
        spec = spec_from_params(params, for_delete=params["state"] == "absent")
        # From the first look at the guest to the last change: no other run in between.
        with locked(guest=spec.hostname, disks=spec.disk_paths, shared=module.check_mode):
            tool = get_toolstack(module, runner, params["toolstack"])
            manager = ImageManager(module, runner, tool.names_with_id(), disk_users=tool.disk_users)
            if params["state"] == "absent":
                result = manager.ensure_absent(spec)
            else:
                result = manager.ensure_present(spec, force=params["force"], post_install_ops=post_install_ops(params))
    except (GuestError, CommandError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    module.exit_json(**result, commands_run=commands_run(module))


if __name__ == "__main__":
    main()
