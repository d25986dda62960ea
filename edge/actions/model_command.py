"""--mqtt with --update-from: the model version in the attributes follows an update, the command topic
`<prefix>/<name>/model/set` (payload: an export folder's URL or path; empty: the --update-from source)
asks for a new version now, and each outcome is published, retained, on `<prefix>/<name>/model`."""

from __future__ import annotations

import json

from edge.runtime.updates.files import model_version


def model_now(clf):
    """The attributes' `model` block, read when they are published: an update shows in the next one."""
    return lambda: {"arch": clf.manifest.arch, "precision": clf.manifest.precision,
                    "version": model_version(clf), "labels": list(clf.manifest.labels)}


def on_model_set(clf):
    """The command's callback (on paho's thread: it only queues the request), or None without updates."""
    updater = getattr(clf, "updater", None)
    if updater is None:
        return None
    return lambda payload: updater.request(payload or None)


def publish_outcomes(mqtt, clf) -> None:
    """Each update outcome (updated, refused, rolled back ...) as retained JSON on `<prefix>/<name>/model`."""
    updater = getattr(clf, "updater", None)
    if updater is not None:
        topic = f"{mqtt.topics.base}/model"
        updater.listeners.append(lambda outcome: mqtt.publish(topic, json.dumps(outcome.to_dict())))
