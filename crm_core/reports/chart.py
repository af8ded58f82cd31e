"""One PNG for a phone: the pipeline by stage (bars with their values) over the activity per salesperson.

matplotlib with the Agg backend (headless: no display, no GUI toolkit) and DejaVu Sans, which ships with
matplotlib and has every Vietnamese diacritic. 720×1000 px at 200 dpi: sharp on a phone at 360 px wide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from crm_core.reports.models import RepActivity, StageFigures

WIDTH_IN, HEIGHT_IN, DPI = 3.6, 5.0, 200
FONT = "DejaVu Sans"
# Sizes in points at 200 dpi, read on a phone at 360 px (half the image's width): 8 pt is about 11 px there.
LABEL_PT, LEGEND_PT, TITLE_PT = 8, 7, 9
LEGEND_COLUMNS = 3  # five kinds in one row ran past the right edge
KIND_COLOURS = {"call": "#2a9d8f", "meeting": "#e9c46a", "email": "#f4a261", "message": "#8ab17d", "note": "#b0b0b0"}
MAX_REPS = 8


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words in the reader's language (from the text catalogue)."""

    title: str
    pipeline: str
    activity: str
    no_activity: str
    kinds: dict[str, str]
    currency: str  # the currency the pipeline bars show
    left_out: str | None = None  # a note naming the other currencies' open deals, which the bars leave out


def render_chart(path: Path, *, pipeline: list[StageFigures], activity: list[RepActivity], texts: ChartTexts,
                 language: str, money: Callable[[Decimal], str]) -> Path:
    """Draw the chart into `path` (PNG) and return it; `money` writes a bar's value the reader's way."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"font.family": FONT, "font.size": 7}):
        figure, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI,
                                             gridspec_kw={"height_ratios": [1, 1]})
        figure.suptitle(texts.title, fontsize=TITLE_PT + 1, fontweight="bold")
        _pipeline(top, pipeline, texts, language, money)
        _activity(bottom, activity[:MAX_REPS], texts)
        figure.tight_layout()
        figure.savefig(path, format="png", dpi=DPI)
        plt.close(figure)
    return path


def _pipeline(axes: object, pipeline: list[StageFigures], texts: ChartTexts, language: str,
              money: Callable[[Decimal], str]) -> None:
    ax = axes  # a matplotlib Axes (untyped library)
    names = [s.name(language) for s in pipeline]
    values = [float(s.amount.get(texts.currency, Decimal(0))) for s in pipeline]
    bars = ax.barh(names, values, color="#264653")  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_title(f"{texts.pipeline} ({texts.currency})", fontsize=TITLE_PT, loc="left")  # type: ignore[attr-defined]
    if texts.left_out:
        ax.text(0, -0.02, texts.left_out, transform=ax.transAxes, va="top", fontsize=LEGEND_PT,  # type: ignore[attr-defined]
                style="italic", wrap=True)
    ax.xaxis.set_visible(False)  # type: ignore[attr-defined]
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)  # type: ignore[attr-defined]
    peak = max(values, default=0.0) or 1.0
    ax.set_xlim(0, peak * 2.1)  # type: ignore[attr-defined]  # room for the larger labels
    for bar, stage in zip(bars, pipeline, strict=True):
        amount = stage.amount.get(texts.currency, Decimal(0))
        ax.text(bar.get_width() + peak * 0.02, bar.get_y() + bar.get_height() / 2,  # type: ignore[attr-defined]
                f"{stage.count} · {money(amount)}", va="center", fontsize=LABEL_PT)


def _activity(axes: object, activity: list[RepActivity], texts: ChartTexts) -> None:
    ax = axes
    ax.set_title(texts.activity, fontsize=TITLE_PT, loc="left")  # type: ignore[attr-defined]
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)  # type: ignore[attr-defined]
    if not activity or not any(a.total for a in activity):
        ax.text(0.5, 0.5, texts.no_activity, ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
        ax.set_xticks([])  # type: ignore[attr-defined]
        ax.set_yticks([])  # type: ignore[attr-defined]
        return
    names = [a.name for a in activity]
    left = [0] * len(activity)
    for kind, colour in KIND_COLOURS.items():
        counts = [a.by_kind.get(kind, 0) for a in activity]
        if any(counts):
            ax.barh(names, counts, left=left, color=colour, label=texts.kinds.get(kind, kind))  # type: ignore[attr-defined]
            left = [x + c for x, c in zip(left, counts, strict=True)]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    for row, (total, rep) in enumerate(zip(left, activity, strict=True)):
        change = f" ({'▲' if rep.change > 0 else '▼'}{abs(rep.change)})" if rep.change else ""
        ax.text(total + 0.1, row, f"{total}{change}", va="center", fontsize=LABEL_PT)  # type: ignore[attr-defined]
    ax.set_xlim(0, max(left) * 1.4 + 1)  # type: ignore[attr-defined]
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[attr-defined]
    ax.legend(fontsize=LEGEND_PT, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08),  # type: ignore[attr-defined]
              ncol=LEGEND_COLUMNS)
