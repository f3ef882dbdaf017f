"""What every table and plot of the bench report shares: number formats, ratios, saved figures."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # files only: no display on build machines
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def ratio(x402: float, aep2: float) -> str:
    """How aep2's figure compares with x402's, said the way round it goes."""
    return f"{x402 / aep2:,.1f}x less" if aep2 < x402 else f"{aep2 / x402:,.1f}x more"


def save(
    fig: Figure,
    ax: Axes,
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    legend_loc: Literal["best", "lower left"] = "best",
) -> Path:
    """Labels, grid and legend as every plot of the report has them; written to ``path``."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
