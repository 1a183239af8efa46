# -*- coding: utf-8 -*-
# Copyright (c) kuutorvaja.xen contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Take a screenshot of a guest's VNC console on a dom0, through an SSH tunnel.

Usage: vnc_screenshot.py --ssh-host H --ssh-port P --ssh-user U --ssh-key K
                         --out PNG [--vnc-port 5900] [--timeout S] [--interval S]

Runs on the controller. ``ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:VNC_PORT`` to
the dom0 (the console listens on the dom0's loopback only), then captures the
screen with vncdotool's ``vncdo`` until it is not blank (more than one colour
and at least --min-lit of the pixels not black) or --timeout passes: under
QEMU's TCG an HVM guest's BIOS and boot loader take a while to draw.

Prints one JSON object: the PNG's path, its size, colours, the lit fraction,
the attempts and seconds taken. Exits 1 when the screen stayed blank (the
last capture is kept at --out to look at) or the tunnel did not come up.
The tunnel is stopped (by its PID) in every case.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

COLOUR_LIMIT = 1 << 16


def _free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port, deadline):
    """Whether 127.0.0.1:port accepts a connection before the deadline."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def _measure(path):
    """Size, number of colours and the fraction of non-black pixels of an image."""
    from PIL import Image  # pylint: disable=import-outside-toplevel

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(COLOUR_LIMIT) or []
        total = rgb.width * rgb.height
        black = sum(count for count, colour in colours if colour == (0, 0, 0))
        return {
            "width": rgb.width,
            "height": rgb.height,
            "colours": len(colours) if colours else COLOUR_LIMIT,
            "lit_fraction": round((total - black) / total, 4) if total else 0.0,
        }


def main():
    """Open the tunnel, capture until the screen is not blank, close the tunnel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssh-host", required=True)
    parser.add_argument("--ssh-port", default="22")
    parser.add_argument("--ssh-user", default="root")
    parser.add_argument("--ssh-key", default="")
    parser.add_argument("--vnc-port", type=int, default=5900)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--min-lit", type=float, default=0.01)
    args = parser.parse_args()

    started = time.monotonic()
    vncdo = os.path.join(os.path.dirname(sys.executable), "vncdo")
    local = _free_port()
    argv = ["ssh", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-p", str(args.ssh_port), "-L", "127.0.0.1:%d:127.0.0.1:%d" % (local, args.vnc_port)]
    if args.ssh_key:
        argv += ["-i", args.ssh_key]
    argv.append("%s@%s" % (args.ssh_user, args.ssh_host))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = args.out + ".part.png"
    result = {"path": os.path.abspath(args.out), "tunnel": "127.0.0.1:%d" % local, "attempts": 0}
    tunnel = subprocess.Popen(argv, stdin=subprocess.DEVNULL)  # pylint: disable=consider-using-with
    try:
        if not _wait_listening(local, time.monotonic() + 60) or tunnel.poll() is not None:
            result["error"] = "the SSH tunnel did not come up: %s" % " ".join(argv)
            print(json.dumps(result))
            return 1
        deadline = started + args.timeout
        while True:
            result["attempts"] += 1
            capture = subprocess.run([vncdo, "-s", "127.0.0.1::%d" % local, "capture", partial],
                                     capture_output=True, text=True, timeout=120, check=False)
            if capture.returncode == 0 and os.path.exists(partial):
                result.update(_measure(partial))
                os.replace(partial, args.out)
                if result["colours"] > 1 and result["lit_fraction"] >= args.min_lit:
                    result["seconds"] = round(time.monotonic() - started, 1)
                    print(json.dumps(result))
                    return 0
            else:
                result["vncdo_error"] = (capture.stderr or capture.stdout).strip()[-500:]
            if time.monotonic() + args.interval > deadline:
                result["seconds"] = round(time.monotonic() - started, 1)
                result["error"] = "the screen stayed blank for %d s" % args.timeout
                print(json.dumps(result))
                return 1
            time.sleep(args.interval)
    finally:
        tunnel.terminate()
        try:
            tunnel.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tunnel.kill()
            tunnel.wait()


if __name__ == "__main__":
    sys.exit(main())
