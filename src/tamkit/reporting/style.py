"""One place for how tamkit's figures are made.

Figures are :class:`matplotlib.figure.Figure` objects drawn without :mod:`matplotlib.pyplot`, so
that making a figure never selects a backend, opens a window or leaves global state behind; they
save through the Agg canvas that ``Figure.savefig`` attaches on its own.
"""

from __future__ import annotations

from typing import Any


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(6.4, 4.4), layout="constrained",
               **subplot_kw: Any):
    """A figure and its axes, as ``pyplot.subplots`` returns them, without pyplot.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : tuple of float
        Figure size (inches).
    layout : str
        Matplotlib layout engine.
    **subplot_kw
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``sharex``, ``squeeze``...).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def close(fig) -> None:
    """Release a figure's memory (no pyplot registry is involved; clearing is enough)."""
    fig.clear()
