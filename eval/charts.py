"""PNG charts for the reports: what a person compares at a glance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _grouped_bars(
    rows: list[dict],
    series: list[tuple[str, Callable[[dict], float]]],
    title: str,
    xlabel: str,
    path: Path,
) -> Path:
    """One horizontal group of bars per configuration, one bar per series, on a 0..1 scale."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.8))
    height = 0.8 / len(series)
    for i, (label, value) in enumerate(series):
        axes.barh(
            [y + i * height for y in range(len(rows))],
            [value(r) for r in rows],
            height=height,
            label=label,
        )
    axes.set_yticks([y + height for y in range(len(rows))], [r["name"] for r in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(series))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def retrieval_chart(results: dict, path: Path) -> Path:
    """Recall@1, Recall@5 and MRR@10 per configuration."""
    series = [(m, lambda r, m=m: r[m]) for m in ("recall@1", "recall@5", "mrr@10")]
    return _grouped_bars(
        results["configurations"], series, "Retrieval on the golden set (document level)",
        "share of answerable golden questions", path,
    )  # fmt: skip


def language_chart(results: dict, path: Path) -> Path:
    """Recall@5 by question language and for cross-lingual questions, per configuration."""
    series = [
        ("English", lambda r: r["by_language"].get("en", {}).get("recall@5", 0.0)),
        ("Chinese", lambda r: r["by_language"].get("zh", {}).get("recall@5", 0.0)),
        ("cross-lingual", lambda r: r["by_type"].get("crosslingual", {}).get("recall@5", 0.0)),
    ]
    return _grouped_bars(
        results["configurations"], series, "Recall@5 by language of the question", "Recall@5", path
    )
