#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module kuutorvaja.xen.xen_guest_files: file operations inside a stopped guest's disk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_guest_files
short_description: Read and change files inside a stopped Xen guest's disk image
version_added: 0.1.0
description:
  - Mounts a stopped guest's disk image on the dom0 (C(mount
    -o loop)), performs the declared O(operations) in order, and always
    unmounts and detaches the loop device afterwards, also when an operation
    fails.
  - Partitioned images (the guide's Red Hat C(os.img)) are mounted at the
    partition's offset (C(losetup --offset --sizelimit)); no kernel partition
    scanning is needed.
  - Refused while the guest runs (the guide - "the domU must not be running"),
    when any live domain has the image as a disk, whatever O(name) says (compared
    by what the path is, from C(xl list -l)), and when the image is already
    attached to a loop device.
  - The guest's content is treated as hostile. The image is mounted C(nodev,nosuid,noexec)
    on a directory under C(/run/kuutorvaja-xen/guest-mounts). Paths are inside the guest;
    each is resolved one component at a time from the guest's root, symlinks (absolute ones
    too) as the guest would see them, never reaching the dom0's files. Only regular files
    are read or written (a FIFO, device node or directory in their place is refused, never
    opened), reads stop at 1 MiB, and a file is replaced by a new one written beside it and
    renamed into place.
  - Every operation is resolved and tried before the first change (owner and group names
    from the guest's C(/etc/passwd) and C(/etc/group) as they are before the run), so a bad
    value fails with nothing changed; an operation inside what an earlier one makes is
    checked in its turn.
  - SIGTERM or SIGHUP during the access unmounts and detaches as a failure does. A run killed
    harder (SIGKILL) leaves the mount behind; the next access to the same image releases it,
    and only what such a run provably left.
  - Mounted read-only when every operation only reads, and in check mode.
  - Also returns RV(persistent_net) - the MACs in the guest's udev
    persistent-net rules, for pinning the MAC in the guest config.
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.guest_lock, kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Mounts read-only and reports what would change."]}
  diff_mode: {support: full, details: ["Shows file content changes of C(write) operations (never of C(password))."]}
options:
  name:
    description: The guest the image belongs to; it must not be running.
    type: str
    required: true
  image:
    description: The disk image (file or block device) holding the guest's root filesystem.
    type: path
    required: true
  partition:
    description: Partition number in a partitioned image. Default - the largest Linux partition.
    type: int
  operations:
    description: File operations, done in order.
    type: list
    elements: dict
    default: []
    suboptions:
      action:
        description:
          - V(read) returns a text file's content (the first 1 MiB, with C(truncated) set when there is more).
          - V(stat) returns existence, type (C(file), C(directory), C(link), C(fifo), C(char_device),
            C(block_device) or C(socket)), size, mode and owner.
          - V(move) renames O(operations[].path) to O(operations[].dest) (e.g. to move a file aside);
            done when only O(operations[].dest) exists, refused when both exist.
          - V(write) ensures a file holds O(operations[].content) (atomic write).
          - V(directory) ensures a directory exists.
          - V(password) sets O(operations[].user)'s hash in C(/etc/shadow).
        type: str
        required: true
        choices: [read, stat, move, write, directory, password]
      path:
        description: Absolute path inside the guest (not needed for V(password)).
        type: str
      dest:
        description: New path for V(move).
        type: str
      content:
        description:
          - File content for V(write). Not logged, and masked in the results and the diff, as the content of
            M(ansible.builtin.copy) (it may be a private key).
        type: str
      mode:
        description: Octal mode for V(write) and V(directory), e.g. C('0600').
        type: str
      owner:
        description: Owner (name from the guest's C(/etc/passwd), or uid).
        type: str
      group:
        description: Group (name from the guest's C(/etc/group), or gid).
        type: str
      user:
        description: User for V(password).
        type: str
        default: root
      password_hash:
        description: crypt(3) hash for V(password). Never logged.
        type: str
requirements:
  - C(losetup), C(mount) and C(umount) on the dom0 (run as root).
seealso:
  - module: kuutorvaja.xen.xen_guest
  - module: kuutorvaja.xen.xen_image
  - module: kuutorvaja.xen.xen_disk
"""

EXAMPLES = r"""
- name: The guide's fixes in a stopped Etch guest
  kuutorvaja.xen.xen_guest_files:
    name: xen.loomaaed.tartu.ee
    image: /data/domains/xen.loomaaed.tartu.ee/disk.img
    operations:
      - action: move
        path: /etc/console/boottime.kmap.gz
        dest: /etc/console/boottime.kmap.gz-muidu-segab-xenni
      - action: move
        path: /lib/tls
        dest: /lib/tls.disabled
  register: fixes

- name: MAC the guest's udev pinned, to write into its config
  ansible.builtin.debug:
    msg: "{{ fixes.persistent_net | map(attribute='mac') | first | default('none') }}"

- name: Read a file from a stopped guest
  kuutorvaja.xen.xen_guest_files:
    name: web1
    image: /srv/xen/domains/web1/disk.img
    operations:
      - {action: read, path: /etc/hostname}
  register: files
"""

RETURN = r"""
results:
  description: One entry per operation - C(action), C(path), C(changed) and what it found
    (C(content), C(exists), C(state), C(mode), ...).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "move", "path": "/lib/tls", "dest": "/lib/tls.disabled", "state": "moved", "changed": true}]
files:
  description: Content of each C(read) operation, by guest path (null when missing).
  returned: always
  type: dict
  sample: {"/etc/hostname": "web1\n"}
persistent_net:
  description: C(mac), C(name) and C(file) of each NIC in the guest's udev persistent-net rules.
  returned: always
  type: list
  elements: dict
  sample: [{"mac": "00:16:3e:2c:7e:ef", "name": "eth0", "file": "/etc/udev/rules.d/z25_persistent-net.rules"}]
layout: {returned: always, type: str, sample: filesystem, description: C(filesystem) or C(partitioned).}
partition: {returned: always, type: int, sample: null, description: The partition mounted (partitioned images).}
commands_run: {returned: always, type: list, elements: list, description: "Every command the module ran on the dom0, in order,
  as argv lists (reads too, a poll once, URL passwords masked), also on failure."}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import CommandError, CommandRunner, commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.guest_model import (
    GuestError,
    refuse_if_in_use,
    refuse_if_running,
    validate_guest_name,
)
from ansible_collections.kuutorvaja.xen.plugins.module_utils.locks import locked
from ansible_collections.kuutorvaja.xen.plugins.module_utils.toolstack import TOOLSTACK_ARGUMENT_SPEC, get_toolstack
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_guest_files import run_operations

OPERATION_SPEC = dict(
    action=dict(type="str", required=True, choices=["read", "stat", "move", "write", "directory", "password"]),
    path=dict(type="str"),
    dest=dict(type="str"),
    # Not logged, as ansible.builtin.copy's content: it may be a private key.
    content=dict(type="str", no_log=True),
    mode=dict(type="str"),
    owner=dict(type="str"),
    group=dict(type="str"),
    user=dict(type="str", default="root"),
    password_hash=dict(type="str", no_log=True),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    image=dict(type="path", required=True),
    partition=dict(type="int"),
    operations=dict(
        type="list", elements="dict", default=[], options=OPERATION_SPEC,
        required_if=[("action", "password", ("password_hash",)), ("action", "move", ("path", "dest")),
                     ("action", "write", ("path", "content")), ("action", "read", ("path",)),
                     ("action", "stat", ("path",)), ("action", "directory", ("path",))],
    ),
    **TOOLSTACK_ARGUMENT_SPEC
)


def main():
    """Mount, operate, always unmount."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    runner = CommandRunner(module)
    try:
        name = validate_guest_name(params["name"])
        # Exclusive in check mode too: the check mounts the image, and a second attachment would be refused.
        with locked(guest=name, disks=[params["image"]]):
            tool = get_toolstack(module, runner, params["toolstack"])
            refuse_if_running(name, tool.names_with_id(), "mount its disk")
            refuse_if_in_use(params["image"], tool.disk_users(params["image"]), "mount it")
            results, diff, facts = run_operations(runner, params["image"], params["operations"],
                                                  partition=params["partition"], check_mode=module.check_mode)
    except (GuestError, CommandError, OSError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    files = {r["path"]: r.get("content") for r in results if r["action"] == "read"}
    result = dict(changed=any(r["changed"] for r in results), results=results, files=files, **facts)
    if result["changed"] and (diff["before"] or diff["after"]):
        result["diff"] = diff
    module.exit_json(**result, commands_run=commands_run(module))


if __name__ == "__main__":
    main()
