# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify, from outside, the guest that the xen_guests role made in the lab.

The expected values are the lab's xen_guests_* group_vars
(lab/inventory/group_vars/xen_dom0.yml).
"""

import re

GUEST = "kxlab1"
CONFIG = f"/etc/xen/{GUEST}.cfg"


def guest_domid(host):
    """Return the guest's domain ID from `xl list` (Name ID Mem VCPUs State Time)."""
    return int(host.check_output(f"xl list {GUEST}").splitlines()[1].split()[1])


def pinned_mac(host):
    """Return the MAC that the guest's config pins on its first vif, lower-case as xl prints it.

    xen-tools writes it lower-case, xen_guest_config upper-case (as the seed's
    configs do) once it rewrites the file.
    """
    match = re.search(r"mac=([0-9a-fA-F:]{17})", host.file(CONFIG).content_string)
    assert match, f"no mac= in {CONFIG}"
    return match.group(1).lower()


def test_guest_runs_with_its_memory(host):
    """The guest is up (running or blocked), with the memory the role asked for."""
    name, _domid, mem_mib, vcpus, state = host.check_output(f"xl list {GUEST}").splitlines()[1].split()[:5]
    assert name == GUEST
    assert int(mem_mib) == 256
    assert vcpus == "1"
    assert state.strip("-") in ("r", "b")


def test_guest_boots_with_pygrub_from_its_tarball_build(host):
    """xen-tools built it from the lab's tarball; pygrub boots the kernel inside it."""
    cfg = host.file(CONFIG).content_string
    assert "pygrub" in cfg
    assert host.file(f"/data/domains/{GUEST}/disk.img").exists


def test_guest_nic_on_the_bridge_with_the_pinned_mac(host):
    """Its backend vif is a port of xenbr0 and the guest's NIC has the pinned MAC."""
    domid = guest_domid(host)
    vif = f"vif{domid}.0"
    assert host.interface(vif).exists
    assert host.file(f"/sys/class/net/{vif}/brport/bridge").linked_to.endswith("/xenbr0")
    assert host.check_output(f"xl network-list {GUEST}").splitlines()[1].split()[2] == pinned_mac(host)


def test_guest_disk_is_sparse(host):
    """A 2G sparse image: allocated blocks well below its apparent size."""
    apparent, allocated = host.check_output(f"stat -c '%s %b' /data/domains/{GUEST}/disk.img").split()
    assert int(apparent) == 2 * 1024**3
    assert int(allocated) * 512 < int(apparent)


def test_guest_autostarts(host):
    """xendomains starts it at boot: /etc/xen/auto holds a link to its config."""
    link = host.file(f"/etc/xen/auto/{GUEST}.cfg")
    assert link.is_symlink
    assert link.linked_to == CONFIG
