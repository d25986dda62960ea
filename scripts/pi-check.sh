#!/usr/bin/env bash
# make pi-check: run the torch-free runtime inside an emulated 64-bit ARM Debian (Raspberry Pi OS
# is Debian bookworm arm64) and compare its predictions with this machine's, image by image.
# Needs root (debootstrap, chroot, binfmt). Slow (~10 min the first time); the root is cached in .pi/.
# PI_MODELS="model.tflite model.int8.tflite" checks only those artifacts (each takes minutes under qemu).
set -euo pipefail
EXPORT=${1:-exports/flowers5}
DATA=${2:-../shared/data/flowers5}
RUN=${3:-runs/flowers5}
ROOT=${PI_ROOT:-.pi/rootfs}
OUT=${PI_OUT:-benchmarks/pi-check}
MODEL=$EXPORT/model.int8.onnx
[ "$(id -u)" = 0 ] || { echo "error: pi-check needs root (debootstrap, chroot, binfmt_misc)"; exit 1; }
[ -f "$MODEL" ] || { echo "error: $MODEL not found; run make export first"; exit 1; }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# Let the kernel run aarch64 binaries through qemu (Debian's own binfmt line, with the F flag).
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | head -n 1 > /proc/sys/fs/binfmt_misc/register
fi

if [ ! -x "$ROOT/usr/bin/python3" ]; then
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  time debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$ROOT" http://deb.debian.org/debian
fi

# The project (runtime only), the artifact and the validation images go into the ARM root.
rm -rf "$ROOT/work"; mkdir -p "$ROOT/work/src" "$ROOT/work/model" "$ROOT/work/images"
cp -r edge pyproject.toml README.md "$ROOT/work/src/"
cp "$EXPORT/model.onnx" "$MODEL" "$EXPORT/manifest.json" "$ROOT/work/model/"
cp -r "$EXPORT/openvino-int8" "$ROOT/work/model/" 2>/dev/null || true
# the LiteRT and ncnn artifacts, when the export has them (tflite, tflite-int8, ncnn formats)
cp "$EXPORT/model.tflite" "$EXPORT/model.int8.tflite" "$ROOT/work/model/" 2>/dev/null || true
cp -r "$EXPORT/ncnn" "$ROOT/work/model/" 2>/dev/null || true
# the run's validation images (all of DATA when the run's split is not there)
python3 - "$RUN/split.json" "$DATA" "$ROOT/work/images" <<'PY' || cp -r "$DATA"/. "$ROOT/work/images/"
import json, shutil, sys
from pathlib import Path
split, data, dest = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
for rel, _ in json.loads(split.read_text())["val"]:
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / rel, target)
PY
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# This machine's CA bundle (it may hold a proxy's CA that the fresh ARM root does not know).
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-bundle.crt"

cleanup() { umount "$ROOT/proc" 2>/dev/null || true; }
trap cleanup EXIT
# /proc only: with this machine's /sys mounted, ONNX Runtime's cpuinfo parses the x86 host's CPU
# topology under qemu and segfaults on import (seen with onnxruntime 1.32 / qemu 7.2). Without it,
# cpuinfo warns and ONNX Runtime runs with the --threads it is given.
mount -t proc proc "$ROOT/proc"

# A clean environment: this machine's pip settings (find-links, config files) mean nothing there.
in_root() {  # QEMU_CPU picks the emulated core: qemu's default has every ARMv8 extension, no Pi does
  env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt QEMU_CPU="${QEMU_CPU:-max}" \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$(command -v chroot)" "$ROOT" /bin/bash -c "$1"
}
time in_root '
  set -e
  [ -x /venv/bin/pip ] || python3 -m venv /venv
  /venv/bin/pip install -q --disable-pip-version-check /work/src
  /venv/bin/pip install -q --disable-pip-version-check openvino || echo "openvino: no ARM wheel installs"
  /venv/bin/pip install -q --disable-pip-version-check ai-edge-litert || echo "ai-edge-litert: no ARM wheel installs"
  /venv/bin/pip install -q --disable-pip-version-check ncnn || echo "ncnn: no ARM wheel installs"
  /venv/bin/python -c "import platform, sys, onnxruntime, edge.runtime; assert \"torch\" not in sys.modules; print(\"arm:\", platform.machine(), \"onnxruntime\", onnxruntime.__version__)"
'
mkdir -p "$OUT"
status=0
# Pi 4: Cortex-A72 (no dot product); Pi 5: Cortex-A76 (dot product, no i8mm).
for cpu in cortex-a72 cortex-a76; do
  for model in ${PI_MODELS:-model.onnx model.int8.onnx openvino-int8/model.xml model.tflite model.int8.tflite ncnn/model.ncnn.param}; do
    tag="$cpu-$(echo "$model" | tr '/.' '__')"
    if [ ! -f "$ROOT/work/model/$model" ]; then
      echo "pi-check $tag: cannot run here (not in $EXPORT; export its format first)" | tee "$OUT/$tag.skipped"
      continue
    fi
    if ! QEMU_CPU=$cpu in_root "cd /work && /venv/bin/edge-infer model/$model images --json --top-k 1 --threads 4 \
         > /work/arm-$tag.jsonl 2> /work/arm-$tag.err"; then
      echo "pi-check $tag: cannot run here ($(tail -n 1 "$ROOT/work/arm-$tag.err"))" | tee "$OUT/$tag.skipped"
      continue
    fi
    .venv/bin/edge-infer "$EXPORT/$model" "$ROOT/work/images" --json --top-k 1 > "$OUT/x86-$tag.jsonl" 2>/dev/null
    cp "$ROOT/work/arm-$tag.jsonl" "$OUT/arm-$tag.jsonl"
    .venv/bin/python - "$OUT" "$tag" <<'PY' || status=1
import json, sys
from pathlib import Path
out, tag = Path(sys.argv[1]), sys.argv[2]
def load(name):
    rows = [json.loads(l) for l in (out / name).read_text().splitlines()]
    return {r["source"].split("images", 1)[-1].lstrip("/"): r["top"][0] for r in rows}
arm, x86 = load(f"arm-{tag}.jsonl"), load(f"x86-{tag}.jsonl")
same = sum(arm[k]["label"] == x86[k]["label"] for k in x86 if k in arm)
diff = max(abs(arm[k]["prob"] - x86[k]["prob"]) for k in x86 if k in arm)
result = {"cpu_and_artifact": tag, "images_x86": len(x86), "images_arm": len(arm), "top1_agreement": same / len(x86),
          "max_top1_prob_diff": diff,
          "differing": {k: {"arm": arm[k], "x86": x86[k]} for k in x86 if k in arm and arm[k]["label"] != x86[k]["label"]}}
(out / f"result-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"pi-check {tag}: {same}/{len(x86)} agree ({same / len(x86):.1%}), max top-1 prob diff {diff:.4f}")
# INT8 kernels differ between x86 (AVX-512 VNNI) and ARM (NEON, with or without dot product):
# requantization rounding can flip a borderline image, so the bar is 99% agreement, not bit-equality.
sys.exit(0 if len(arm) == len(x86) and same / len(x86) >= 0.99 else 1)
PY
  done
done
exit $status
