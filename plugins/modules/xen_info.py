#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module xen_info: facts about the Xen hypervisor and its domains."""

from __future__ import annotations

DOCUMENTATION = r"""
module: xen_info
short_description: Facts about the Xen hypervisor and its domains
version_added: 0.1.0
description:
  - Reads the hypervisor's facts (C(xl info) / C(xm info)) and the list of domains with their state (C(xl list) / C(xm list)).
  - Optionally adds the configured memory, vcpus, disks and vifs of every domain (C(xl list -l) / C(xm list --long))
    and the hypervisor's message buffer (C(xl dmesg) / C(xm dmesg)), the first thing to check after booting into Xen.
  - Changes nothing.
extends_documentation_fragment: [kuutorvaja.xen.toolstack, kuutorvaja.xen.attributes]
options:
  xen_dmesg:
    description:
      - Add the hypervisor's message buffer as RV(dmesg).
    type: bool
    default: false
  domain_details:
    description:
      - Add each domain's configured memory, vcpus, disks and vifs as C(details) in RV(domains).
    type: bool
    default: false
  only_on_dom0:
    description:
      - First read C(/proc/xen/capabilities); on a host that is not a running dom0 (no such file, or no C(control_d) in it)
        return RV(dom0=false) and RV(mem_total_mib) only, without looking for the toolstack, which may not be installed yet.
      - With V(false), such a host makes the module fail (the toolstack is missing or cannot reach the hypervisor).
      - One module run (one SSH round trip) both tells whether the host runs Xen and reads its facts.
    type: bool
    default: false
attributes:
  check_mode: {support: full, details: ["Only reads, so it runs the same in check mode."]}
  diff_mode: {support: none}
seealso:
  - module: kuutorvaja.xen.xen_domain
"""

EXAMPLES = r"""
- name: Read the hypervisor's facts and its domains
  kuutorvaja.xen.xen_info:
  register: xen

- name: Check that we booted into Xen with the intended dom0 memory
  ansible.builtin.assert:
    that:
      - xen.hypervisor.version is version('4.2', '>=')
      - "'dom0_mem=' in xen.hypervisor.xen_commandline"

- name: Show the hypervisor's boot messages (the guide's xm dmesg)
  kuutorvaja.xen.xen_info:
    xen_dmesg: true
  register: xen_boot

- name: Facts if this host already runs Xen; before Xen is installed and booted, just dom0=false
  kuutorvaja.xen.xen_info:
    only_on_dom0: true
  register: xen_maybe

- name: Names of the running guests
  ansible.builtin.debug:
    msg: "{{ xen.domains | rejectattr('name', 'eq', 'Domain-0') | map(attribute='name') | list }}"
"""

RETURN = r"""
dom0:
  description:
    - Whether this host is a running dom0. V(false) only with O(only_on_dom0=true), and then only RV(mem_total_mib) is returned besides.
  returned: always
  type: bool
  sample: true
mem_total_mib:
  description:
    - C(MemTotal) of the running kernel (C(/proc/meminfo)) in MiB, as Ansible's C(memtotal_mb) fact. On a dom0 that
      is only dom0's share; the host's memory is RV(hypervisor.total_memory_mib). Null when unreadable.
  returned: always
  type: int
  sample: 1024
hypervisor:
  description: Typed facts about the hypervisor.
  returned: when RV(dom0) is V(true)
  type: dict
  contains:
    toolstack:
      description: The toolstack used, V(xl) or V(xm).
      type: str
    version:
      description: Xen version (built from major, minor and extra on Xen 3.x, which does not print it).
      type: str
    major:
      description: Xen major version.
      type: int
    minor:
      description: Xen minor version.
      type: int
    extra:
      description: Xen version suffix, for example C(.7).
      type: str
    total_memory_mib:
      description: Memory of the host in MiB.
      type: int
    free_memory_mib:
      description: Memory not given to any domain, in MiB.
      type: int
    nr_cpus:
      description: Number of physical CPUs.
      type: int
    virt_caps:
      description:
        - Virtualisation capabilities, for example V(pv), V(hvm), V(hap).
        - On Xen 3.x, which does not print them, derived from C(xen_caps) (V(pv), plus V(hvm) when an C(hvm-*) capability is listed).
      type: list
      elements: str
    xen_caps:
      description: Guest ABIs the hypervisor runs.
      type: list
      elements: str
    xen_commandline:
      description: The hypervisor's boot command line; V(null) on Xen versions that do not print it.
      type: str
    scheduler:
      description: The CPU scheduler.
      type: str
    host:
      description: Host name of dom0.
      type: str
    release:
      description: dom0 kernel release.
      type: str
  sample:
    toolstack: xl
    version: 4.17.7
    major: 4
    minor: 17
    extra: .7
    total_memory_mib: 4095
    free_memory_mib: 3028
    nr_cpus: 2
    virt_caps: [pv, hvm, hap, gnttab-v1, gnttab-v2]
    xen_caps: [xen-3.0-x86_64, hvm-3.0-x86_32, hvm-3.0-x86_32p, hvm-3.0-x86_64]
    xen_commandline: placeholder dom0_mem=1024M,max:1024M dom0_max_vcpus=2
    scheduler: credit2
    host: xenhost
    release: 6.1.0-50-amd64
info:
  description: "Every C(key : value) line of C(xl info) / C(xm info), as strings."
  returned: when RV(dom0) is V(true)
  type: dict
  sample:
    xen_version: 4.17.7
    free_memory: "3028"
domains:
  description: The domains, Domain-0 included, in the toolstack's order; migration placeholders are left out.
  returned: when RV(dom0) is V(true)
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
    domid:
      description: Domain ID (V(null) for a domain xend manages but that is not running).
      type: int
    memory_mib:
      description: Current memory in MiB.
      type: int
    vcpus:
      description: Number of vCPUs.
      type: int
    state:
      description: One of running, blocked, paused, shutdown, crashed, dying, unknown.
      type: str
    flags:
      description: The raw six state flags.
      type: str
    cpu_time:
      description: CPU time used, in seconds.
      type: float
    details:
      description:
        - Configured C(memory_mib), C(max_memory_mib), C(vcpus), C(max_vcpus), C(type), C(disks) (C(target), C(vdev), C(mode))
          and C(nics) (C(mac), C(bridge)).
      returned: when O(domain_details=true)
      type: dict
  sample:
    - name: Domain-0
      domid: 0
      memory_mib: 1024
      vcpus: 2
      state: running
      flags: r-----
      cpu_time: 1332.6
dmesg:
  description: The hypervisor's message buffer.
  returned: when O(xen_dmesg=true)
  type: str
  sample: "(XEN) Xen version 4.17.7 ..."
commands_run:
  description: Every command the module ran on the dom0, in order, as argv lists (reads too, a poll once, URL passwords masked), also on failure.
  returned: when the toolstack was asked (not with O(only_on_dom0) on a host that is no running dom0)
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kuutorvaja.xen.plugins.module_utils.option_validation import no_validation_traceback
from ansible_collections.kuutorvaja.xen.plugins.module_utils.xen_info import XEN_INFO_ARGUMENT_SPEC, run_module


def main():
    """Run the module."""
    with no_validation_traceback():
        module = AnsibleModule(argument_spec=XEN_INFO_ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module)


if __name__ == "__main__":
    main()
