"""bench.md and bench.png from a bench result."""

from __future__ import annotations

from pathlib import Path

from edge.atomic import atomic_path
from edge.bench import glass

COLUMNS = ("format", "precision", "latency_ms_p50", "latency_ms_p90", "floor_ms", "floor_bound", "throughput_ips",
           "best_batch", "accuracy", "accuracy_drop", "top1_agreement", "size_mb", "peak_rss_mb", "peak_rss_is", "load_seconds")


def quality(result: dict) -> tuple[str, str]:
    """(row key, what it is) for the bench's quality axis: accuracy only on photos no training saw."""
    n = result["images"]
    if result.get("photos_held_out"):
        return "accuracy", f"accuracy on {n} held-out photos"
    return "top1_agreement", f"top-1 agreement with PyTorch on {n} photos the head was trained on"


def columns(result: dict) -> tuple[str, ...]:
    hidden = () if result.get("photos_held_out") else ("accuracy", "accuracy_drop")
    return tuple(c for c in COLUMNS if c not in hidden)


def markdown(result: dict) -> str:
    m = result["machine"]
    cols = columns(result)
    lines = [f"# edge bench: {result['run']}", "",
             f"Machine: {m['cpu']} ({m['arch']}, {m['cores']} cores, {m['threads']} threads used; "
             f"ISA {', '.join(m['isa']) or '-'}), {result['images']} validation images, {result['created']}.",
             f"Model {m['model_gflops']} GFLOP/image; measured peaks fp32 {m['peak_fp32_gflops']} GFLOP/s, "
             f"int8 {m['peak_int8_gops']} GOP/s, memory {m.get('memory_gbs', '-')} GB/s (floor = the larger of "
             "FLOPs / peak and weight bytes / bandwidth).",
             f"Photos: {result.get('accuracy_photos_note', 'the run validation split')}.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in result["rows"]:
        cells = [str(row.get(c, "")) for c in cols]
        if row.get("slower_than_fp32"):
            cells[0] += " (INT8 slower than FP32!)"
        lines.append("| " + " | ".join(cells) + " |")
    peers = [r for r in result["rows"] if r.get("peer")]
    if peers:
        lines += ["", "Peers (each library's documented default path, same model and photos):"]
        lines += [f"- {r['format']}: {r['note']}" for r in peers]
    lines += glass.markdown_lines(result)
    return "\n".join(lines) + "\n"


COLOURS = {"pytorch": "tab:gray", "torchscript": "tab:brown", "onnx": "tab:blue", "onnx-int8": "tab:cyan",
           "openvino": "tab:purple", "openvino-int8": "tab:pink"}  # fixed per format: same colour every run


def plot(result: dict, path: Path) -> None:
    """Accuracy vs batch-1 latency, each accuracy with its 95 % interval over the images it came from."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from edge.estimate import wilson_interval

    n = result["images"]
    key, label = quality(result)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, row in enumerate(sorted(result["rows"], key=lambda r: r["latency_ms_p50"])):
        acc = 100 * row[key]
        low, high = wilson_interval(row[key] * n, n)
        colour = COLOURS.get(row["format"], "tab:orange" if row.get("peer") else "black")
        marker = "s" if row.get("peer") else "o"
        ax.errorbar(row["latency_ms_p50"], acc, yerr=[[acc - 100 * low], [100 * high - acc]], fmt=marker,
                    color=colour, capsize=3, markersize=7)
        ax.annotate(row["format"], (row["latency_ms_p50"], acc), textcoords="offset points",
                    xytext=(6, 8 if i % 2 else -14), fontsize=8)  # alternate above/below: neighbours in latency
    ax.set_xscale("log")
    for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
        axis(matplotlib.ticker.FormatStrFormatter("%g"))  # 3, 5, 10 ms rather than 3x10^0
    accs = [100 * r[key] for r in result["rows"]]
    ax.set_ylim(max(0, min(accs) - 12), min(100, max(accs) + 6))  # intervals fit; one photo is no cliff
    lat = [r["latency_ms_p50"] for r in result["rows"]]
    ax.set_xlim(min(lat) / 1.4, max(lat) * 1.8)  # room for the labels of the outermost points
    ax.set_xlabel("latency p50, batch 1 (ms, log scale)")
    ax.set_ylabel(f"{label} (%), 95% CI", fontsize=8)
    ax.set_title(f"{key.replace('top1_', '')} vs latency ({result['machine']['cpu'][:40]})")
    ax.grid(True, alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
