import json
import os
import sys
import time

from edge.train.config import TrainConfig
from edge.train.run import train

out = sys.argv[1]
configs = {
    "A-default": {}, "B-bb3e-4": {"max_lr_backbone": 3e-4}, "C-bb1e-3": {"max_lr_backbone": 1e-3},
    "D-livebn": {"freeze_bn": False},
    "F-auto": {"strategy": "auto", "epochs": 8},
}
for seed in (0, 1):
    for name, over in configs.items():
        kw = dict(data=".gpu/flowers5", out=f"/tmp/sweep/{name}-{seed}", strategy="finetune", epochs=10, seed=seed,
                  device="cuda", num_workers=6)
        kw.update(over)
        t = time.time()
        r = train(TrainConfig(**kw), log=lambda *a: None)
        hist = [round(h["val_accuracy"], 3) for h in r.metrics["history"] if h["phase"] == "finetune"]
        row = {"config": name, "seed": seed, "best": round(r.val_accuracy, 4), "last": hist[-1], "hist": hist,
               "seconds": round(time.time() - t, 1)}
        print(json.dumps(row), flush=True)
        open(os.path.join(out, "sweep.jsonl"), "a").write(json.dumps(row) + "\n")
