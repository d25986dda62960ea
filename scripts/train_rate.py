"""The model's own training rate on resident tensors: the ceiling a data pipeline must feed.

`python scripts/train_rate.py --device cuda` times forward+backward+step of a zoo model on
random tensors already on the device (AMP and channels_last as the trainer uses them), so the
images/s of a real `edge train` run can be compared with what the model alone can do.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn


def rate(model_name: str, batch: int, device: str, amp: bool, channels_last: bool, steps: int = 30) -> dict:
    from edge.train.models import build_model
    from edge.train.zoo import get_entry

    entry = get_entry(model_name)
    size = entry.preprocessing.crop_size
    model = build_model(entry, 5, pretrained=False).to(device)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 5, (batch,), device=device)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float16
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device, dtype=dtype, enabled=amp and device == "cuda"):
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(5):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"model": model_name, "batch": batch, "device": device, "amp": amp, "channels_last": channels_last,
            "images_per_second": round(batch * steps / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, nargs="+", default=[32])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    for batch in args.batch:
        for amp, channels_last in ((False, False), (True, False), (True, True)):
            if args.device == "cpu" and amp:
                continue
            print(json.dumps(rate(args.model, batch, args.device, amp, channels_last, args.steps)), flush=True)


if __name__ == "__main__":
    main()
