"""The paho-mqtt client edge uses: credentials, TLS, the last will, backoff, a background network thread.

The connection is made asynchronously (`connect_async` + `loop_start`): a broker that is down at start,
or gone for minutes, never stops classification; paho retries with exponential backoff.
"""

from __future__ import annotations

from edge.actions.mqtt_url import MqttTarget
from edge.actions.topics import OFFLINE
from edge.errors import EdgeError
from edge.runtime.options import require_installed

KEEPALIVE_S = 30  # the broker publishes the last will this long (x1.5) after edge stops answering
BACKOFF_S = (1, 4)  # reconnect waits: 1 s, doubled after each failure, at most 4 s: back within 5 s of the broker
MAX_QUEUED = 256  # messages paho may hold unsent; edge publishes only while connected, so this is a backstop


def make_client(target: MqttTarget, client_id: str, availability_topic: str):
    """A configured client, not yet connected: connect with `start(client, target)`."""
    require_installed("mqtt")  # InferOptions.check() said so already; this is for library callers
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        try:
            client.tls_set(ca_certs=str(target.ca) if target.ca else None)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise EdgeError(f"--mqtt-ca {target.ca}: cannot use it as a CA certificate ({exc}); "
                            "give the PEM file of the CA that signed the broker's certificate") from None
    client.will_set(availability_topic, OFFLINE, qos=1, retain=True)
    client.reconnect_delay_set(*BACKOFF_S)
    client.max_queued_messages_set(MAX_QUEUED)
    return client


def start(client, target: MqttTarget) -> None:
    """Connect in the background; returns at once whether or not the broker is there."""
    client.connect_async(target.host, target.port, keepalive=KEEPALIVE_S)
    client.loop_start()
