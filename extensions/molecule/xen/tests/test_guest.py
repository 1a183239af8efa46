# Copyright (c) kuutorvaja.xen contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify, from outside, the guest that the xen_guests role made in the lab.

The expected values are the lab's xen_guests_* group_vars
(lab/inventory/group_vars/xen_dom0.yml).
"""

import json
import re

GUEST = "kxlab1"
CONFIG = f"/etc/xen/{GUEST}.cfg"


def guest_domid(host):
    """Return the guest's domain ID from `xl list` (Name ID Mem VCPUs State Time)."""
    return int(host.check_output(f"xl list {GUEST}").splitlines()[1].split()[1])


def pinned_macs(host):
    """Return the MACs that the guest's config pins, vif by vif, lower-case as xl prints them.

    xen-tools writes them lower-case, xen_guest_config upper-case (as the seed's
    configs do) once it rewrites the file.
    """
    macs = re.findall(r"mac=([0-9a-fA-F:]{17})", host.file(CONFIG).content_string)
    assert macs, f"no mac= in {CONFIG}"
    return [mac.lower() for mac in macs]


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


def test_guest_nics_on_the_guides_two_bridges_with_pinned_macs(host):
    """As in the guide's two-bridge network: vifN.0 is a port of xenbr0, vifN.1 of xenbr1, each with its pinned MAC."""
    domid = guest_domid(host)
    for index, bridge in enumerate(["xenbr0", "xenbr1"]):
        vif = f"vif{domid}.{index}"
        assert host.interface(vif).exists
        assert host.file(f"/sys/class/net/{vif}/brport/bridge").linked_to.endswith("/" + bridge)
    # xl network-list: Idx BE Mac-Addr. handle state evt-ch tx-/rx-ring-ref BE-path
    listed = [line.split()[2] for line in host.check_output(f"xl network-list {GUEST}").splitlines()[1:]]
    assert listed == pinned_macs(host)
    assert len(set(listed)) == 2


def test_guest_answers_on_its_static_address_behind_xenbr1(host):
    """The guest's eth1 has the guide's 172.16.92.2 (written into it offline at its build), reached over xenbr1 with eth1's MAC."""
    host.run_expect([0], "ping -c 3 -W 5 -I xenbr1 172.16.92.2")
    neighbours = json.loads(host.check_output("ip -j neigh show to 172.16.92.2 dev xenbr1"))
    assert [n["lladdr"] for n in neighbours] == [pinned_macs(host)[1]]


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
