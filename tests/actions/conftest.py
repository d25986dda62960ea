"""A real mosquitto broker on 127.0.0.1 (a free port, a generated config and password file), and an MQTT
client that records what edge publishes. Tests skip where mosquitto or paho-mqtt is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest


def require_broker() -> None:
    """Only the tests that talk to a broker skip without one (the GPIO and clip tests need neither)."""
    pytest.importorskip("paho.mqtt", reason="the mqtt extra is not installed: pip install 'edge-classifier[mqtt]'")
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        if os.environ.get("CI"):
            pytest.fail(".ci/run installs mosquitto: the MQTT tests must run in CI")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")

USER, PASSWORD = "edge", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float = 10.0, step: float = 0.05):
    """The first truthy value of check() within `seconds`, else None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return None


def make_certificates(folder: Path, name: str = "server") -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1 (openssl), as (ca, cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    ca, ca_key, cert, key = (folder / f"{name}-{part}" for part in ("ca.pem", "ca.key", "cert.pem", "key.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", f"/CN=edge test CA {name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", str(key), "-out", str(folder / f"{name}.csr"), "-subj", "/CN=127.0.0.1")
    (folder / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                                        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    run("x509", "-req", "-in", str(folder / f"{name}.csr"), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(folder / f"{name}.ext"))
    return ca, cert, key


class Broker:
    """mosquitto with a password file and no persistence: a restart forgets retained messages, as a
    broker that lost its disk would, so what edge republishes is all a subscriber sees."""

    def __init__(self, folder: Path, tls: bool = False):
        self.folder, self.port, self.tls = folder, free_port(), tls
        folder.mkdir(parents=True, exist_ok=True)
        passwords = folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), USER, PASSWORD], check=True,
                       capture_output=True, timeout=10)
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous false", f"password_file {passwords}",
                 "persistence false", "log_dest stderr"]
        if tls:
            self.ca, cert, key = make_certificates(folder)
            lines += [f"cafile {self.ca}", f"certfile {cert}", f"keyfile {key}"]
        if os.geteuid() == 0:
            lines.append("user root")  # as root, mosquitto would switch to the 'mosquitto' user, who cannot read tmp
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{USER}:{PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.log = open(self.folder / "mosquitto.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=self.log, stderr=self.log)
        if not wait_for(self._listening, 10):
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {(self.folder / 'mosquitto.log').read_text()[-2000:]}")
        return self

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()[-2000:]}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()


class Recorder:
    """Subscribes to everything and keeps (topic, payload, retained) in arrival order; reconnects on its own."""

    def __init__(self, broker: Broker):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"recorder-{time.monotonic_ns()}")
        self.client.username_pw_set(USER, PASSWORD)
        if broker.tls:
            self.client.tls_set(ca_certs=str(broker.ca))
        self.client.reconnect_delay_set(0.2, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(10), "the test's recorder could not connect to mosquitto"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            client.subscribe([("edge/#", 1), ("homeassistant/#", 1)])
            time.sleep(0.1)  # the SUBACK: messages published right after are seen
            self.connected.set()

    def _on_message(self, client, userdata, message):
        if message.topic == "homeassistant/status":
            return
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def texts(self, topic: str) -> list[str]:
        return [p.decode() for p in self.payloads(topic)]

    def last(self, topic: str) -> str | None:
        texts = self.texts(topic)
        return texts[-1] if texts else None

    def topics(self) -> set[str]:
        with self.lock:
            return {t for t, _, _ in self.messages}

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path):
    require_broker()
    broker = Broker(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture
def recorder(broker):
    recorder = Recorder(broker)
    yield recorder
    recorder.close()


def sigterm(proc: subprocess.Popen, timeout: float = 20) -> int:
    """Stop an edge-infer run as systemd or Ctrl-C would; its exit code."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def kill_if_running(proc: subprocess.Popen) -> None:
    """A test's `finally`: whatever failed, no edge-infer outlives it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
