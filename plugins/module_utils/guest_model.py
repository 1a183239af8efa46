# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guest model: every rule the guest modules share, once.

Private to the kuutorvaja.xen collection: no API promise to other code.

Guest names, MACs, sizes, absolute paths, the disk and NIC forms compared
between a config and a running domain, the config and autostart paths, and
the layout of a guest config as xen-create-image writes it. Pure Python: no
command runs here, so the config syntax layer (``xen_cfg``), the toolstack
layer and every backend can depend on it.
"""

from __future__ import annotations

import decimal
import hashlib
import ipaddress
import os
import re


class GuestError(Exception):
    """A refusal or failure with a message meant for the user."""


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

DOM0_NAME = "Domain-0"
NAME_MAX_LENGTH = 128
# What xl and xm accept as a domain name that is also safe as a file name and
# in a host name position: no whitespace, '/', quotes or shell characters.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# Names the toolstack uses for domains in transit; never a guest's own row.
# xl: "(null)" while a domain is torn down, "NAME--incoming"/"NAME--migratedaway"
# during migration; xend renames the source of a migration "migrating-NAME".
_TRANSIENT_RE = re.compile(r"\(null\)|.+--incoming|.+--migratedaway|migrating-.+")


def is_transient_name(name):
    """True for names the toolstack uses for domains in transit (``(null)``, ``X--incoming``, ``X--migratedaway``, ``migrating-X``)."""
    return bool(_TRANSIENT_RE.fullmatch(name))


def name_error(name, option="name"):
    """Why ``name`` is not a usable guest name, or ``None`` when it is (the one name rule)."""
    if not isinstance(name, str) or not name:
        return "%s must be a non-empty string" % option
    if len(name) > NAME_MAX_LENGTH:
        return "%s=%r is %d characters long; at most %d are allowed" % (option, name, len(name), NAME_MAX_LENGTH)
    if name == DOM0_NAME:
        return "%s=%r is the control domain; it cannot be managed as a guest" % (option, name)
    if not _NAME_RE.fullmatch(name):
        return (
            "%s=%r is not a valid guest name: use letters, digits, '.', '_', '+' and '-' "
            "(no whitespace, '/', quotes or shell characters), starting with a letter or digit" % (option, name)
        )
    if name.isdigit():
        return "%s=%r is all digits; xl would read it as a domain ID" % (option, name)
    if is_transient_name(name):
        return "%s=%r looks like a migration placeholder ('--incoming', '--migratedaway', 'migrating-')" % (option, name)
    return None


def validate_guest_name(name, option="name"):
    """Return ``name`` if it is a usable guest name, else raise :class:`GuestError`."""
    error = name_error(name, option)
    if error:
        raise GuestError(error)
    return name


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------

CONFIG_DIR = "/etc/xen"
"""Where xen-tools and the modules put guest configs by default."""

AUTOSTART_DIR = "/etc/xen/auto"
"""Where xendomains (xl and xm alike) looks for configs to start at boot."""


def validate_abs_path(path, option):
    """Return ``path`` if it is absolute and has no ``..`` component (so it cannot leave its directory)."""
    if not isinstance(path, str) or not os.path.isabs(path) or ".." in path.split("/") or "\0" in path:
        raise GuestError("%s=%r must be an absolute path without '..' components" % (option, path))
    return path


def validate_dir(path, option="dir"):
    """Return ``path`` if it is an absolute, normalised directory path (no ``..``, ``.``, ``//`` or trailing ``/``)."""
    if not isinstance(path, str) or not path:
        raise GuestError("%s must be a non-empty absolute path" % option)
    validate_abs_path(path, option)
    if path != "/" and os.path.normpath(path) != path:
        raise GuestError("%s=%r is not a normalised path (no '.', '//' or trailing '/'); write %r"
                         % (option, path, os.path.normpath(path)))
    return path


def within(path, directory):
    """True when ``path`` names ``directory`` itself or something below it (both absolute, compared normalised)."""
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def config_path_for(name, config_dir=CONFIG_DIR):
    """The config path of guest ``name``: ``CONFIG_DIR/NAME.cfg``, as xen-tools writes it."""
    return os.path.join(config_dir or CONFIG_DIR, "%s.cfg" % name)


def autostart_link_for(name, autostart_dir=AUTOSTART_DIR):
    """The autostart link of guest ``name``: ``/etc/xen/auto/NAME.cfg``."""
    return os.path.join(autostart_dir or AUTOSTART_DIR, "%s.cfg" % name)


SAVE_DIR = "/var/lib/kuutorvaja-xen/save"
"""Where ``xen_domain state=saved`` keeps save files by default (apart from xendomains' own)."""


def save_path_for(name, save_dir=SAVE_DIR):
    """The save file of guest ``name``: ``SAVE_DIR/NAME.save``."""
    return os.path.join(save_dir or SAVE_DIR, "%s.save" % name)


def _untrusted(path, what, uid):
    """Why the inode at ``path`` (``os.stat``) could be changed by someone but ``uid``, or ``None``."""
    info = os.stat(path)
    if info.st_uid != uid:
        return "%s %s is owned by uid %d, not root" % (what, path, info.st_uid)
    if info.st_mode & 0o022:
        return "%s %s is %s-writable (mode %04o)" % (what, path, "world" if info.st_mode & 0o002 else "group",
                                                     info.st_mode & 0o7777)
    return None


def config_trust_problem(path, top="/", uid=0):
    """Why a config at ``path`` is no file to boot as root at startup, or ``None`` when it is.

    xendomains starts every config linked from the autostart directory as
    root, so only root may be able to change it: the file (and, for a
    symlink, what it resolves to) must be owned by root and not group- or
    world-writable, and so must every directory above it up to ``top`` (``/``;
    a sticky /tmp counts as world-writable too).
    """
    try:
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            return "config %s is not a regular file" % path
        problem = _untrusted(real, "config", uid)
        for start in dict.fromkeys((os.path.dirname(os.path.normpath(path)), os.path.dirname(real))):
            directory = start
            while problem is None:
                problem = _untrusted(directory, "directory", uid)
                if directory in (top, "/") or not within(directory, top):
                    break
                directory = os.path.dirname(directory)
    except OSError as exc:
        return "cannot check config %s: %s" % (path, exc.strerror or exc)
    return problem


def autostarts(name, config, autostart_dir=AUTOSTART_DIR):
    """True when the guest's autostart link is a symlink to this very ``config``."""
    link = autostart_link_for(name, autostart_dir)
    return os.path.islink(link) and os.readlink(link) == config


# lvm(8) VALID NAMES: these characters, no leading '-', not '.' or '..', at
# most 127 characters; names lvm uses itself ('snapshot', 'pvmove' and the
# suffixes of its hidden sub-volumes) are refused, since the guest's volumes
# (NAME-disk, NAME-swap) are made in this group and must stay addressable.
_VG_RE = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*")
VG_NAME_MAX_LENGTH = 127
_LVM_RESERVED_PREFIXES = ("snapshot", "pvmove")
_LVM_RESERVED_PARTS = ("_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
                       "_tdata", "_tmeta", "_vdo", "_vorigin", "_wcorig")


def validate_volume_group(name, option="lvm"):
    """Return ``name`` if it is a volume group name lvm(8) accepts (VALID NAMES), else raise :class:`GuestError`."""
    if not isinstance(name, str) or not name:
        raise GuestError("%s must be a non-empty volume group name" % option)
    if len(name) > VG_NAME_MAX_LENGTH:
        raise GuestError("%s=%r is %d characters long; lvm allows at most %d" % (option, name, len(name), VG_NAME_MAX_LENGTH))
    if name in (".", "..") or not _VG_RE.fullmatch(name):
        raise GuestError("%s=%r is not a volume group name: use letters, digits, '+', '_', '.' and '-', "
                         "not starting with '-' and not '.' or '..' (lvm(8), VALID NAMES)" % (option, name))
    reserved = [p for p in _LVM_RESERVED_PREFIXES if name.startswith(p)] + [p for p in _LVM_RESERVED_PARTS if p in name]
    if reserved:
        raise GuestError("%s=%r holds %r, which lvm reserves for its own volumes (lvm(8), VALID NAMES)"
                         % (option, name, reserved[0]))
    return name


# A network interface name as the kernel takes it (IFNAMSIZ 16 with its NUL),
# narrowed to what is safe in a file name, a shell word and an ifupdown stanza.
_IFNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")


def validate_interface_name(name, option="bridge"):
    """Return ``name`` if it is a network interface name (bridge, NIC), else raise :class:`GuestError`."""
    if not isinstance(name, str) or not _IFNAME_RE.fullmatch(name):
        raise GuestError("%s=%r is not an interface name (1 to 15 letters, digits, '_', '.' and '-', "
                         "not starting with '.' or '-')" % (option, name))
    return name


# --------------------------------------------------------------------------
# MACs, addresses, sizes
# --------------------------------------------------------------------------

XEN_OUI = "00:16:3e"
"""Xen's own OUI; xen-tools and xl use it for generated MACs."""

_MAC_RE = re.compile(r"([0-9A-Fa-f]{2})([:-][0-9A-Fa-f]{2}){5}")


def normalize_mac(mac, option="mac"):
    """Return ``mac`` lower-case and colon separated; refuse multicast or zero MACs."""
    if not isinstance(mac, str) or not _MAC_RE.fullmatch(mac.strip()):
        raise GuestError("%s=%r is not a MAC address (expected six hex pairs like 00:16:3e:2c:7e:ef)" % (option, mac))
    mac = mac.strip().lower().replace("-", ":")
    if int(mac[:2], 16) & 1:
        raise GuestError("%s=%s is a multicast address; a guest NIC needs a unicast MAC (even first octet)" % (option, mac))
    if mac == "00:00:00:00:00:00":
        raise GuestError("%s=%s is the all-zero address; give a real unicast MAC" % (option, mac))
    return mac


def derive_mac(name, index=0):
    """A stable MAC for NIC ``index`` of a guest: Xen's OUI plus three bytes of SHA-256.

    NIC 0 hashes the name alone (the MAC every guest had before it could have
    more NICs, so existing guests keep theirs); NIC i hashes ``NAME/ethI``.
    The same name and index always give the same MAC, so re-runs never
    regenerate it.
    """
    seed = name if not index else "%s/eth%d" % (name, index)
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    # The OUI's first octet (00) already makes the address unicast.
    return "%s:%s:%s:%s" % (XEN_OUI, digest[0:2], digest[2:4], digest[4:6])


def ipv4(value, option):
    """``value`` as a dotted IPv4 address; refuse anything else."""
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise GuestError("%s=%r is not an IPv4 address" % (option, value))


def guest_ip(value, option="ip", mask=None):
    """``value`` as a guest's own unicast IPv4 address; refuse what no NIC can have.

    0.0.0.0, the limited broadcast, loopback, multicast and the reserved
    240/4 are refused; with ``mask`` (a dotted netmask) also the network and
    broadcast addresses of the guest's subnet.
    """
    address = ipaddress.IPv4Address(ipv4(value, option))
    why = None
    if address == ipaddress.IPv4Address("255.255.255.255"):
        why = "the limited broadcast address"
    elif address.is_unspecified:
        why = "the unspecified address"
    elif address.is_loopback:
        why = "a loopback address (127.0.0.0/8)"
    elif address.is_multicast:
        why = "a multicast address (224.0.0.0/4)"
    elif address in ipaddress.IPv4Network("240.0.0.0/4"):
        why = "in the reserved range 240.0.0.0/4"
    elif mask:
        subnet = ipaddress.IPv4Network("%s/%s" % (address, mask), strict=False)
        if subnet.prefixlen < 31 and address == subnet.network_address:
            why = "the network address of %s" % subnet
        elif subnet.prefixlen < 31 and address == subnet.broadcast_address:
            why = "the broadcast address of %s" % subnet
    if why:
        raise GuestError("%s=%s is %s; a guest needs a unicast host address" % (option, address, why))
    return str(address)


def netmask(value, option="netmask"):
    """A dotted IPv4 netmask (contiguous ones, then zeros)."""
    mask = ipv4(value, option)
    inverted = ~int(ipaddress.IPv4Address(mask)) & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise GuestError("%s=%r is not a netmask (ones then zeros, e.g. 255.255.255.0)" % (option, value))
    return mask


def address_list(value, option="ip"):
    """``value`` (one address or a list of addresses) as a list of strings; empty when none is given.

    Only the shape is checked here; each address is then checked by :func:`guest_ip`.
    """
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(i, str) for i in value):
        return list(value)
    raise GuestError("%s=%r must be an address or a list of addresses" % (option, value))


# --------------------------------------------------------------------------
# A guest's NICs
# --------------------------------------------------------------------------

NIC_KEYS = ("bridge", "mac", "ip", "netmask", "gateway")
"""The keys of one entry of a guest's ``nics`` list."""

ONE_NIC_KEYS = ("ip", "mac", "gateway", "netmask")
"""A guest's own keys for its one NIC, which ``nics`` replaces (its ``bridge`` stays: the default of every NIC)."""


def normalize_nics(nics, name, bridge=None, given=(), option="nics"):
    """A guest's NICs, checked and filled in: one dict per NIC with every key of :data:`NIC_KEYS`, NIC 0 first.

    NIC 0 is the guest's eth0, NIC i its ethI. ``ip`` comes back as a list
    (the first address is the NIC's, the others aliases; empty for DHCP) and
    a static NIC needs ``netmask``; ``bridge`` falls back to ``bridge`` (the
    guest's default), ``mac`` to :func:`derive_mac` of ``name`` and the
    index, so NIC 0 keeps the MAC a one-NIC guest had. MACs must differ, and
    at most one NIC has the default ``gateway``. ``given`` names the guest's
    own one-NIC keys (:data:`ONE_NIC_KEYS`) that were set as well: refused,
    as the list replaces them.
    """
    if given:
        raise GuestError("%s replaces the guest's own %s: give address, MAC, netmask and gateway per NIC "
                         "(%s[0] is eth0), not both; bridge may stay as the default bridge of the NICs "
                         "that name none" % (option, ", ".join(given), option))
    if not isinstance(nics, list) or not nics:
        raise GuestError("%s must be a non-empty list of NICs (dicts with %s); %s[0] is the guest's eth0"
                         % (option, ", ".join(NIC_KEYS), option))
    result, owners, gateways = [], {}, []
    for index, nic in enumerate(nics):
        where = "%s[%d]" % (option, index)
        if not isinstance(nic, dict):
            raise GuestError("%s must be a dict with some of %s, got %r" % (where, ", ".join(NIC_KEYS), nic))
        unknown = sorted(set(nic) - set(NIC_KEYS))
        if unknown:
            raise GuestError("%s has unknown keys %s; known: %s" % (where, ", ".join(unknown), ", ".join(NIC_KEYS)))
        mask = netmask(nic["netmask"], where + ".netmask") if nic.get("netmask") else None
        ips = [guest_ip(ip, where + ".ip", mask) for ip in address_list(nic.get("ip"), where + ".ip")]
        gateway = ipv4(nic["gateway"], where + ".gateway") if nic.get("gateway") else None
        if not ips and (mask or gateway):
            raise GuestError("%s.%s is for a static address; give %s.ip too (a NIC without ip uses DHCP)"
                             % (where, "netmask" if mask else "gateway", where))
        if ips and not mask:
            raise GuestError("%s.netmask is required with %s.ip (e.g. 255.255.255.0)" % (where, where))
        nic_bridge = nic.get("bridge") or bridge or None
        if nic_bridge:
            validate_interface_name(nic_bridge, where + ".bridge")
        mac = normalize_mac(nic["mac"], where + ".mac") if nic.get("mac") else derive_mac(name, index)
        if mac in owners:
            raise GuestError("%s.mac=%s is the MAC of %s too; each NIC of a guest needs its own (set %s.mac)"
                             % (where, mac, owners[mac], where))
        owners[mac] = where
        if gateway:
            gateways.append(where)
        result.append(dict(bridge=nic_bridge, mac=mac, ip=ips, netmask=mask, gateway=gateway))
    if len(gateways) > 1:
        raise GuestError("%s: gateway is given on %s; a guest has one default gateway, give it on one NIC"
                         % (option, " and ".join(gateways)))
    return result


_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
MAX_SIZE = 64 * 1024 ** 4
"""The largest size any option takes (64 TiB): beyond it is a typo, not a disk."""


def parse_size(value, option="size", default_unit="M"):
    """Parse ``2G``, ``2Gb``, ``512M``, ``1024`` (MiB) or an int into bytes.

    Suffixes are binary (K=1024), as xen-tools and dd read them. A bare
    number means ``default_unit``. Sizes above :data:`MAX_SIZE` are refused.
    """
    if isinstance(value, bool):
        raise GuestError("%s=%r is not a size" % (option, value))
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise GuestError("%s=%r is not a size (use e.g. 2G, 512M)" % (option, value))
    match = _SIZE_RE.fullmatch(value)
    if not match:
        raise GuestError("%s=%r is not a size (use a number with an optional K, M, G or T suffix, e.g. 2G or 512M)" % (option, value))
    number, unit = match.group(1), match.group(2).upper() or default_unit
    # Decimal, not float: a number of 400 digits is "too large", not an OverflowError.
    size = int(decimal.Decimal(number) * _UNITS[unit])
    if size <= 0:
        raise GuestError("%s=%r must be larger than zero" % (option, value))
    if size > MAX_SIZE:
        raise GuestError("%s=%r is larger than %d TiB" % (option, value, MAX_SIZE // 1024 ** 4))
    return size


# What Linux stores: a file name of at most 255 bytes, a path shorter than 4096.
NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096


def check_path_length(path, option):
    """Return ``path`` if the filesystem can hold it (no component over 255 bytes, all under 4096); else GuestError.

    Checked before a build makes anything, so that ENAMETOOLONG does not
    stop it halfway.
    """
    encoded = path.encode("utf-8", "surrogateescape")
    if len(encoded) >= PATH_MAX_BYTES:
        raise GuestError("%s: the path %s... is %d bytes long; Linux takes paths of at most %d"
                         % (option, path[:60], len(encoded), PATH_MAX_BYTES - 1))
    for part in encoded.split(b"/"):
        if len(part) > NAME_MAX_BYTES:
            raise GuestError("%s: %s... in %s... is %d bytes long; a file name holds at most %d"
                             % (option, part[:40].decode("utf-8", "replace"), path[:60], len(part), NAME_MAX_BYTES))
    return path


MAX_TIMEOUT = 7 * 24 * 3600
"""The longest wait any option asks for (a week): beyond it is a typo, and clock arithmetic overflows."""


def check_timeout(value, option):
    """Return ``value`` if it is a number of seconds from 1 to :data:`MAX_TIMEOUT`, else GuestError."""
    if value <= 0:
        raise GuestError("%s must be a positive number of seconds, got %d" % (option, value))
    if value > MAX_TIMEOUT:
        raise GuestError("%s=%d is more than a week (%d seconds); give a shorter timeout" % (option, value, MAX_TIMEOUT))
    return value


# crypt(3): $id$[params$]salt$hash (MD5, SHA-256/512, bcrypt, yescrypt) or
# 13-character DES; a leading '!' locks it; '!' or '*' alone is a locked account.
_CRYPT_HASH_RE = re.compile(r"!*(?:\$[0-9a-z]{1,8}(?:\$[^$:;\s]{1,512}){1,4}|[./0-9A-Za-z]{13})?|\*")


def validate_password_hash(value, option="root_password_hash"):
    """Return ``value`` if it is a crypt(3) hash for /etc/shadow; refuse a plain password or a broken string."""
    if not isinstance(value, str) or not value or len(value) > 1024 or not _CRYPT_HASH_RE.fullmatch(value):
        # Never the value itself: it may be a password typed in the wrong option.
        raise GuestError("%s is not a crypt(3) password hash (like $6$salt$hash from 'mkpasswd -m sha-512', "
                         "or '!' for a locked account); the value is not shown" % option)
    return value


MAX_VCPUS = 512
"""The most virtual CPUs a guest may have: far more than any dom0 this collection targets has to share."""

MAX_MEMORY_MIB = 16 * 1024 * 1024
"""The most memory a guest may have (16 TiB, what Xen 4.x can address at all); beyond it is a typo."""


def vcpu_count(value, option="vcpus"):
    """``value`` as a number of virtual CPUs (1 to :data:`MAX_VCPUS`)."""
    if isinstance(value, bool):
        raise GuestError("%s=%r is not a number of virtual CPUs" % (option, value))
    try:
        count = int(1 if value is None else value)
    except (TypeError, ValueError):
        raise GuestError("%s=%r is not a number of virtual CPUs" % (option, value))
    if count < 1:
        raise GuestError("%s=%r must be at least 1" % (option, value))
    if count > MAX_VCPUS:
        raise GuestError("%s=%r is more than %d virtual CPUs; that is a typo, not a guest" % (option, value, MAX_VCPUS))
    return count


def memory_mib(value, option="memory"):
    """A guest memory size in whole MiB (1 MiB to :data:`MAX_MEMORY_MIB`)."""
    mib = size_mib(value, option)
    if mib > MAX_MEMORY_MIB:
        raise GuestError("%s=%r is more than %d TiB; that is a typo, not a guest" % (option, value, MAX_MEMORY_MIB // 1024 ** 2))
    return mib


def size_mib(value, option="size"):
    """Parse a size and return whole MiB (refusing sizes that are not whole MiB)."""
    size = parse_size(value, option=option)
    if size % (1024 * 1024):
        raise GuestError("%s=%r is not a whole number of MiB" % (option, value))
    return size // (1024 * 1024)


# --------------------------------------------------------------------------
# Disks and NICs as compared between a config and a running domain
# --------------------------------------------------------------------------


def _disk_mode(access):
    """Normalise a disk access mode to ``w`` or ``r`` (``r``/``ro`` read-only; ``w``, ``rw``, xm's ``w!`` and empty read-write)."""
    access = (access or "w").strip().lower()
    return "r" if access in ("r", "ro") else "w"


# The deprecated prefixes of xl-disk-configuration(5) (format, script and
# ignored ones), as xm's SXP ``uname`` still carries them (``tap:aio:/x``).
_DISK_PREFIX_RE = re.compile(r"(?:raw|qcow2?|vhd|iscsi|e?nbd|drbd|tapdisk|tap2?|aio|ioemu|file|phy):")


def _strip_disk_target(target):
    """Drop the backend prefixes of a disk target (``file:``, ``phy:``, ``tap:aio:``, ``tap2:tapdisk:aio:``...)."""
    target = target.strip()
    while True:
        match = _DISK_PREFIX_RE.match(target)
        if not match:
            return target
        target = target[match.end():]


def _strip_vdev(vdev):
    """Drop ``ioemu:`` and device-type suffixes (``:disk``, ``:cdrom``) from a virtual device name."""
    vdev = (vdev or "").strip()
    if vdev.startswith("ioemu:"):
        vdev = vdev[len("ioemu:"):]
    return vdev.split(":", 1)[0]


def normalise_disk(target, vdev, mode):
    """One disk as compared between config and running domain: ``{target, vdev, mode}``.

    Takes the fields as xl's ``list -l`` JSON or xm's SXP give them (or as
    ``xen_cfg.parse_disk_spec`` read them from a config): backend prefixes
    and device-type suffixes dropped, mode ``w`` or ``r``.
    """
    return {"target": _strip_disk_target(target or ""), "vdev": _strip_vdev(vdev), "mode": _disk_mode(mode)}


def normalise_nic(mac=None, bridge=None):
    """One NIC as compared between config and running domain: MAC lower-case, bridge as given."""
    return {"mac": mac.lower() if mac else None, "bridge": bridge or None}


def refuse_if_running(name, domains, action):
    """Raise :class:`GuestError` when guest ``name`` is among ``domains`` (names of domains with an id)."""
    if name in domains:
        raise GuestError(
            "guest %s is running (it is in the toolstack's domain list); refusing to %s while it runs. "
            "Shut it down first (kuutorvaja.xen.xen_domain state=shutdown)" % (name, action)
        )


def refuse_if_in_use(path, users, action):
    """Raise :class:`GuestError` when live domains ``users`` have ``path`` (the same file or device) as a disk."""
    if users:
        raise GuestError(
            "%s is a disk of the live domain(s) %s (the same file or device, whatever it is called); "
            "refusing to %s while they run. Shut them down first" % (path, ", ".join(users), action)
        )


# --------------------------------------------------------------------------
# The layout of a guest config as xen-create-image writes it
# --------------------------------------------------------------------------


# A PVH guest boots like an HVM one without firmware: nothing picks its console
# for it, as Linux does for a PV guest, so it is told to use Xen's (hvc0).
PVH_CONSOLE = "console=hvc0"


def xen_tools_layout(name, disks, vdevs, memory_mib, vcpus, nics, pygrub=True,
                     kernel=None, initrd=None, extra=None, boot=None):
    """The options of the config xen-create-image writes, as ``xen_guest_config`` takes them.

    ``disks`` and ``vdevs`` pair up (root first). ``nics`` is the guest's
    NIC list (:func:`normalize_nics`, NIC 0 first): one vif each, in order,
    with its ``mac`` and ``bridge``, and for a static NIC 0 its first
    address as ``ip`` (xen-tools writes its one NIC so). ``boot`` is ``pygrub``, ``pv`` or
    ``pvh`` (default: ``pygrub`` or ``pv`` as ``pygrub`` says). ``extra`` is
    appended to the kernel command line (xen-tools writes ``elevator=noop``
    for a dom0 kernel, nothing with pygrub; a PVH guest gets
    ``console=hvc0``). One layout for a guest built by xen-tools, one copied
    from a golden image and one written by the ``xen_guest`` module, so a
    fresh guest's config compares equal on the next run.
    """
    boot = boot or ("pygrub" if pygrub else "pv")
    vifs = []
    for index, nic in enumerate(nics):
        vif = {"ip": nic["ip"][0] if index == 0 and nic["ip"] else None, "mac": nic["mac"], "bridge": nic.get("bridge")}
        vifs.append({k: v for k, v in vif.items() if v})
    pygrub = boot == "pygrub"
    extras = {"pygrub": [], "pv": ["elevator=noop"], "pvh": [PVH_CONSOLE]}[boot] + ([extra] if extra else [])
    return dict(
        name=name,
        type=boot,
        memory="%dM" % memory_mib,
        vcpus=vcpus,
        disks=[dict(target=path, vdev=vdev) for path, vdev in zip(disks, vdevs)],
        vifs=vifs,
        root="/dev/%s ro" % vdevs[0],
        kernel=None if pygrub else kernel,
        ramdisk=None if pygrub else (initrd or None),
        extra=" ".join(extras) or None,
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="restart",
        settings=None if nics[0]["ip"] else {"dhcp": "dhcp"},
    )
