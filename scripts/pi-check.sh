#!/usr/bin/env bash
# make pi-check: run the torch-free runtime inside an emulated 64-bit ARM Debian (Raspberry Pi OS
# is Debian bookworm arm64) and compare its predictions with this machine's, image by image.
# Needs root (debootstrap, chroot, binfmt). Slow (~10 min the first time); the root is cached in .pi/.
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
cp "$MODEL" "$EXPORT/manifest.json" "$ROOT/work/model/"
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
time env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt \
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$(command -v chroot)" "$ROOT" /bin/bash -c '
  set -e
  [ -x /venv/bin/pip ] || python3 -m venv /venv
  /venv/bin/pip install -q --disable-pip-version-check /work/src
  /venv/bin/python -c "import platform, sys, onnxruntime, edge.runtime; assert \"torch\" not in sys.modules; print(\"arm:\", platform.machine(), \"onnxruntime\", onnxruntime.__version__)"
  cd /work && time /venv/bin/edge-infer model/model.int8.onnx images --json --top-k 1 --threads 4 > /work/arm.jsonl
'
mkdir -p "$OUT"
# The same artifact on this x86 machine, then compare image by image.
.venv/bin/edge-infer "$MODEL" "$ROOT/work/images" --json --top-k 1 > "$OUT/x86.jsonl"
cp "$ROOT/work/arm.jsonl" "$OUT/arm.jsonl"
.venv/bin/python - "$OUT" "$ROOT/work/images" <<'PY'
import json, sys
from pathlib import Path
out, images = Path(sys.argv[1]), sys.argv[2]
def load(name, prefix):
    rows = [json.loads(l) for l in (out / name).read_text().splitlines()]
    return {r["source"].split(prefix, 1)[-1].lstrip("/"): r["top"][0] for r in rows}
arm, x86 = load("arm.jsonl", "images"), load("x86.jsonl", "images")
same = sum(arm[k]["label"] == x86[k]["label"] for k in x86 if k in arm)
diff = max(abs(arm[k]["prob"] - x86[k]["prob"]) for k in x86 if k in arm)
truth = sum(k.split("/")[0] == arm[k]["label"] for k in arm)
x86_truth = sum(k.split("/")[0] == x86[k]["label"] for k in x86)
differ = {k: {"arm": arm[k], "x86": x86[k]} for k in x86 if k in arm and arm[k]["label"] != x86[k]["label"]}
result = {"images_x86": len(x86), "images_arm": len(arm), "top1_agreement": same / len(x86),
          "max_top1_prob_diff": diff, "arm_accuracy": truth / len(arm), "x86_accuracy": x86_truth / len(x86),
          "differing": differ}
(out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
print("pi-check:", json.dumps(result))
# INT8 kernels differ between x86 (AVX-512 VNNI) and ARM (NEON): requantization rounding can flip a
# borderline image, so the bar is 98% agreement, not bit-equality.
sys.exit(0 if len(arm) == len(x86) and same / len(x86) >= 0.98 else 1)
PY
