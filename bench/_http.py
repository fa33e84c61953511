"""Shared by the HTTP benchmarks: a gunicorn server as `make serve` runs it, and a light client.

The client speaks HTTP/1.0-style requests over raw sockets (gunicorn's sync workers close each
connection anyway) from several processes, so that the client's own Python costs as little as
it can on a machine whose cores it shares with the server.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping


class Server:
    """gunicorn serving ``target`` (``module:factory()``) on a free port until ``stop()``."""

    def __init__(
        self, target: str, workers: int, env: Mapping[str, str] | None = None, ready: str = "/"
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers)]
        command += ["-b", f"127.0.0.1:{self.port}", "--log-level", "warning", target]
        self.process = subprocess.Popen(command, env={**os.environ, **(env or {})})
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + ready, timeout=10).close()
                return
            except OSError:  # refused while starting, or slow to answer on a busy machine
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [int(pid) for pid in out.split()]

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each worker, from /proc (VmRSS)."""
        sizes = []
        for pid in self.worker_pids():
            try:
                with open(f"/proc/{pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            sizes.append(int(line.split()[1]) / 1024)
            except FileNotFoundError:
                continue
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def get(port: int, path: str, headers: str = "") -> tuple[int, bytes]:
    """One GET; the status code and the whole response (headers and body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    return int(response[9:12]), response


def _client(port: int, path: str, headers: str, stop_at: float, expect, queue) -> None:
    done = failed = 0
    while time.time() < stop_at:
        try:
            status, _ = get(port, path, headers)
        except OSError:
            failed += 1
            continue
        if status in expect:
            done += 1
        else:
            failed += 1
    queue.put((done, failed))


def rate(
    port: int, path: str, seconds: float, clients: int, headers: str = "", expect=(200,)
) -> float:
    """Requests per second answered with a status in ``expect`` by ``clients`` processes."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    stop_at = time.time() + seconds
    procs = [
        context.Process(target=_client, args=(port, path, headers, stop_at, expect, queue))
        for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    failed = sum(f for _, f in results)
    if failed:
        print(f"  ({failed} failed requests on {path})")
    return sum(d for d, _ in results) / seconds
