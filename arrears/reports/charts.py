"""Charts of the report as PNG bytes (matplotlib, headless Agg backend; pure over plain data)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

STAGE_COLOURS = {"current": "#9ccc65", "pre_due": "#4fc3f7", "M1": "#ffd54f", "M2": "#ffb74d", "M3": "#ff8a65",
                 "M3+": "#e53935"}  # fmt: skip


def _figure(width: float = 7.0, height: float = 3.2):  # type: ignore[no-untyped-def]
    import matplotlib  # noqa: PLC0415 - heavy, and the Agg backend must be chosen before pyplot loads

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # noqa: PLC0415 - after the backend is chosen

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return plt, fig, ax


def _png(plt, fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no version stamp: stable bytes
    plt.close(fig)
    return buf.getvalue()


def stage_distribution(series: Mapping[date, Mapping[str, int]], stages: Sequence[str]) -> bytes:
    """Loans per stage over the run days (stacked; 'current' left out: it dwarfs the rest)."""
    plt, fig, ax = _figure()
    days = sorted(series)
    shown = [s for s in stages if s != "current"]
    values = [[series[d].get(s, 0) for d in days] for s in shown]
    ax.stackplot(days, values, labels=shown, colors=[STAGE_COLOURS.get(s, "#90a4ae") for s in shown])
    ax.set_ylabel("loans")
    ax.set_title("Delinquent loans by stage")
    ax.legend(loc="upper left", fontsize=7, ncol=len(shown))
    from matplotlib import dates as mdates  # noqa: PLC0415 - heavy: only when a report is drawn

    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(days) // 8)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    fig.autofmt_xdate()
    return _png(plt, fig)


def roll_rates(matrix: Mapping[tuple[str, str], int], stages: Sequence[str]) -> bytes:
    """Share of each stage's loans (rows: stage then) in each stage now (columns)."""
    plt, fig, ax = _figure(5.5, 4.2)
    grid = []
    for a in stages:
        total = sum(matrix.get((a, b), 0) for b in stages)
        grid.append([matrix.get((a, b), 0) / total if total else 0.0 for b in stages])
    ax.imshow(grid, cmap="Oranges", vmin=0, vmax=1)
    ax.set_xticks(range(len(stages)), stages, fontsize=7)
    ax.set_yticks(range(len(stages)), stages, fontsize=7)
    ax.set_xlabel("stage now")
    ax.set_ylabel("stage then")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=6)
    ax.set_title("Roll rates")
    return _png(plt, fig)


def bars(values: Mapping[str, Decimal | int], title: str, unit: str = "", percent: bool = False) -> bytes:
    plt, fig, ax = _figure(6.0, 2.8)
    names = list(values)
    numbers = [float(values[n]) * (100 if percent else 1) for n in names]
    ax.barh(names, numbers, color="#5c6bc0")
    for i, v in enumerate(numbers):
        ax.text(v, i, f" {v:.1f}{'%' if percent else ''}", va="center", fontsize=7)
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.invert_yaxis()
    if not names:
        ax.text(0.5, 0.5, "none in this period", ha="center", va="center", transform=ax.transAxes)
    return _png(plt, fig)
