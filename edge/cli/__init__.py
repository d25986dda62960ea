"""Command-line entry points: `edge` (all stages) and `edge-infer` (runtime only)."""
