#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module kuutorvaja.xen.xen_dom0_files: the dom0's configuration files as one batch."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_dom0_files
short_description: Write a batch of dom0 configuration files and keys in one module run
version_added: 0.1.0
description:
  - Compares every listed directory and file with the host in one module run
    and writes only what differs. The dom0 roles use it so that a run with
    nothing to change costs one SSH round trip per batch instead of one per
    file, directory and key.
  - A file either gets its whole O(files[].content) (render it on the
    controller with the P(ansible.builtin.template#lookup) lookup), or
    O(files[].settings), keys set in place in a package's conffile whose other
    lines and comments are kept.
  - Files are written atomically (a temporary file in the same directory, then
    renamed over the old one).
  - Directories are handled first, in the order given; a file's directory must
    exist or be listed.
  - Paths must be absolute and are normalised (a trailing C(/) is dropped); C(..) is refused.
extends_documentation_fragment: [kuutorvaja.xen.attributes]
attributes:
  check_mode: {support: full, details: ["Reports in RV(changed_paths) what would be written; nothing is touched."]}
  diff_mode: {support: full, details: ["One diff per changed path (content, and mode and owner in the headers)."]}
options:
  directories:
    description:
      - Directories to create or correct, in this order. Missing parents are created too (as by
        C(mkdir -p)); owner, group and mode are set on the listed directory.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {type: str, required: true, description: Absolute path.}
      owner: {type: str, default: root, description: Owner (user name).}
      group: {type: str, default: root, description: Group (group name).}
      mode: {type: raw, default: "0755", description: "Octal permission bits, a string like C('0644') (an unquoted YAML
          C(0644) is taken as the number it means)."}
  files:
    description: Regular files; each present one needs exactly one of O(files[].content) and O(files[].settings).
    type: list
    elements: dict
    default: []
    suboptions:
      path: {type: str, required: true, description: Absolute path.}
      state:
        description:
          - V(absent) removes the file (a symlink itself, not its target); it then takes neither
            O(files[].content) nor O(files[].settings). With O(files[].stage), an existing file is
            left in place and listed in RV(staged_paths), for the caller to remove itself.
        type: str
        choices: [present, absent]
        default: present
      content: {type: str, description: The whole file.}
      settings:
        description:
          - Keys to set in the file, in this order. The last active line of a key is replaced; a
            missing key goes after the last commented-out example of it (C(#key=...)), else at the
            end. A missing file is created with just these keys.
        type: list
        elements: dict
        suboptions:
          key:
            description: The key, e.g. C(autoballoon) or C(XENDOMAINS_RESTORE).
            type: str
            required: true
          value:
            description: The value, written as given (quoted by V(xl) syntax).
            type: str
            required: true
      stage:
        description:
          - Absolute path. When the file differs from what it should be (content, owner, group or
            mode), its new version is written here instead, O(files[].path) is left as it is, and
            the path is listed in RV(staged_paths), for the caller to put in place itself (for
            example behind a rollback timer). When the file matches, a copy an earlier run left
            here is removed, so a staging area holds only what this run staged.
        type: str
      syntax:
        description:
          - How O(files[].settings) are written - V(shell) C(KEY=value) (C(/etc/default/*)), V(xl)
            C(key="value") (C(xl.conf)), V(sxp) C((key value)) (xend's C(xend-config.sxp)).
          - A key missing from the file goes after its commented-out example (V(shell), V(xl) - the
            package's documentation is kept) or in place of it (V(sxp), as the guide edits
            C(xend-config.sxp)), else at the end.
        type: str
        choices: [shell, xl, sxp]
        default: shell
      validate:
        description:
          - A command that checks the file's new version before anything of the batch is written,
            as in M(ansible.builtin.template) - C(%s) stands for a temporary copy of the new version,
            for example V(nft -c -f %s) or V(sh -n %s).
          - Split into words as a shell would, but run without a shell (no pipes, no variables). A
            non-zero exit fails the task with the command's output, and no file or directory of the
            batch is touched. Runs in check mode too, so that a refusal is predicted; not run when the
            content does not change.
        type: str
      owner: {type: str, default: root, description: Owner (user name).}
      group: {type: str, default: root, description: Group (group name).}
      mode: {type: raw, default: "0644", description: "Octal permission bits, a string like C('0644') (an unquoted YAML
          C(0644) is taken as the number it means)."}
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.lineinfile
"""

EXAMPLES = r"""
- name: The GRUB drop-in directory, Xen's command line and the default entry, in one run
  kuutorvaja.xen.xen_dom0_files:
    directories:
      - path: /etc/default/grub.d
    files:
      - path: /etc/default/grub
        settings:
          - {key: XEN_OVERRIDE_GRUB_DEFAULT, value: "1"}
      - path: /etc/default/grub.d/zz-kuutorvaja-xen.cfg
        content: "{{ lookup('ansible.builtin.template', 'grub-xen.cfg.j2') }}"
  notify: Update GRUB

- name: Stage a changed bridge file instead of writing it, for a guarded swap
  kuutorvaja.xen.xen_dom0_files:
    directories:
      - path: /var/lib/kuutorvaja-xen/network/next/interfaces.d
    files:
      - path: /etc/network/interfaces.d/xenbr0
        content: "{{ bridge_stanza }}"
        stage: /var/lib/kuutorvaja-xen/network/next/interfaces.d/xenbr0
  register: network_files
  # network_files.staged_paths lists /etc/network/interfaces.d/xenbr0 when it differed.

- name: Ask what would change, without writing (a plan)
  kuutorvaja.xen.xen_dom0_files:
    files:
      - path: /etc/xen/xl.conf
        syntax: xl
        settings:
          - {key: autoballoon, value: "off"}
  check_mode: true
  register: plan
"""

RETURN = r"""
changed_paths:
  description:
    - The directories and files that were written or corrected (in check mode - would be).
    - A staged file is listed under its O(files[].stage) path.
  returned: always
  type: list
  elements: str
  sample: ["/etc/default/grub.d/zz-kuutorvaja-xen.cfg"]
staged_paths:
  description:
    - The O(files[].path) of the files whose new version was staged (in check mode - would be), for the caller to swap in.
    - With O(files[].state=absent), the files that exist, for the caller to remove.
  returned: always
  type: list
  elements: str
  sample: ["/etc/network/interfaces.d/xenbr0"]
commands_run:
  description: The O(files[].validate) commands that ran (argv lists, the copy's path for C(%s)), also when one refused.
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.command import commands_run
from ansible_collections.kuutorvaja.xen.plugins.module_utils.dom0_files import Dom0Files, Dom0FilesError

ATTRS = dict(owner=dict(type="str", default="root"), group=dict(type="str", default="root"))

ARGUMENT_SPEC = dict(
    directories=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True), mode=dict(type="raw", default="0755"), **ATTRS)),
    files=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        content=dict(type="str"),
        stage=dict(type="str"),
        settings=dict(type="list", elements="dict", options=dict(
            key=dict(type="str", required=True, no_log=False), value=dict(type="str", required=True))),
        syntax=dict(type="str", choices=["shell", "xl", "sxp"], default="shell"),
        validate=dict(type="str"),
        mode=dict(type="raw", default="0644"), **ATTRS)),
)


def main():
    """Compare the batch, write the differences, report the changed paths."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = Dom0Files(module).run(module.params["directories"], module.params["files"])
    except (Dom0FilesError, OSError) as exc:
        module.fail_json(msg=str(exc), commands_run=commands_run(module))
    module.exit_json(commands_run=commands_run(module), **result)


if __name__ == "__main__":
    main()
