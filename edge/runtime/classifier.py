"""`Classifier`: the Python API the CLI is built on. Load once, predict many."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from edge.errors import EdgeError
from edge.manifest import Manifest, UnknownSpec, read_manifest
from edge.runtime.backends import create_backend, load_manifest_text
from edge.runtime.images import check_size, load_rgb, to_rgb
from edge.runtime.live_preprocess import as_bgr_frame, bgr_to_image
from edge.runtime.preprocess import Preprocessor
from edge.runtime.resolve import resolve_model


@dataclass
class Prediction:
    source: str
    top: list[tuple[str, float]]  # (label, probability), best first
    frame: int | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    unknown: bool = False  # none of the classes: the unknown score fell below the manifest's threshold
    score: float | None = None  # the unknown score (its kind: manifest.unknown.score); None: not available

    @property
    def label(self) -> str:
        return "unknown" if self.unknown else self.top[0][0]

    def to_dict(self) -> dict:
        data = {"source": self.source, "frame": self.frame, "label": self.label, "unknown": self.unknown,
                "top": [{"label": label, "prob": round(prob, 6)} for label, prob in self.top],
                "latency_ms": {k: round(v, 3) for k, v in self.latency_ms.items()}}
        if self.score is not None:
            data["score"] = round(self.score, 6)
        return data


Answer = tuple[list[tuple[str, float]], bool, "float | None"]  # (top-k, unknown, score)


def threshold_for(unknown: UnknownSpec, keep: float | None) -> float:
    """The manifest's threshold, or one for another in-class keep rate (interpolated in its table)."""
    if keep is None:
        return float(unknown.threshold)
    table = sorted((float(k), float(v)) for k, v in unknown.thresholds.items())
    low, high = table[0][0], table[-1][0]
    if not low <= keep <= high:  # outside the measured table an interpolation would be a guess
        raise EdgeError(f"--keep {keep}: this model's thresholds were measured for keep rates {low:g} to {high:g} "
                        f"of in-class photos; pass a value in that range (or --no-unknown)")
    return float(np.interp(keep, [k for k, _ in table], [v for _, v in table]))


def unknown_scores(raw, n: int) -> np.ndarray:
    """A model's unknown-score output as (n,) numbers. A sensor gives it as (n, 1); and a quantized graph
    (the IMX500's) divides 0 by 0 for an all-zero feature vector, whose cosine is 0 as F.normalize makes
    it in training: NaN (and a tiny vector's x/0) reads 0, unknown, never a comparison that says "known"."""
    return np.nan_to_num(np.asarray(raw, np.float32).reshape(n), nan=0.0, posinf=0.0, neginf=0.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def as_rgb_image(image, min_side: int | None = None) -> Image.Image:
    """PIL image, file path, raw bytes, or an OpenCV BGR (or grey) uint8 array -> RGB PIL image.
    `min_side`: files and bytes decode as `load_rgb` does with it (`manifest.preprocessing.decode_side`);
    images and arrays are already decoded."""
    if isinstance(image, Image.Image):
        check_size(image.size, "image")
        return to_rgb(image)
    if isinstance(image, (str, Path, bytes)):
        return load_rgb(image, min_side=min_side)
    if isinstance(image, np.ndarray):
        return bgr_to_image(as_bgr_frame(image))  # OpenCV frames are BGR
    raise EdgeError(f"cannot classify an object of type {type(image).__name__}; pass a path, PIL image or BGR array")


class Classifier:
    """`Classifier("model.int8.onnx").predict("photo.jpg")` -> Prediction(label, top, unknown, score).

    `path`: an artifact file, or an export folder, which runs what `edge-infer FOLDER` runs (one rule,
    edge.runtime.resolve): its tuned choice for this machine, timed on first use with one line on
    stderr; with `backend`, the folder's best artifact for that backend. The manifest (labels, resize,
    crop, mean/std) comes from the artifact itself, or the manifest.json beside it, or `manifest=PATH`
    when the artifact carries none. `spin_wait=False` when other threads need the cores while the
    model runs (edge-infer's folder pipeline).

    One instance may be shared by many threads (a web server's handlers): preprocessing holds no
    state, ONNX Runtime sessions are thread-safe, and the OpenVINO backend serialises its infer
    requests with a lock. For more throughput than one model gives, load one instance per worker.
    """

    def __init__(self, path: str | Path, *, backend: str | None = None, threads: int | None = None,
                 manifest: str | Path | None = None, precision: str | None = None, spin_wait: bool = True,
                 unknown: bool = True, keep: float | None = None):
        resolved = resolve_model(path, backend=backend, threads=threads)  # a folder: what edge-infer runs
        self.backend = create_backend(resolved.path, backend, resolved.threads, precision, spin_wait)
        if manifest is not None:
            self.manifest = read_manifest(manifest)
        else:
            text, where = load_manifest_text(self.backend)
            self.manifest = Manifest.from_json(text, where)
        self.preprocess = Preprocessor(self.manifest)
        self.labels = list(self.manifest.labels)
        # "unknown" needs the manifest's threshold and the model's second output; older exports have neither
        has_score = bool(self.manifest.unknown) and self.backend.output_count() > 1
        self.threshold = threshold_for(self.manifest.unknown, keep) if unknown and has_score else None

    @property
    def path(self) -> Path:
        return self.backend.path

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self._check_labels(self.backend.run(batch))

    def _check_labels(self, out: np.ndarray) -> np.ndarray:
        if out.shape[-1] != len(self.labels):
            raise EdgeError(f"{self.path}: model gives {out.shape[-1]} outputs but the manifest has "
                            f"{len(self.labels)} labels; re-export the model")
        return out

    def top_k(self, logits: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        probs = softmax(logits.astype(np.float32) / np.float32(self.manifest.temperature))
        k = min(k, len(self.labels))
        order = np.argsort(-probs, axis=1)[:, :k]
        return [[(self.labels[i], float(p[i])) for i in row] for row, p in zip(order, probs)]

    def answers(self, batch: np.ndarray, k: int) -> list[Answer]:
        """Top-k, unknown decision and score for a preprocessed batch (what every source runs)."""
        return self.decide(self.outputs(batch), k)

    def outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        """The model's outputs for a preprocessed batch: the logits, and the unknown score when one is used."""
        return [self.backend.run(batch)] if self.threshold is None else self.backend.run_all(batch)

    def decide(self, outputs: list[np.ndarray], k: int) -> list[Answer]:
        """Top-k, unknown decision and score from the model's outputs (logits, then the score): what `answers`
        does once the model ran, wherever it ran (an AI Camera's sensor: edge.runtime.imx500_camera)."""
        logits = self._check_labels(np.asarray(outputs[0]))
        if self.threshold is None:
            return [(top, False, None) for top in self.top_k(logits, k)]
        scores = unknown_scores(outputs[1], len(logits))
        return [(top, float(s) < self.threshold, float(s)) for top, s in zip(self.top_k(logits, k), scores)]

    def _rgb(self, image) -> Image.Image:
        return as_rgb_image(image, self.preprocess.decode_side)

    def _input(self, image) -> np.ndarray:
        """An array is a video or camera frame: it takes the manifest's frame path, as edge-infer's frames do."""
        if isinstance(image, np.ndarray):
            return self.preprocess.frame(image)
        return self.preprocess(self._rgb(image))

    def predict(self, images, k: int = 5):
        """One image -> its `Prediction`; a list or tuple of images -> a list of them (one batch).

        A Prediction has `label` ("unknown" when the score says none of the classes), `top` (k labels
        with probabilities), `unknown` and `score`: the same answer edge-infer prints."""
        many = isinstance(images, (list, tuple))
        items = list(images) if many else [images]
        if not items:
            return []
        batch = np.stack([self._input(image) for image in items])
        predictions = [Prediction(_source_name(image), top, unknown=unknown, score=score)
                       for image, (top, unknown, score) in zip(items, self.answers(batch, k))]
        return predictions if many else predictions[0]


def _source_name(image) -> str:
    return str(image) if isinstance(image, (str, Path)) else "image"
