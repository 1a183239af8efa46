# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one atomic file write of the collection's modules.

Private to the kuutorvaja.xen collection: no API promise to other code.

A reader (xl, update-grub, ifup, a booting guest) sees the old file or the
new one, never half of either: the data goes to a temporary file in the
target's directory (the same filesystem, so the rename is atomic), which gets
its owner and mode before it takes the target's place. A failure at any step
leaves the target as it was and removes the temporary file.
"""

from __future__ import annotations

import os
import tempfile


def _fsync_dir(directory):
    """Flush a directory's entries (a rename in it) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, data, mode=None, owner=None, replace=os.rename, sync=False):
    """Replace ``path`` with ``data`` (bytes, or str written as UTF-8 as is, line endings kept).

    ``mode`` and ``owner`` (a ``(uid, gid)`` pair) are set on the temporary
    file; None leaves mkstemp's 0600 and the caller's uid. ``replace(tmp,
    path)`` moves it into place: ``AnsibleModule.atomic_move`` on the dom0
    (it keeps SELinux contexts and an existing file's attributes, so callers
    that want their own set them again afterwards), the default plain rename
    inside a guest's mounted root, where the dom0's policy does not apply.
    ``sync`` flushes the data to disk before the rename and the directory
    after it, for a file that must survive a crash whole or not at all.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        # Owner first: chown clears the set-id bits that a mode may carry.
        if owner is not None:
            os.chown(tmp, owner[0], owner[1])
        if mode is not None:
            os.chmod(tmp, mode)
        replace(tmp, path)
        if sync:
            _fsync_dir(os.path.dirname(path) or ".")
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
