#!/usr/bin/env bash
# The GPU training path, measured: the model's own fwd+bwd rate on resident tensors, then a real
# `edge train --strategy finetune --device cuda` run (AMP + channels_last) on the same data.
# Usage: scripts/gpu-check.sh DATA OUT [EPOCHS]
set -euo pipefail
DATA=${1:?data folder}; OUT=${2:?output folder}; EPOCHS=${3:-5}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi -L
python3 -c "import torch, torchvision, timm; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'timm', timm.__version__, torch.cuda.get_device_name())"
python3 scripts/train_rate.py --device cuda --batch 32 64 | tee "$OUT/train_rate.jsonl"
for bs in 32 64; do
  python3 -m edge.cli.main train "$DATA" --out "/tmp/run-gpu-$bs" --strategy finetune --epochs "$EPOCHS" \
    --device cuda --batch-size "$bs" 2>&1 | tee "$OUT/train_gpu_bs$bs.log"
  cp "/tmp/run-gpu-$bs/metrics.json" "$OUT/metrics_gpu_bs$bs.json"
done
