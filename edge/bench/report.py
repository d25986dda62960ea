"""bench.md and bench.png from a bench result."""

from __future__ import annotations

from pathlib import Path

from edge.atomic import atomic_path

COLUMNS = ("format", "precision", "latency_ms_p50", "latency_ms_p90", "floor_ms", "throughput_ips", "best_batch",
           "accuracy", "accuracy_drop", "top1_agreement", "size_mb", "peak_rss_mb", "load_seconds")


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# edge bench: {result['run']}", "",
             f"Machine: {m['cpu']} ({m['arch']}, {m['cores']} cores, {m['threads']} threads used; "
             f"ISA {', '.join(m['isa']) or '-'}), {result['images']} validation images, {result['created']}.",
             f"Model {m['model_gflops']} GFLOP/image; measured peaks fp32 {m['peak_fp32_gflops']} GFLOP/s, "
             f"int8 {m['peak_int8_gops']} GOP/s (floor = FLOPs / peak).", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in result["rows"]:
        cells = [str(row.get(c, "")) for c in COLUMNS]
        if row.get("slower_than_fp32"):
            cells[0] += " (INT8 slower than FP32!)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, row in enumerate(sorted(result["rows"], key=lambda r: r["latency_ms_p50"])):
        ax.scatter(row["latency_ms_p50"], 100 * row["accuracy"], s=60)
        ax.annotate(row["format"], (row["latency_ms_p50"], 100 * row["accuracy"]), textcoords="offset points",
                    xytext=(5, 6 if i % 2 else -12))  # alternate above/below: neighbours in latency
    ax.set_xscale("log")
    for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
        axis(matplotlib.ticker.FormatStrFormatter("%g"))  # 3, 5, 10 ms rather than 3x10^0
    ax.set_xlabel("latency p50, batch 1 (ms, log scale)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(f"accuracy vs latency ({result['machine']['cpu'][:40]})")
    ax.grid(True, alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
