"""The model as the IMX500 converter takes it: the unknown score rewritten in operations the chip runs.

The open-set model's score is `max_c(normalize(f) @ u_c)`. The converter refuses both halves of it:
`normalize` exports as ReduceL2 over the only non-batch axis ("input shape rank must have at least
two other dimensions not stated in axes list"), and its MatMul takes only 3-D inputs. The same number
is `max_c(f . u_c) / |f|`: the unit class means become a bias-free `nn.Linear` (a Gemm, as the
classifier is), and the norm is taken over a (N, D, 1) view, which leaves the converter its second
axis. In float it matches the training score to 2.4e-7 on flowers5 Lite0; the logits are untouched.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edge.errors import EdgeError
from edge.manifest import Manifest

# The input the chip is fed: one signed 8-bit value per channel in steps of 1/128, i.e. pixel/127.5 - 1
# (mean 0.5, std 0.5 on 0..1 pixels: EfficientNet-Lite's own normalisation, and the input scale the
# converter chose for it). A model normalised otherwise gets its normalisation as the graph's first op,
# so nothing on the Pi has to know the manifest's mean and std. (Not checked on a sensor: see README.)
SENSOR_MEAN, SENSOR_STD = 0.5, 0.5


class SensorScore(nn.Module):
    """`max_c(f . u_c) / |f|` for pooled features f (N, D) and unit class means u (C, D) -> (N, 1).

    (N, 1), not (N,): the converter fails on an output with no axis beyond the batch ("0 is out of
    bounds (empty vector)" in its DSP advisor); whoever reads the score flattens it."""

    def __init__(self, unit_means: torch.Tensor):
        super().__init__()
        self.means = nn.Linear(unit_means.shape[1], unit_means.shape[0], bias=False)
        with torch.no_grad():
            self.means.weight.copy_(unit_means)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        similarity = self.means(features).amax(1, keepdim=True)
        norm = torch.linalg.vector_norm(features.unsqueeze(-1), dim=1)  # (N, 1): ReduceL2 over axis 1 of 3
        return similarity / norm


class SensorModel(nn.Module):
    """(logits, unknown score) from the backbone, the classifier and the rewritten cosine score."""

    def __init__(self, backbone: nn.Module, head: nn.Module, unit_means: torch.Tensor):
        super().__init__()
        self.backbone, self.head, self.score = backbone, head, SensorScore(unit_means)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return self.head(features), self.score(features)


class SensorInput(nn.Module):
    """The sensor's input (pixel/127.5 - 1) -> the model's ((pixel/255 - mean) / std), per channel."""

    def __init__(self, manifest: Manifest):
        super().__init__()
        scale, shift = _affine(manifest)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def _affine(manifest: Manifest) -> tuple[np.ndarray, np.ndarray]:
    mean, std = np.array(manifest.preprocessing.mean), np.array(manifest.preprocessing.std)
    return SENSOR_STD / std, (SENSOR_MEAN - mean) / std


def sensor_normalised(manifest: Manifest) -> bool:
    pre = manifest.preprocessing
    return pre.mean == (SENSOR_MEAN,) * 3 and pre.std == (SENSOR_STD,) * 3


def to_sensor_input(x: np.ndarray, manifest: Manifest) -> np.ndarray:
    """Photos preprocessed as the manifest says -> what the sensor feeds the network (the inverse of SensorInput)."""
    if sensor_normalised(manifest):
        return x
    scale, shift = _affine(manifest)
    return ((x - shift.reshape(1, 3, 1, 1)) / scale.reshape(1, 3, 1, 1)).astype(np.float32)


def sensor_model(model: nn.Module, manifest: Manifest) -> nn.Module:
    """The model the converter takes: the open-set score rewritten, and fed the sensor's input."""
    from edge.train.openset import OpenSetModel

    if isinstance(model, OpenSetModel):
        if model.standardise is not None:
            raise EdgeError("imx500: the 'cosine+softmax' unknown score has no IMX500 form yet; train with "
                            "--unknown-score cosine (the default) to export for the AI Camera")
        model = SensorModel(model.backbone, model.head, model.unit_means)
    return (model if sensor_normalised(manifest) else nn.Sequential(SensorInput(manifest), model)).eval()
