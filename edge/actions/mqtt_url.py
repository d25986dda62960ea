"""`--mqtt mqtt://[USER[:PASS]@]HOST[:PORT][/PREFIX]` (or mqtts://) -> a broker target, checked up front."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from edge.errors import EdgeError

DEFAULT_PREFIX = "edge"
PORTS = {"mqtt": 1883, "mqtts": 8883}
EXAMPLE = "e.g. mqtt://homeassistant.local or mqtts://edge:PASSWORD@broker.lan:8883/edge"
TOPIC_LEVEL = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, kw_only=True)
class MqttTarget:
    host: str
    port: int
    tls: bool  # mqtts://
    prefix: str = DEFAULT_PREFIX  # topics live under <prefix>/<name>/
    username: str | None = None
    password: str | None = None  # never printed: see __repr__
    ca: Path | None = None  # --mqtt-ca: the CA that signed the broker's certificate (mqtts://)

    def __repr__(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        return f"MqttTarget({'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}/{self.prefix})"

    @property
    def where(self) -> str:
        """For messages: the broker without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def topic_level(text: str, fallback: str) -> str:
    """One MQTT topic level (and Home Assistant object id): letters, digits, _ and - only."""
    return TOPIC_LEVEL.sub("_", text).strip("_") or fallback


def parse_mqtt_url(url: str, *, password: str | None = None, ca: Path | None = None) -> MqttTarget:
    """`password` (EDGE_MQTT_PASSWORD) is used when the URL names a user without one."""
    parts = urlsplit(url)
    if parts.scheme not in PORTS or not parts.hostname:
        raise EdgeError(f"--mqtt {redact(url)}: give mqtt://[USER[:PASS]@]HOST[:PORT][/PREFIX] or mqtts://...; {EXAMPLE}")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise EdgeError(f"--mqtt {redact(url)}: the port is not a number 1-65535; {EXAMPLE}") from None
    prefix = parts.path.strip("/")
    if any(c in prefix for c in "+#") or "//" in prefix:
        raise EdgeError(f"--mqtt {redact(url)}: the topic prefix '{prefix}' may not hold + # or empty levels")
    if ca is not None and parts.scheme != "mqtts":
        raise EdgeError(f"--mqtt-ca {ca}: only used with mqtts:// (TLS); change the URL's scheme or drop --mqtt-ca")
    if ca is not None and not Path(ca).is_file():
        raise EdgeError(f"--mqtt-ca {ca}: no such file; give the PEM file of the CA that signed the broker's certificate")
    username = unquote(parts.username) if parts.username else None
    secret = unquote(parts.password) if parts.password is not None else password
    if secret is not None and username is None:
        raise EdgeError(f"--mqtt {redact(url)}: a password needs a user name (mqtt://USER@HOST with EDGE_MQTT_PASSWORD)")
    return MqttTarget(host=parts.hostname, port=port, tls=parts.scheme == "mqtts", prefix=prefix or DEFAULT_PREFIX,
                      username=username, password=secret, ca=Path(ca) if ca else None)


def redact(url: str) -> str:
    """The URL with its password replaced, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
