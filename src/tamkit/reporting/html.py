"""The parts every tamkit page shares: the frame of the page, provenance, data links, warnings,
tables, captioned figures and how values are written (no raw ``None``, ``False`` or 16 digits).

Pages are plain HTML with inline CSS and relative links only, so that an output folder renders
offline and after it is moved. Light: no numpy or matplotlib at import.
"""

from __future__ import annotations

import datetime
import html
import math
import re
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

_COMMAND: list[str] | None = None

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:1.5em auto;
padding:0 1em;color:#1a1a1a;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.warnings{background:#fff4e0;border-left:5px solid #E69F00;padding:.5em 1em;margin:1em 0}
.ok{color:#006e50;font-weight:600}.bad{color:#b24600;font-weight:600}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.92em;color:#333;max-width:900px}
.headline td{font-size:1.05em}.muted{color:#666;font-size:.9em}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
nav a{margin-right:1em}
"""

_UNITS = [
    ("band - like", "band-like"), ("cm^2/(V s)", "cm²/(V s)"), ("cm^2/s", "cm²/s"),
    ("nm^2/fs", "nm²/fs"), ("nm^2", "nm²"), ("ps^-1", "ps⁻¹"), ("1/ps", "ps⁻¹"),
    ("sigma_t^2", "σₜ²"), ("σ_t²", "σₜ²"), ("sigma_0^2", "σ₀²"), ("sigma^2", "σ²"),
    ("sigma_inh", "σ_inh"), ("sigma_0", "σ₀"), ("sigma0", "σ₀"), ("Delta E", "ΔE"),
    ("+-", "±"), ("<N_abs>", "⟨N_abs⟩"), ("chi2_reduced", "reduced χ²"),
    ("chi2_red", "reduced χ²"), ("tau_band-like", "τ of the band-like regime"), ("->", "→"),
    (">=", "≥"), ("<=", "≤"),
]
_SUPER = str.maketrans("0123456789-+in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁱⁿ")
_RULES = [
    # 3.58e+03 -> 3.58×10³, 1e-3 -> 10⁻³ (not inside a word: a hex digest stays as it is)
    (re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?)0*(\d+)\b"),
     lambda m: (("" if m[1] == "1" else f"{m[1]}×") + "10"
                + (("-" if m[2] == "-" else "") + m[3]).translate(_SUPER))),
    (re.compile(r"\^\(?(-?\d+|[in]\b)\)?"), lambda m: m[1].translate(_SUPER)),  # t^2 -> t²
    (re.compile(r"(?<=\d) /ps\b"), lambda m: " ps⁻¹"),                   # 4.13 /ps
    (re.compile(r"\b(sigma|alpha|tau|lambda|chi2)\b"),
     lambda m: {"sigma": "σ", "alpha": "α", "tau": "τ", "lambda": "λ", "chi2": "χ²"}[m[1]]),
    (re.compile(r"\bTrue\b"), lambda m: "yes"), (re.compile(r"\bFalse\b"), lambda m: "no"),
    (re.compile(r"\bNone\b"), lambda m: "none"),
    (re.compile(r"(?<=[\w)]) - (?=[\w(])"), lambda m: " − "),             # a - b: a minus
    (re.compile(r"(?<=[⁰¹²³⁴⁵⁶⁷⁸⁹])-(?=10)"), lambda m: "–"),              # 10³-10⁵: a range
    (re.compile(r"(?<=[=\s(])-(?=[σΔ\d(])"), lambda m: "−"),                # = -σ²: a minus
]

#: labels of result keys (the key itself stays in the cell's title, for results.json)
_KEY_LABELS = {
    "chi2_red": "reduced χ²", "chi2_reduced": "reduced χ²", "sigma0_method": "σ₀ method",
    "common_error": "common error",
    "sigma0_nm": "σ₀ (nm)", "sigma0_err_nm": "σ₀ error (nm)", "n_bootstrap": "bootstrap samples",
    "bic": "BIC", "alphas": "exponents α", "breaks_fs": "breaks (fs)", "seed": "random seed",
    "D_max_cm2_s": "Dₘₐₓ (cm²/s)", "D_max_err_cm2_s": "Dₘₐₓ error (cm²/s)",
    "spot_ratio_x_over_y": "spot ratio σₓ/σᵧ", "theta_deg": "θ (°)",
    "stouffer_z_ek": "Stouffer z (excess kurtosis)", "stouffer_z_msd": "Stouffer z (MSD)",
    "msd_fit_over_moment": "Gaussian-fit MSD / moment MSD", "noise_std": "noise σ",
    "nabs": "⟨N_abs⟩", "sha256": "sha256", "first_non_gaussian_fs": "non-Gaussian from (fs)",
}
_KEY_UNITS = [
    ("_nm_per_frame", "nm/frame"), ("_cm2_Vs", "cm²/(V s)"), ("_cm2_s", "cm²/s"),
    ("_per_ps", "ps⁻¹"), ("_nm2", "nm²"), ("_nm", "nm"), ("_fs", "fs"), ("_ps", "ps"),
    ("_meV", "meV"), ("_eV", "eV"), ("_K", "K"), ("_deg", "°"), ("_s", "s"),
]
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+$")


def key_label(key: str) -> str:
    """A result key as a label: ``late_msd_x_err_nm2`` -> ``late MSD x error (nm²)``,
    ``chi2_red`` -> ``reduced χ²``; text that is not an identifier is only typeset."""
    if key in _KEY_LABELS:
        return _KEY_LABELS[key]
    if not _IDENT.match(key):
        return typeset(key)
    unit = ""
    for suffix, u in _KEY_UNITS:
        if key.endswith(suffix) and len(key) > len(suffix):
            key, unit = key[: -len(suffix)], f" ({u})"
            break
    words = []
    for w in key.split("_"):
        words.append({"err": "error", "n": "number of", "msd": "MSD", "snr": "SNR",
                      "psf": "PSF", "x": "x", "y": "y"}.get(w, w))
    return typeset(" ".join(words)) + unit


def set_command_line(argv: Sequence[str]) -> None:
    """Record the command line that made this process's pages (the CLI calls this)."""
    global _COMMAND
    _COMMAND = [str(a) for a in argv]


def command_line() -> str:
    """The command line as it would be typed (recorded by the CLI, else ``sys.argv``)."""
    argv = _COMMAND if _COMMAND is not None else ["python", *sys.argv]
    return shlex.join(argv)


def now() -> str:
    """The date and time (UTC, ISO 8601 to the second)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def typeset(text: str) -> str:
    """ASCII units, symbols and Python words as they are printed: cm^2/s -> cm²/s,
    sigma_0 -> σ₀, +- -> ±, 3.5e+03 -> 3.5×10³, t^2 -> t², chi2_red -> reduced χ², True -> yes."""
    for a, b in _UNITS:
        text = text.replace(a, b)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def number(value: Any, digits: int = 4) -> str:
    """A number as text: ``digits`` significant digits, thousands without exponent."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        mant, exp = f"{v:.{digits - 1}e}".split("e")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}×10<sup>{int(exp)}</sup>".replace("<sup>-", "<sup>−")
    text = f"{v:.{digits}g}"
    if "e" in text:  # 12345.6 with 4 digits -> 1.235e+04: write it out
        text = f"{v:.0f}"
    return text


def value(v: Any, digits: int = 4) -> str:
    """Any JSON value as HTML: numbers by :func:`number`, lists joined, mappings as tables."""
    if isinstance(v, Mapping):
        return kv_table((k, v2) for k, v2 in v.items())
    if isinstance(v, (list, tuple)):
        if not v:
            return "—"
        if all(not isinstance(x, (Mapping, list, tuple)) for x in v):
            return ", ".join(value(x, digits) for x in v)
        return "<br>".join(value(x, digits) for x in v)
    if isinstance(v, str):
        return esc(typeset(v)) if v else "—"
    return number(v, digits)


def pm(v: Any, err: Any = None, unit: str = "", digits: int = 4) -> Html:
    """``value ± err unit`` as HTML (error rounded to 2 significant digits); ``—`` if missing."""
    text = number(v, digits)
    if text == "—":
        return Html(text)
    if err is not None and number(err) != "—":
        e, x = float(err), float(v)
        decimals = 1 - math.floor(math.log10(e)) if e > 0 else 99
        if 0 <= decimals <= 6 and abs(x) < 1e6:
            text = f"{x:.{decimals}f} ± {e:.{decimals}f}"
        elif decimals < 0 and abs(x) < 1e6:
            text = (f"{round(x, decimals):.0f} ± {round(e, decimals):.0f}" if e < 1e6
                    else f"{text} ± {number(e, 2)}")
        else:
            text += f" ± {number(err, 2)}"
    return Html(f"{text} {esc(typeset(unit))}".strip())


def kv_table(rows: Iterable[tuple[str, Any]], cls: str = "") -> str:
    """A two-column table; labels are typeset, values by :func:`value` (HTML values pass through
    when given as ``Html``)."""
    body = "".join(f'<tr><th title="{esc(k)}">{esc(key_label(str(k)))}</th>'
                   f"<td>{_cell(v)}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>' if cls else f"<table>{body}</table>"


class Html(str):
    """A string that is already HTML (not escaped again)."""


def _cell(v: Any) -> str:
    return str(v) if isinstance(v, Html) else value(v)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """A table with a header row; cells by :func:`value` (``Html`` cells pass through)."""
    head = "".join(f"<th>{esc(typeset(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_cell(c)}</td>' if isinstance(c, (int, float)) and
        not isinstance(c, bool) else f"<td>{_cell(c)}</td>" for c in row) + "</tr>"
        for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def warnings_block(warnings: Sequence[str], title: str = "Warnings") -> str:
    """The warnings, at the top of a page (a short "no warnings" line when there are none)."""
    if not warnings:
        return '<p class="muted">No warnings.</p>'
    items = "".join(f"<li>{esc(typeset(w))}</li>" for w in warnings)
    return (f'<div class="warnings" id="warnings"><strong>{esc(title)}</strong>'
            f"<ul>{items}</ul></div>")


def figure(src: str, caption: str, *, vector: str | None = None, alt: str | None = None) -> str:
    """A captioned figure; the image links to its vector twin when there is one."""
    img = f'<img src="{esc(src)}" alt="{esc(alt or caption[:80])}">'
    if vector:
        img = f'<a href="{esc(vector)}">{img}</a>'
        caption += f' <a href="{esc(vector)}">[SVG]</a>' if "<a " not in caption else ""
    return f"<figure>{img}<figcaption>{caption}</figcaption></figure>"


def figures(folder: str, names: Sequence[str], captions: Mapping[str, str]) -> str:
    """Every PNG of ``names`` (in ``folder``, relative) with its caption and its SVG twin."""
    out = []
    svgs = {n for n in names if n.endswith(".svg")}
    for n in names:
        if not n.endswith(".png"):
            continue
        stem = n.removesuffix(".png")
        twin = f"{stem}.svg"
        cap = captions.get(stem, "")
        out.append(figure(f"{folder}{n}", f"<strong>{esc(stem)}.</strong> {cap}",
                          vector=f"{folder}{twin}" if twin in svgs else None, alt=stem))
    return "".join(out)


def data_links(files: Sequence[tuple[str, str]]) -> str:
    """Links to the data files beside the page: (relative path, description)."""
    items = "".join(f'<li><a href="{esc(p)}">{esc(p)}</a> — {esc(d)}</li>' for p, d in files)
    return f'<ul class="data-files">{items}</ul>'


def provenance(inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
               blocks: Mapping[str, Any] | None = None, version: str | None = None,
               command: str | None = None, date: str | None = None) -> str:
    """The provenance section: tamkit version, command line, date, the inputs (path, sha256...)
    and every parameter block."""
    from tamkit import __version__

    rows: list[tuple[str, Any]] = [
        ("tamkit version", version or __version__),
        ("command line", Html(f"<code>{esc(command or command_line())}</code>")),
        ("date (UTC)", date or now()),
    ]
    if isinstance(inputs, Mapping):
        rows.append(("input", Html(kv_table(_input_rows(inputs)))))
    else:
        for k, inp in enumerate(inputs):
            rows.append((f"input {k + 1}", Html(kv_table(_input_rows(inp)))))
    for name, block in (blocks or {}).items():
        rows.append((name, Html(_block(block))))
    return f'<section id="provenance"><h2>Provenance</h2>{kv_table(rows)}</section>'


def _input_rows(inp: Mapping[str, Any]):
    for k, v in inp.items():
        if k == "path":
            yield ("file", Html(f"<code>{esc(Path(str(v)).name)}</code> "
                                f'<span class="muted">({esc(v)})</span>'))
        elif k == "sha256":
            yield ("sha256", Html(f"<code>{esc(v)}</code>"))
        else:
            yield (k, v)


def _block(block: Any) -> str:
    if block is None:
        return "—"
    if hasattr(block, "to_dict"):
        block = block.to_dict()
    elif hasattr(block, "__dataclass_fields__"):
        import dataclasses

        block = dataclasses.asdict(block)
    return value(block)


def page(title: str, body: str, *, subtitle: str = "", nav: Sequence[tuple[str, str]] = (),
         script: str = "") -> str:
    """A whole page: ``title`` as heading (a file name, never an absolute path), then ``body``."""
    links = "".join(f'<a href="{esc(h)}">{esc(t)}</a>' for h, t in nav)
    nav_html = f"<nav>{links}</nav>" if links else ""
    sub = f'<p class="muted">{subtitle}</p>' if subtitle else ""
    js = f"<script>\n{script}\n</script>" if script else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"{nav_html}<h1>{esc(title)}</h1>{sub}{body}{js}</body></html>")


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def anchor(text: str) -> str:
    """A fragment id from any text."""
    return _SAFE.sub("-", text)
