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


def reliability_chart(check: dict, title: str, path: Path) -> Path:
    """Reliability diagram: share correct against mean stated confidence per bin (the
    diagonal is perfect calibration), with how many questions each bin holds beneath."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = check["bins"]
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    width = bins[0]["high"] - bins[0]["low"] if bins else 0.1
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.bar(
        centres,
        [b["accuracy"] or 0.0 for b in bins],
        width=width * 0.9,
        alpha=0.75,
        label="share correct",
    )
    filled = [b for b in bins if b["count"]]
    top.plot(
        [b["mean_confidence"] for b in filled],
        [b["accuracy"] for b in filled],
        marker="o",
        color="black",
        label="share correct at the bin's mean confidence",
    )
    top.set_ylim(0, 1)
    top.set_ylabel("share correct")
    top.set_title(f"{title} (ECE {check['ece']})")
    top.legend(loc="upper left")
    bottom.bar(centres, [b["count"] for b in bins], width=width * 0.9, color="tab:orange")
    for centre, b in zip(centres, bins, strict=True):
        if b["count"]:
            bottom.annotate(str(b["count"]), (centre, b["count"]), ha="center", va="bottom")
    bottom.set_xlim(0, 1)
    bottom.set_ylim(0, 1.25 * max([b["count"] for b in bins] + [1]))
    bottom.set_xlabel("stated confidence (answer: confidence; refusal: 1 - confidence)")
    bottom.set_ylabel("questions")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
