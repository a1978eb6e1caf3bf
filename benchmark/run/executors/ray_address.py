"""Checking a Ray cluster address before ``ray.init`` connects to it.

``ray.init(address=...)`` retries the head's GCS in C++ for minutes when nothing (or something
other than Ray) answers there, writing its own warnings to the terminal, and a SIGTERM waits
for those retries. So the driver first opens a plain TCP connection with a timeout and checks
that the other end speaks gRPC (HTTP/2, as Ray's GCS and client server do); only then does Ray
connect. Both steps are plain sockets: a SIGTERM ends the process at once.
"""
from __future__ import annotations

import os
import socket
import sys
import tempfile
from typing import Any

from benchmark.core.errors import BenchError

#: seconds to wait for the head to accept the connection, then for its first HTTP/2 frame
TIMEOUT_S = 5.0
#: what an HTTP/2 client sends first (RFC 9113 §3.4): the preface, then an empty SETTINGS frame
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
SETTINGS_FRAME = 4
CLIENT_SCHEME = "ray://"
#: Ray's attempts (about a second each) to reach the GCS while connecting; ours unless the user set it
GCS_WAIT, GCS_WAIT_S = "RAY_gcs_server_port_wait_time_s", 10


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (optionally ``ray://host:port``, or ``[v6]:port``) as (host, port)."""
    bare = address[len(CLIENT_SCHEME):] if address.startswith(CLIENT_SCHEME) else address
    host, sep, port = bare.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BenchError(f"--address {address!r} is not a Ray address: give the head's host:port, e.g. "
                         "10.0.0.5:6379 (the address 'ray start --head' prints), or ray://host:10001 for Ray Client.")
    return host, int(port)


def what_to_check(address: str, host: str, port: int) -> str:
    return (f"Check that a Ray head runs there ('ray start --head --node-ip-address={host} --port={port}' "
            f"on {host} prints the address to give), that the host and port are the ones it printed (the GCS "
            "port, 6379 by default; not the dashboard's 8265), that no firewall blocks the port, and that "
            "RAY_AUTH_MODE here matches the cluster's (e.g. RAY_AUTH_MODE=disabled on both).")


def check_address(address: str | None, timeout_s: float = TIMEOUT_S) -> None:
    """Raise a BenchError naming ``address`` and what to check when no Ray head answers there.
    ``None`` and ``auto`` (Ray finds a cluster started on this machine) are left to Ray."""
    if not address or address == "auto":
        return
    host, port = split_address(address)
    try:
        connection = socket.create_connection((host, port), timeout=timeout_s)
    except socket.timeout:
        raise BenchError(f"Cannot connect to the Ray cluster at {address}: no answer within {timeout_s:g} s. "
                         + what_to_check(address, host, port)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BenchError(f"Cannot connect to the Ray cluster at {address}: {reason}. "
                         + what_to_check(address, host, port)) from None
    with connection:
        if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
            return  # a TLS head answers only after a TLS handshake: Ray's own client checks it
        if not _speaks_http2(connection, timeout_s):
            raise BenchError(f"Something listens at {address} but it is not a Ray head (it does not answer as "
                             "Ray's GCS does, over gRPC). " + what_to_check(address, host, port))


def _speaks_http2(connection: socket.socket, timeout_s: float) -> bool:
    """Whether the server answers the HTTP/2 preface with a SETTINGS frame, as a gRPC server does."""
    try:
        connection.settimeout(timeout_s)
        connection.sendall(HTTP2_PREFACE)
        header = b""
        while len(header) < 9:  # a frame header: length (3), type (1), flags (1), stream (4)
            data = connection.recv(9 - len(header))
            if not data:
                return False
            header += data
    except OSError:  # a timeout, or a reset
        return False
    return header[3] == SETTINGS_FRAME


def connect(ray: Any, address: str, init_kwargs: dict) -> None:
    """``ray.init`` on a checked address, Ray's C++ warnings (written straight to file descriptor
    2 while it retries the GCS) kept off the terminal; a failure names the address, Ray's last
    warning and what to check."""
    # Ray retries the GCS once a second, 20 times by default; a reachable head answers the first
    ours = GCS_WAIT not in os.environ
    if ours:
        os.environ[GCS_WAIT] = str(GCS_WAIT_S)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            ray.init(**init_kwargs)
            return
        except Exception as exc:  # ConnectionError, RpcError, RuntimeError...: a head Ray cannot join
            error = exc
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if ours:
                del os.environ[GCS_WAIT]
        captured.seek(0)
        warnings = [line.strip() for line in captured.read().decode(errors="replace").splitlines() if line.strip()]
    host, port = split_address(address)
    last = f" (Ray's last warning: {warnings[-1].split('] ', 1)[-1]})" if warnings else ""
    raise BenchError(f"Cannot connect to the Ray cluster at {address}: {error}{last}. "
                     + what_to_check(address, host, port)) from error
