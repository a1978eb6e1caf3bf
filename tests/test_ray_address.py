"""`--executor ray --address`: an address where no Ray head answers fails within seconds, naming
the address and what to check, with none of Ray's log lines on the terminal; SIGTERM ends the
process at once (issue 19, item 7)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from benchmark.core.errors import BenchError
from benchmark.run.executors.ray_address import HTTP2_PREFACE, check_address, connect
from tests.helpers import write_csv_dataset

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.9"  # loopback: nothing there unless a test listens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Listener:
    """A TCP server on loopback that is not Ray: ``reply`` is what it sends to each connection
    (None: it accepts and stays silent until closed)."""

    def __init__(self, reply: bytes | None) -> None:
        self.server = socket.create_server((HOST, 0))
        self.address = f"{HOST}:{self.server.getsockname()[1]}"
        self.accepted = threading.Event()
        self.reply, self.connections = reply, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()
            if self.reply is not None:
                connection.sendall(self.reply)
                connection.close()

    def close(self) -> None:
        self.server.close()
        for connection in self.connections:
            connection.close()


def assert_says_what_to_check(message: str, address: str) -> None:
    assert address in message
    assert "ray start --head" in message and "RAY_AUTH_MODE" in message and "port" in message


def test_an_address_where_nothing_listens_is_refused_naming_it():
    address = f"{HOST}:{free_port()}"
    with pytest.raises(BenchError) as error:
        check_address(address)
    assert_says_what_to_check(str(error.value), address)
    assert "Connection refused" in str(error.value)


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",  # a web server (the dashboard's port)
    b"-ERR unknown command\r\n",  # Redis, or any line protocol
    b"",  # accepts, then closes
    None,  # accepts, says nothing
], ids=["http1", "line-protocol", "closes", "silent"])
def test_an_address_that_listens_but_is_not_ray_is_refused(reply):
    listener = Listener(reply)
    try:
        with pytest.raises(BenchError) as error:
            check_address(listener.address, timeout_s=1.0)
    finally:
        listener.close()
    assert "not a Ray head" in str(error.value)
    assert_says_what_to_check(str(error.value), listener.address)


def test_an_http2_server_passes_the_probe_and_auto_or_no_address_is_left_to_ray():
    settings = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # what a gRPC server sends first
    listener = Listener(settings)
    try:
        check_address(listener.address, timeout_s=1.0)
        check_address(f"ray://{listener.address}", timeout_s=1.0)
    finally:
        listener.close()
    check_address(None)
    check_address("auto")
    assert HTTP2_PREFACE.startswith(b"PRI * HTTP/2.0")


@pytest.mark.parametrize("address", ["nonsense", "10.0.0.5", "10.0.0.5:", ":6379", "10.0.0.5:abc",
                                     "10.0.0.5:0", "10.0.0.5:70000", "ray://"])
def test_a_malformed_address_is_refused_with_an_example(address):
    with pytest.raises(BenchError, match=r"not a Ray address.*host:port, e\.g\. 10\.0\.0\.5:6379"):
        check_address(address)


class FailingRay:
    """ray.init as it fails on a head it cannot join: C++ warnings on descriptor 2, then an error."""

    def init(self, **kwargs):
        assert os.environ["RAY_gcs_server_port_wait_time_s"] == "10"
        for attempt in range(3):
            os.write(2, f"[2026-12-04 16:35:0{attempt},195 W 1 1] gcs_client.cc:210: Failed to get cluster ID "
                        "from GCS server: RpcError: 404\n".encode())
        raise ConnectionError("Failed to connect to Ray cluster")


def test_ray_init_failing_keeps_its_log_lines_off_the_terminal_and_names_the_address(capfd):
    os.environ.pop("RAY_gcs_server_port_wait_time_s", None)
    with pytest.raises(BenchError) as error:
        connect(FailingRay(), "127.0.0.9:6379", {})
    out, err = capfd.readouterr()
    assert out == err == ""
    message = str(error.value)
    assert_says_what_to_check(message, "127.0.0.9:6379")
    assert "Ray's last warning: gcs_client.cc:210: Failed to get cluster ID" in message
    assert "RAY_gcs_server_port_wait_time_s" not in os.environ  # restored


def bench(tmp_path: Path, address: str) -> subprocess.Popen:
    csv = write_csv_dataset(tmp_path / "data", n_per_class=5, column="split")
    env = {**os.environ, "BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_RESULTS_DIR": str(tmp_path / "results"),
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "run", "-e", "mfcc", "-t", f"csv:{csv}", "-p", "linear",
         "--seeds", "1", "--executor", "ray", "--address", address],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_cli_fails_with_exit_code_2_and_no_ray_output_on_an_unreachable_address(tmp_path):
    pytest.importorskip("ray")
    address = f"{HOST}:{free_port()}"
    driver = bench(tmp_path, address)
    out, err = driver.communicate(timeout=120)  # before the fix: Ray's retries, for minutes
    assert driver.returncode == 2, out + err
    assert_says_what_to_check(err, address)
    assert "rpc_client" not in out + err and "gcs_client" not in out + err and "Traceback" not in err
    assert not list((tmp_path / "results").glob("**/*.json"))  # nothing recorded


def test_sigterm_ends_the_cli_at_once_while_it_waits_for_a_silent_address(tmp_path):
    pytest.importorskip("ray")
    listener = Listener(None)
    try:
        driver = bench(tmp_path, listener.address)
        assert listener.accepted.wait(timeout=120), driver.communicate()
        driver.send_signal(signal.SIGTERM)
        driver.communicate(timeout=10)  # before the fix: ~25 s inside Ray's GCS retries
        assert driver.returncode == -signal.SIGTERM
    finally:
        listener.close()


def test_ray_address_from_the_environment_is_checked_too(monkeypatch):
    """Without --address, ray.init connects to $RAY_ADDRESS: the same check, the same message."""
    pytest.importorskip("ray")
    from benchmark.run.executors.ray import session

    address = f"{HOST}:{free_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    with pytest.raises(BenchError) as error:
        with session(None):
            pass
    assert_says_what_to_check(str(error.value), address)
