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


def roll_shares(matrix: Mapping[tuple[str, str], int], stages: Sequence[str]) -> list[list[float | None]]:
    """Each row's loans (stage then) as shares of the row in each stage now; None for a row
    with no loans (there is nothing to divide: not 0 %)."""
    grid: list[list[float | None]] = []
    for a in stages:
        total = sum(matrix.get((a, b), 0) for b in stages)
        grid.append([matrix.get((a, b), 0) / total if total else None for b in stages])
    return grid


def roll_rates(matrix: Mapping[tuple[str, str], int], stages: Sequence[str]) -> bytes:
    """Share of each stage's loans (rows: stage then) in each stage now (columns), as
    percentages with the loan counts; rows without loans say so."""
    plt, fig, ax = _figure(6.4, 4.6)
    grid = roll_shares(matrix, stages)
    ax.imshow([[v or 0.0 for v in row] for row in grid], cmap="Oranges", vmin=0, vmax=1)
    ax.set_xticks(range(len(stages)), stages, fontsize=9)
    ax.set_yticks(range(len(stages)), stages, fontsize=9)
    ax.set_xlabel("stage on the last run day", fontsize=9)
    ax.set_ylabel("stage on the run day before", fontsize=9)
    for i, row in enumerate(grid):
        a = stages[i]
        if all(v is None for v in row):
            ax.text((len(stages) - 1) / 2, i, "no loans", ha="center", va="center", fontsize=8, color="#777")
            continue
        for j, v in enumerate(row):
            n = matrix.get((a, stages[j]), 0)
            if n:
                colour = "white" if (v or 0) > 0.6 else "#222"
                ax.text(j, i, f"{v:.0%}\n({n})", ha="center", va="center", fontsize=8, color=colour)
    ax.set_title("Roll rates (share of each row's loans)", fontsize=10, pad=10)
    return _png(plt, fig)


def _scaled(value: Decimal | int | None, percent: bool) -> float | None:
    return None if value is None else float(value) * (100 if percent else 1)


def _label(v: float, percent: bool, integer: bool) -> str:
    if percent:
        return f" {v:.1f} %"
    return f" {int(v)}" if integer else f" {v:.1f}"


def bars(
    values: Mapping[str, Decimal | int | None], title: str, unit: str = "", percent: bool = False
) -> bytes:
    """Horizontal bars; a value of None is shown as "no data" (no bar: a missing rate is not 0 %);
    counts as integers, other figures to one decimal."""
    plt, fig, ax = _figure(6.4, max(2.2, 0.9 + 0.36 * len(values)))
    names = list(values)
    numbers = [_scaled(values[n], percent) for n in names]
    integer = all(isinstance(values[n], int) for n in names if values[n] is not None)
    ax.barh(names, [v or 0.0 for v in numbers], color="#5c6bc0")
    top = max([v for v in numbers if v is not None] or [1.0]) or 1.0
    ax.set_xlim(0, top * 1.25)  # room for the labels inside the frame
    for i, v in enumerate(numbers):
        if v is None:
            ax.text(0, i, " no data", va="center", fontsize=8, color="#777", style="italic")
        else:
            ax.text(v, i, _label(v, percent, integer), va="center", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit or ("%" if percent else ""), fontsize=8)
    ax.invert_yaxis()
    if not names:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "none in this period", ha="center", va="center", transform=ax.transAxes)
    return _png(plt, fig)


def experiment_arms(rates: Mapping[str, Mapping[str, float | None]], title: str) -> bytes:
    """Grouped horizontal bars: each measure (cure rate, recovery rate, ...) with a bar per arm, in %;
    "no data" where an arm has nothing to divide (no bar)."""
    measures = list(rates)
    arms = list(next(iter(rates.values()), {}))
    plt, fig, ax = _figure(6.8, max(2.4, 0.9 + 0.32 * len(measures) * max(1, len(arms))))
    height = 0.8 / max(1, len(arms))
    colours = ["#5c6bc0", "#ef6c00", "#2e7d32", "#8e24aa"]
    for j, arm in enumerate(arms):
        ys = [i + j * height for i in range(len(measures))]
        values = [rates[m].get(arm) for m in measures]
        ax.barh(ys, [(v or 0.0) * 100 for v in values], height=height, color=colours[j % len(colours)], label=arm)
        for y, v in zip(ys, values, strict=True):
            text = " no data" if v is None else f" {v * 100:.1f}%"
            ax.text((v or 0.0) * 100, y, text, va="center", fontsize=7, color="#777" if v is None else "#111")
    ax.set_yticks([i + height * (len(arms) - 1) / 2 for i in range(len(measures))], measures, fontsize=8)
    top = max([(v or 0.0) * 100 for r in rates.values() for v in r.values()] or [1.0]) or 1.0
    ax.set_xlim(0, top * 1.3)
    ax.set_xlabel("%", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.invert_yaxis()
    return _png(plt, fig)
