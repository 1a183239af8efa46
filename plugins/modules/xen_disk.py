#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module kuutorvaja.xen.xen_disk: grow a stopped guest's file-backed disk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_disk
short_description: Grow a stopped Xen guest's file-backed disk and its filesystem
version_added: 0.1.0
description:
  - Grows a disk image file to O(size) the guide's way - a
    sparse extend that writes no zeros (like C(dd if=/dev/zero of=IMG bs=1M
    count=0 seek=N)), then C(e2fsck -f -y) and C(resize2fs -p) when the image
    is a bare ext2/3/4 filesystem.
  - Idempotent - nothing happens when the file already has O(size) and its
    filesystem fills it. When an earlier run grew the file but not the
    filesystem, the filesystem is resized.
  - Refuses - while the guest runs (it is in the toolstack's domain list);
    a disk that any live domain has, whatever O(name) says (compared by what the
    path is - the same file through a link, a loop device over it - from
    C(xl list -l)); shrinking; block devices; an image attached to a loop device; and, with
    O(resize_fs=true), an image holding a partition table (the guide's warning -
    make a new partition in the free space instead) or a non-ext filesystem.
    Set O(resize_fs=false) to extend such a file only.
  - Refuses a file whose layout it does not recognise - neither an ext2/3/4, xfs, btrfs or swap filesystem
    nor an MBR or GPT partition table at its start, such as V(/etc/passwd) given by mistake - unless
    told exactly to extend it as a raw disk with O(resize_fs=false) and O(extend_unknown_layout=true).
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Reports whether the file and filesystem would grow."]}
  diff_mode: {support: none, details: ["Nothing to show as a diff; the result lists what changed."]}
options:
  name: {type: str, required: true, description: The guest the disk belongs to; it must not be running.}
  path:
    description: The disk image file.
    type: path
    required: true
  size:
    description: Target size, e.g. C(5G), C(5120M). Smaller than the current size is refused.
    type: str
    required: true
  resize_fs:
    description: Check and grow the bare ext filesystem in the image after extending it.
    type: bool
    default: true
  extend_unknown_layout:
    description:
      - Extend (with zeros at the end, a sparse extend) a file whose layout is not recognised, treating
        it as a raw guest disk. Needs O(resize_fs=false). Without it such a file is refused and left as it is.
      - Only for an image known to be a guest disk in a format this module does not read.
    type: bool
    default: false
requirements:
  - e2fsprogs (C(e2fsck), C(resize2fs)) on the dom0 to grow an ext filesystem; the filesystem's size is
    read from its superblock, without C(dumpe2fs).
  - C(losetup) on the dom0.
seealso:
  - module: kuutorvaja.xen.xen_guest
  - module: kuutorvaja.xen.xen_image
  - module: kuutorvaja.xen.xen_guest_files
"""

EXAMPLES = r"""
- name: Grow the guide's fc4.img to 5G
  kuutorvaja.xen.xen_disk:
    name: fc4
    path: /data/domains/fc4/fc4.img
    size: 5G

- name: Extend a partitioned os.img only (make the partition yourself)
  kuutorvaja.xen.xen_disk:
    name: domU-1
    path: /data/domains/domU-1/os.img
    size: 30G
    resize_fs: false
"""

RETURN = r"""
path:
  description: The image.
  returned: always
  type: str
  sample: /srv/xen/domains/web1/disk.img
size_before:
  description: File size in bytes before the run.
  returned: always
  type: int
  sample: 4294967296
size:
  description: Target file size in bytes.
  returned: always
  type: int
  sample: 8589934592
layout:
  description: What the image holds - C(filesystem), C(partitioned) or C(unknown).
  returned: always
  type: str
  sample: filesystem
filesystem:
  description: Filesystem family found (C(ext), C(xfs), C(btrfs), C(swap)) or null.
  returned: always
  type: str
  sample: ext
fs_size_before:
  description: Filesystem size in bytes before the run (ext only, with O(resize_fs)).
  returned: always
  type: int
  sample: 4294967296
fs_size:
  description: Filesystem size in bytes after the run (ext only, with O(resize_fs); not in check mode).
  returned: when the filesystem was read
  type: int
  sample: 8589934592
grown:
  description: Whether the file was (or would be) extended.
  returned: always
  type: bool
  sample: true
fs_resized:
  description: Whether the filesystem was (or would be) checked and resized.
  returned: always
  type: bool
  sample: true
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import GuestError, parse_size, validate_guest_name
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC, get_toolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_disk import DiskGrower

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    path=dict(type="path", required=True),
    size=dict(type="str", required=True),
    resize_fs=dict(type="bool", default=True),
    extend_unknown_layout=dict(type="bool", default=False),
    **TOOLSTACK_ARGUMENT_SPEC
)


def main():
    """Grow one disk image."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params, runner = module.params, CommandRunner(module)
    try:
        name, size = validate_guest_name(params["name"]), parse_size(params["size"], "size")
        with locked(guest=name, disks=[params["path"]], shared=module.check_mode):
            tool = get_toolstack(module, runner, params["toolstack"])
            grower = DiskGrower(module, runner, tool.names_with_id(), disk_users=tool.disk_users)
            result = grower.ensure(name, params["path"], size, params["resize_fs"], params["extend_unknown_layout"])
    except (GuestError, CommandError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    module.exit_json(name=name, **result, commands_run=commands_run(module))


if __name__ == "__main__":
    main()
