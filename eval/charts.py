"""PNG charts for the reports: what a person compares at a glance."""

from __future__ import annotations

from pathlib import Path


def retrieval_chart(results: dict, path: Path) -> Path:
    """Grouped bars: Recall@1, Recall@5 and MRR@10 per configuration."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    rows = results["configurations"]
    names = [row["name"] for row in rows]
    metrics = ["recall@1", "recall@5", "mrr@10"]
    figure, axes = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.8))
    height = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        positions = [y + i * height for y in range(len(rows))]
        axes.barh(positions, [row[metric] for row in rows], height=height, label=metric)
    axes.set_yticks([y + height for y in range(len(rows))], names)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of answerable golden questions")
    axes.set_title("Retrieval on the golden set (document level)")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def language_chart(results: dict, path: Path) -> Path:
    """Recall@5 by question language and for cross-lingual questions, per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["configurations"]
    groups = [
        ("English", lambda r: r["by_language"].get("en", {}).get("recall@5", 0.0)),
        ("Chinese", lambda r: r["by_language"].get("zh", {}).get("recall@5", 0.0)),
        ("cross-lingual", lambda r: r["by_type"].get("crosslingual", {}).get("recall@5", 0.0)),
    ]
    figure, axes = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.8))
    height = 0.8 / len(groups)
    for i, (label, value) in enumerate(groups):
        axes.barh(
            [y + i * height for y in range(len(rows))],
            [value(r) for r in rows],
            height=height,
            label=label,
        )
    axes.set_yticks([y + height for y in range(len(rows))], [r["name"] for r in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("Recall@5")
    axes.set_title("Recall@5 by language of the question")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
