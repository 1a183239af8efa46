#!/bin/sh
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A Python interpreter for one Ansible task that runs as if xl were not
# installed. Used as ansible_python_interpreter: in a private mount
# namespace (nothing outside this process tree sees it) /dev/null is bound
# over /usr/sbin/xl, which then is no executable, and the real Python runs
# with this script's arguments (the module file, or none and the module on
# stdin with pipelining).
exec unshare --mount --propagation private /bin/sh -c \
  'mount --bind /dev/null /usr/sbin/xl && exec /usr/bin/python3 "$@"' python3 "$@"
