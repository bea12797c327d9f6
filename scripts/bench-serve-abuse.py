#!/usr/bin/env python3
"""`memsight serve` against two hostile local users (a label bomb and keep-alive holders), for one or more
binaries side by side (e.g. a build from before the fix and the current one):

1. label bomb: N processes run as nobody through a symlink whose name makes a 15-character comm
   (so psutil's name rule takes argv[0]), each with a 128 KiB argv[0]; one `--top all` scrape's
   size and the exporter's peak RSS (VmHWM) after it.
2. connection holders: H keep-alive connections re-sending a tiny request every HOLD_S seconds
   (reconnecting when closed) while a scraper asks for /metrics TRIES times; the share it gets.

Usage (as root, for `nobody`): scripts/bench-serve-abuse.py [--bombs N] [--holders H] BINARY...
"""

import argparse
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import time

NOBODY = 65534


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, port, extra=()):
    # stdout write-only: builds before 2026-12-02 took subprocess.DEVNULL (read-write) for closed.
    with open(os.devnull, "w") as out:
        p = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", *extra], stdout=out)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            if p.poll() is not None:
                raise SystemExit(f"{binary} serve exited with {p.returncode}")
            time.sleep(0.05)
    p.kill()
    raise SystemExit(f"{binary} serve did not listen within 30 s")


def get(port, path="/metrics", timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("closed without an answer")
    return int(head.split()[1]), body


def vm_hwm(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def label_bomb(binaries, n):
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)  # nobody must reach the symlink
        link = pathlib.Path(d, "memsight-label-bomb")
        link.symlink_to("/bin/sleep")
        # psutil's rule takes the name from an argv[0] that starts with the 15-character comm.
        argv0 = "memsight-label-bomb" + "A" * (128 * 1024 - 20)
        bombs = [
            subprocess.Popen(
                [argv0, "300"], executable=link, user=NOBODY, group=NOBODY
            )
            for _ in range(n)
        ]
        try:
            time.sleep(0.5)
            for binary in binaries:
                port = free_port()
                ex = start(binary, port, ["--top", "all"])
                try:
                    status, body = get(port)
                    print(
                        f"label bomb, {n} processes | {binary} | status {status} | "
                        f"scrape {len(body):,} B | exporter VmHWM {vm_hwm(ex.pid) / 2**20:.1f} MiB"
                    )
                finally:
                    ex.kill()
                    ex.wait()
        finally:
            for b in bombs:
                b.kill()
                b.wait()


def holders(binaries, h, hold_s, tries):
    for binary in binaries:
        port = free_port()
        ex = start(binary, port)
        stop = threading.Event()

        def hold():
            conns = [None] * h
            while not stop.is_set():
                for i, c in enumerate(conns):
                    try:
                        if c is None:
                            c = socket.create_connection(("127.0.0.1", port), timeout=2)
                        c.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
                        if not c.recv(4096):
                            raise OSError("closed")
                        conns[i] = c
                    except OSError:
                        if c is not None:
                            c.close()
                        conns[i] = None
                stop.wait(hold_s)
            for c in conns:
                if c is not None:
                    c.close()

        t = threading.Thread(target=hold)
        t.start()
        time.sleep(1)
        served = 0
        for _ in range(tries):
            try:
                served += get(port, timeout=5)[0] == 200
            except OSError:
                pass
            time.sleep(0.2)
        stop.set()
        t.join()
        ex.kill()
        ex.wait()
        print(
            f"{h} keep-alive holders (a request every {hold_s} s, reconnecting when closed) | {binary} | "
            f"scraper served {served} of {tries} ({100 * served / tries:.0f}%)"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bombs", type=int, default=100)
    ap.add_argument("--holders", type=int, default=72)
    ap.add_argument("--hold-seconds", type=float, default=8.0)
    ap.add_argument("--tries", type=int, default=50)
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (the bombs run as nobody)")
    label_bomb(a.binaries, a.bombs)
    holders(a.binaries, a.holders, a.hold_seconds, a.tries)


if __name__ == "__main__":
    main()
