"""``rescueops …`` in subprocesses: the real server on a database of its own, for the browser tests and the API fuzzing.

The environment names the database (``RESCUEOPS_DATABASE_URL``) and the var directory, so a server never shares
the test session's database, whose tables the ``db`` fixture empties before every test.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120) -> None:
    """Run ``rescueops ARGS`` to the end; a failure raises with what it printed."""
    done = subprocess.run([sys.executable, "-m", "rescueops", *args], env=env, input=stdin, text=True,
                          capture_output=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"rescueops {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


@dataclass
class LiveServer:
    url: str
    _log: IO[bytes]

    def log(self, last: int = 20_000) -> str:
        """The end of what the server wrote to its standard error (tracebacks of unexpected errors among it)."""
        self._log.flush()
        self._log.seek(0, 2)
        self._log.seek(max(0, self._log.tell() - last))
        return self._log.read().decode(errors="replace")


@contextmanager
def serving(env: dict[str, str], command: str = "serve", *, timeout: float = 30) -> Iterator[LiveServer]:
    """``rescueops serve`` (or ``dev``: migrate, load the reference and demo data, serve) on a free port until the
    block ends, once /health/ready answers.

    Its standard error goes to a file rather than a pipe, so a chatty server never blocks on a full pipe."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "rescueops", command, "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
        server = LiveServer(f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    urllib.request.urlopen(server.url + "/health/ready", timeout=1)
                    break
                except OSError as error:
                    if process.poll() is not None or time.monotonic() > deadline:
                        process.kill()
                        raise RuntimeError("server did not start: " + server.log(2000)) from error
                    time.sleep(0.2)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
