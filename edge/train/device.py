"""Where training runs: CPU or CUDA, mixed precision, and DDP when launched by torchrun."""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from edge.errors import EdgeError


@dataclass(frozen=True)
class TrainDevice:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full fp32
    use_scaler: bool  # fp16 needs loss scaling; bf16 does not
    channels_last: bool
    pin_memory: bool
    num_workers: int
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)


def _pick_device(requested: str, local_rank: int) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise EdgeError("--device cuda asked for, but no CUDA GPU is visible; use --device cpu")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def _workers(requested: int, device: torch.device, world_size: int) -> int:
    if requested >= 0:
        return requested
    if device.type == "cpu":
        return 0  # decoded images are cached in RAM; a worker would fight the model for the cores
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores // max(1, world_size) - 1))


def rank_from_env() -> int:
    """This process's rank under torchrun (RANK), 0 when run alone: rank 0 talks and writes."""
    return int(os.environ.get("RANK", "0"))


def setup_device(requested_device: str, amp: bool, channels_last: bool, num_workers: int) -> TrainDevice:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = rank_from_env()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = _pick_device(requested_device, local_rank)
    if world_size > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    amp_dtype, scaler = None, False
    if device.type == "cuda" and amp:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        scaler = amp_dtype == torch.float16
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return TrainDevice(device, amp_dtype, scaler, channels_last, device.type == "cuda",
                   _workers(num_workers, device, world_size), rank, world_size, local_rank)


def teardown(dev: TrainDevice) -> None:
    if dev.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
