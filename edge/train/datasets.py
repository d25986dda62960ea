"""Datasets over a split. Train and val are separate objects with their own transform.

The classic bug - `val_ds.dataset.transform = val_tf` on a random_split, which silently changes
the training subset's transform too - cannot happen: no object is shared between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image
from torch.utils.data import Dataset

from edge.runtime.images import load_rgb
from edge.train.data import Sample


class ImageDataset(Dataset):
    def __init__(self, samples: Sequence[Sample], transform: Callable, cache: bool = True, *, min_side: int | None):
        """`min_side`: the run's `preprocessing.decode_side` (required, so no loader decodes unlike the runtime)."""
        self.samples = list(samples)
        self.transform = transform
        self.min_side = min_side
        # Decoded images kept in RAM: small datasets re-decode the same JPEGs every epoch otherwise.
        self._cache: dict[int, Image.Image] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> Image.Image:
        if self._cache is None:
            return load_rgb(self.samples[index].path, min_side=self.min_side)
        if index not in self._cache:
            self._cache[index] = load_rgb(self.samples[index].path, min_side=self.min_side)
        return self._cache[index]

    def preload(self) -> ImageDataset:
        """Decode everything now, in this process: DataLoader workers forked afterwards share the
        decoded images (copy-on-write) instead of each decoding them again."""
        if self._cache is not None:
            for index in range(len(self)):
                self.image(index)
        return self

    def __getitem__(self, index: int):
        return self.transform(self.image(index)), self.samples[index].label

    @property
    def labels(self) -> list[int]:
        return [s.label for s in self.samples]
