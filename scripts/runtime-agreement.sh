#!/usr/bin/env bash
# Runtime-only venv vs PyTorch on every photo of DATA: edge-infer (no torch) on each artifact,
# then the run's PyTorch model on the same files; agreement and accuracy per artifact.
# Usage: scripts/runtime-agreement.sh [RUN] [EXPORT] [DATA] [OUT]
set -euo pipefail
RUN=${1:-runs/flowers5}; EXPORT=${2:-exports/flowers5}; DATA=${3:-../shared/data/flowers5}
OUT=${4:-benchmarks/runtime_agreement}
mkdir -p "$OUT"
for artifact in model.onnx model.int8.onnx openvino/model.xml openvino-int8/model.xml; do
  name=$(echo "$artifact" | tr '/.' '__')
  .venv-runtime/bin/edge-infer "$EXPORT/$artifact" "$DATA" --json --top-k 1 --summary-json "$OUT/$name.summary.json" \
    > "$OUT/$name.jsonl"
done
.venv/bin/python - "$RUN" "$EXPORT" "$DATA" "$OUT" <<'PY'
import json, sys
from pathlib import Path
import torch
from edge.runtime.images import load_rgb
from edge.train import checkpoint
from edge.train.data import Split
from edge.train.transforms import val_transform
run, export, data, out = map(Path, sys.argv[1:])
payload = checkpoint.load(run)
m, model = payload["manifest"], checkpoint.rebuild(payload)
tf = val_transform(m.preprocessing)
val = {str(s.path.resolve()) for s in Split.load(run / "split.json").val}
rows = {}
with torch.no_grad():
    for line in (out / "model_onnx.jsonl").read_text().splitlines():
        src = json.loads(line)["source"]
        rows[src] = m.labels[int(model(tf(load_rgb(src, min_side=m.preprocessing.decode_side))[None]).argmax())]
result = {"images": len(rows), "val_images": sum(str(Path(s).resolve()) in val for s in rows)}
truth = {s: Path(s).parent.name for s in rows}
def acc(pred, keys): return sum(pred[k] == truth[k] for k in keys) / len(keys)
val_keys = [s for s in rows if str(Path(s).resolve()) in val]
result["pytorch"] = {"accuracy_all": acc(rows, rows), "accuracy_val": acc(rows, val_keys)}
for f in sorted(out.glob("*.jsonl")):
    pred = {json.loads(l)["source"]: json.loads(l)["top"][0]["label"] for l in f.read_text().splitlines()}
    result[f.stem] = {"top1_agreement": sum(pred[k] == rows[k] for k in rows) / len(rows),
                      "accuracy_all": acc(pred, rows), "accuracy_val": acc(pred, val_keys),
                      "fps": json.loads((out / f"{f.stem}.summary.json").read_text())["fps"]}
(out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
PY
