"""What every route needs: the model, the options, the live hub, the request worker, the metrics."""

from __future__ import annotations

from dataclasses import dataclass

from edge.runtime.classifier import Classifier
from edge.serve.live import LiveHub
from edge.serve.options import ServeOptions
from edge.serve.worker import InferenceWorker


@dataclass
class Parts:
    clf: Classifier
    options: ServeOptions
    hub: LiveHub
    worker: InferenceWorker
    metrics: object
