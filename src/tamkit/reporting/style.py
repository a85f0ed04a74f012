"""One place for how tamkit's figures look: palette, regime colours, delay axes, legends, saving.

Figures are :class:`matplotlib.figure.Figure` objects drawn without :mod:`matplotlib.pyplot`, so
that making a figure never selects a backend, opens a window or leaves global state behind; they
save through the Agg canvas that ``Figure.savefig`` attaches on its own.

Layout is fixed margins in inches (``subplots_adjust``), which is fast; a legend goes to the right
of the axes, outside the data, when the figure asks for room for it. Every figure is saved as a
PNG and a vector twin (SVG) beside it (:func:`save_figure`).

The palette is Okabe & Ito's colour-blind-safe set (Okabe & Ito, "Color Universal Design", 2008;
Wong, Nat. Methods 8, 441 (2011)); a transport regime has one colour by its name in every figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tamkit.core.outputs import format_delay

__all__ = ["OKABE_ITO", "CYCLE", "SERIES_COLOURS", "regime_colour", "format_delay", "format_pm",
           "new_figure", "legend_outside", "delay_axis", "log_points", "save_figure", "close"]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
#: colours for series members and curves without a regime (yellow last: weak on white)
CYCLE = tuple(OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky",
                                     "black", "yellow"))
#: colours of the stacks of a series, lowest value first (the first three as the paper's Fig. 3a
#: fluences: blue, orange, vermillion)
SERIES_COLOURS = tuple(OKABE_ITO[k] for k in ("blue", "orange", "vermillion", "green", "purple",
                                              "sky", "black"))
_REGIME_BASE = {"band-like": "vermillion", "super-diffusive": "orange", "diffusive": "blue",
                "sub-diffusive": "green"}
_REGIME_REPEAT = ("purple", "sky", "black")


def regime_colour(name: str) -> str:
    """The colour of a transport regime by its name (``"sub-diffusive 2"``: the second one).

    The same name has the same colour in every figure; a repeated name (``"... 2"``) gets a
    colour of its own, so that two regimes of one figure never share one.
    """
    base, _, count = str(name).rpartition(" ")
    if not count.isdigit():
        base, count = str(name), "1"
    n = int(count)
    if n == 1 and base in _REGIME_BASE:
        return OKABE_ITO[_REGIME_BASE[base]]
    return OKABE_ITO[_REGIME_REPEAT[(n - 2 + len(base)) % len(_REGIME_REPEAT)]]


def shape_sys_text(sys: float | None, unit: str = "") -> str:
    """``"± 41 fs (turn shape)"`` for a nonzero turn-shape systematic, else ``""``."""
    if sys is None or not np.isfinite(sys) or sys <= 0:
        return ""
    digits = min(max(0, 1 - int(np.floor(np.log10(sys)))), 6)
    unit = f" {unit}" if unit else ""
    return f"± {sys:.{digits}f}{unit} (turn shape)"


def with_shape_sys(text: str, sys: float | None, unit: str = "") -> str:
    """``"277 ± 23 fs"`` -> ``"277 ± 23 fs (stat) ± 41 fs (turn shape)"`` where the turn-shape
    systematic is nonzero."""
    extra = shape_sys_text(sys, unit)
    return f"{text} (stat) {extra}" if extra else text


def format_pm(value: float, err: float | None, unit: str = "") -> str:
    """``value ± err unit`` rounded to the error's precision (two significant digits).

    A missing error is written out ("error not determined") rather than as ``± 0.00``.
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    unit = f" {unit}" if unit else ""
    if err is None or not np.isfinite(err) or err <= 0:
        return f"{value:.3g}{unit} (error not determined)"
    decimals = max(0, 1 - int(np.floor(np.log10(err))))
    if decimals > 6:
        return f"{value:.2g} ± {err:.2g}{unit}"
    return f"{value:.{decimals}f} ± {err:.{decimals}f}{unit}"


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(6.4, 4.4), legend_in: float = 0.0,
               layout: str | None = None, margins: dict | None = None, **subplot_kw: Any):
    """A figure and its axes, as ``pyplot.subplots`` returns them, without pyplot.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : tuple of float
        Figure size (inches), the legend column included.
    legend_in : float
        Width (inches) kept free on the right for a legend outside the axes
        (:func:`legend_outside`).
    layout : str, optional
        A matplotlib layout engine ("constrained"); None (default): fixed margins, fast.
    margins : dict, optional
        Margins in inches (``left``, ``right``, ``bottom``, ``top``) and ``wspace``/``hspace``.
    **subplot_kw
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``sharex``, ``squeeze``...).
    """
    fig = _figure_class()(figsize=figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    if layout is None:
        m = {"left": 0.8, "right": 0.2, "bottom": 0.6, "top": 0.45, "wspace": 0.35,
             "hspace": 0.45, **(margins or {})}
        w, h = figsize
        fig.subplots_adjust(left=m["left"] / w, right=1 - (m["right"] + legend_in) / w,
                            bottom=m["bottom"] / h, top=1 - m["top"] / h, wspace=m["wspace"],
                            hspace=m["hspace"])
    return fig, axes


#: one mathtext parser per (parser class, output type), shared by the renderers of every tamkit
#: figure: matplotlib gives each renderer its own, so the parse cache (keyed by the parser)
#: missed for every new figure and format; parsing is pure, so sharing changes no pixel
_SHARED_PARSERS: dict[tuple, Any] = {}
_FIGURE_CLASS: list[type] = []


def _share_parsers(renderer) -> None:
    base = getattr(renderer, "_renderer", renderer)  # MixedModeRenderer (SVG) wraps its own
    for owner in (base, getattr(base, "_text2path", None)):
        parser = getattr(owner, "mathtext_parser", None)
        if parser is None:
            continue
        key = (type(parser), getattr(parser, "_output_type", None))
        shared = _SHARED_PARSERS.setdefault(key, parser)
        if shared is not parser:
            owner.mathtext_parser = shared


def _figure_class() -> type:
    """:class:`matplotlib.figure.Figure` whose draws share the mathtext parsers."""
    if not _FIGURE_CLASS:
        from matplotlib.figure import Figure

        class TamkitFigure(Figure):
            def draw(self, renderer):
                _share_parsers(renderer)
                super().draw(renderer)

        _FIGURE_CLASS.append(TamkitFigure)
    return _FIGURE_CLASS[0]


def legend_outside(ax, handles=None, labels=None, **kw: Any):
    """A legend to the right of ``ax``, outside the data (room kept by ``new_figure``)."""
    opts = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0,
            "fontsize": 8, "frameon": False, **kw}
    if handles is None:
        return ax.legend(**opts)
    return ax.legend(handles, labels, **opts)


def delay_axis(ax, axis: str = "x", unit_fs: float = 1.0, label: str = "delay") -> None:
    """Tick labels of a delay axis in the unit that reads best (fs, ps, ns: :func:`format_delay`).

    ``unit_fs`` is the axis' data unit in fs (1 for fs, 1e3 for ps).
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda v, _pos: format_delay(v * unit_fs)
                                             if v != 0 else "0"))
    if (ax.get_xscale() if axis == "x" else ax.get_yscale()) in ("log", "symlog"):
        target.set_minor_formatter(NullFormatter())
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)


def log_points(ax, t, y, err, colour, label: str | None = None, *,
               edge_label: str | None = "auto", **kw: Any) -> int:
    """Points with error bars on a log y axis; values <= 0 are drawn as open triangles on the
    bottom edge, so that they are seen as such rather than dropped or faked (a missing value,
    NaN, is left out).

    ``edge_label``: the legend entry of the edge markers ("auto": "n point(s) ≤ 0 (at the
    bottom edge)"; None: no entry, for a caller that writes one for several curves).
    Returns the number of points marked at the edge.
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    err = np.asarray(err, float) if err is not None else np.zeros_like(y)
    pos = np.isfinite(y) & (y > 0)
    lower = np.where(np.isfinite(err), np.minimum(err, 0.999 * np.abs(y)), 0.0)
    upper = np.where(np.isfinite(err), err, 0.0)
    opts = {"fmt": "o", "ms": 3.5, "lw": 0.8, "color": colour, "ecolor": colour, **kw}
    ax.errorbar(t[pos], y[pos], yerr=[lower[pos], upper[pos]], label=label, **opts)
    bad = np.isfinite(y) & ~pos & np.isfinite(t)
    if bad.any():
        ax.plot(t[bad], np.full(bad.sum(), 0.012), "v", mfc="none", mec=colour, ms=5,
                transform=ax.get_xaxis_transform(), clip_on=False,
                label=(f"{bad.sum()} point(s) ≤ 0 (at the bottom edge)"
                       if edge_label == "auto" else edge_label))
    return int(bad.sum())


def save_figure(fig, folder: str | Path, name: str, dpi: int = 120, *,
                vector: bool = False) -> list[str]:
    """Save ``fig`` as ``name.png`` in ``folder`` (with ``vector``, also its twin ``name.svg``);
    close it.

    The PNG is the reference rendering. The SVG keeps its text as text
    (``svg.fonttype = "none"``), so that labels can be edited and searched in a drawing
    program; it is a second full draw of the figure, so it is made only when asked for.
    Returns the file names.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.removesuffix(".png")
    fig.savefig(folder / f"{stem}.png", dpi=dpi)
    names = [f"{stem}.png"]
    if vector:
        from matplotlib import rc_context

        with rc_context({"svg.fonttype": "none"}):
            fig.savefig(folder / f"{stem}.svg")
        names.append(f"{stem}.svg")
    close(fig)
    return names


def close(fig) -> None:
    """Release a figure's memory (no pyplot registry is involved; clearing is enough)."""
    fig.clear()
