"""Replace timm's run-time "same" padding with fixed padding for one input size.

timm's TF ports (`tf_efficientnet_lite0`) compute TF-style "same" padding at run time
(`Conv2dSame`). Exported as is, the ONNX graph carries a Shape/Ceil/Pad subgraph that breaks
ONNX Runtime's quantizer ("Graph is not a DAG") and slows every runtime. For a fixed input size
the padding is a constant, so `ZeroPad2d + Conv2d(padding=0)` computes exactly the same thing.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _same_pad(size: int, kernel: int, stride: int, dilation: int) -> int:
    return max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


def _is_dynamic_same(module: nn.Module) -> bool:
    return type(module).__name__ in ("Conv2dSame", "Conv2dSameExport")


def _fixed(conv: nn.Conv2d, height: int, width: int) -> nn.Sequential:
    kh, kw = conv.weight.shape[-2:]
    ph = _same_pad(height, kh, conv.stride[0], conv.dilation[0])
    pw = _same_pad(width, kw, conv.stride[1], conv.dilation[1])
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, (kh, kw), conv.stride, 0, conv.dilation,
                      conv.groups, conv.bias is not None)
    plain.load_state_dict(conv.state_dict())
    return nn.Sequential(nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)), plain)


@torch.no_grad()
def fix_same_padding(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Swap every dynamic-same conv in place for a fixed-pad one; return how many were swapped."""
    shapes: dict[str, tuple[int, int]] = {}
    hooks = [
        module.register_forward_pre_hook(lambda m, args, name=name: shapes.__setitem__(name, args[0].shape[-2:]))
        for name, module in model.named_modules() if _is_dynamic_same(module)
    ]
    try:
        model(torch.zeros(1, *input_size))
    finally:
        for hook in hooks:
            hook.remove()
    for name, (height, width) in shapes.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, _fixed(model.get_submodule(name), int(height), int(width)))
    return len(shapes)
