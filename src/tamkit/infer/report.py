"""What an inference writes: ``infer.json``, a corner plot, posterior-predictive MSD and D(t),
and ``infer.html``; all into one folder that appears only when everything is written.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np

from tamkit.core.constants import nm2_per_fs_to_cm2_per_s
from tamkit.core.outputs import atomic_output_dir, write_json
from tamkit.infer.run import InferenceResult

#: Posterior draws behind the predictive bands.
N_PREDICTIVE = 200


def corner_figure(result: InferenceResult):
    """The corner plot of the posterior (``corner`` package, drawn on a pyplot-free Figure)."""
    import corner
    from matplotlib.figure import Figure

    n = len(result.free)
    fig = Figure(figsize=(2.2 * n + 1, 2.2 * n + 1))
    truths = None
    corner.corner(result.chain.samples, labels=list(result.free), fig=fig, truths=truths,
                  quantiles=[0.16, 0.5, 0.84], show_titles=True, title_fmt=".3g",
                  title_kwargs={"fontsize": 8}, label_kwargs={"fontsize": 8})
    return fig


def predictive(result: InferenceResult, seed: int = 0) -> list[dict]:
    """Posterior-predictive model MSD (median and 95 % band, nm^2) at each measurement's delays."""
    rng = np.random.default_rng(seed)
    s = result.chain.samples
    draws = s[rng.choice(len(s), size=min(N_PREDICTIVE, len(s)), replace=False)]
    models = result.forward.msd_nm2(draws)
    out = []
    for m, mod in zip(result.series, models, strict=True):
        lo, med, hi = np.percentile(mod, [2.5, 50.0, 97.5], axis=0)
        out.append({"nabs": m.nabs, "delay_fs": m.delay_fs, "median_nm2": med,
                    "lo95_nm2": lo, "hi95_nm2": hi})
    return out


def predictive_figure(result: InferenceResult, bands: list[dict]):
    """MSD(t) and D(t) = MSD / 2t: data (all ok frames to 3 ps) and the posterior band."""
    from tamkit.reporting.style import new_figure

    fig, (ax_m, ax_d) = new_figure(1, 2, figsize=(10.0, 4.0))
    colours = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for i, (m, b) in enumerate(zip(result.series, bands, strict=True)):
        c = colours[i % len(colours)]
        show = m.all_delay_fs <= 3000.0
        t, y, e = m.all_delay_fs[show], m.all_msd_nm2[show], m.all_msd_err_nm2[show]
        ax_m.errorbar(t, y, e, fmt="o", ms=2.5, color=c, alpha=0.6, lw=0.6,
                      label=f"<N_abs> = {m.nabs:g}")
        ax_m.plot(b["delay_fs"], b["median_nm2"], color=c)
        ax_m.fill_between(b["delay_fs"], b["lo95_nm2"], b["hi95_nm2"], color=c, alpha=0.25)
        d = nm2_per_fs_to_cm2_per_s(y / (2 * t))
        de = nm2_per_fs_to_cm2_per_s(e / (2 * t))
        ax_d.errorbar(t, d, de, fmt="o", ms=2.5, color=c, alpha=0.6, lw=0.6)
        tb = b["delay_fs"]
        ax_d.plot(tb, nm2_per_fs_to_cm2_per_s(b["median_nm2"] / (2 * tb)), color=c)
        ax_d.fill_between(tb, nm2_per_fs_to_cm2_per_s(b["lo95_nm2"] / (2 * tb)),
                          nm2_per_fs_to_cm2_per_s(b["hi95_nm2"] / (2 * tb)), color=c,
                          alpha=0.25)
    ax_m.set_xlabel("delay (fs)")
    ax_m.set_ylabel("MSD per axis (nm$^2$)")
    ax_m.legend(fontsize=8)
    ax_d.set_xlabel("delay (fs)")
    ax_d.set_ylabel("D(t) = MSD / 2t (cm$^2$/s)")
    ax_d.set_ylim(bottom=0)
    fig.suptitle("posterior predictive (lines: median, bands: 95 %) over the fitted window",
                 fontsize=9)
    return fig


def _page(doc: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v['median']:.4g}</td><td>{v['mean']:.4g}</td>"
        f"<td>[{v['ci68'][0]:.4g}, {v['ci68'][1]:.4g}]</td>"
        f"<td>[{v['ci95'][0]:.4g}, {v['ci95'][1]:.4g}]</td>"
        f"<td>{v['posterior_to_prior_sd']:.2f}</td><td>{'yes' if v['determined'] else 'no'}</td>"
        f"</tr>" for k, v in doc["parameters"].items())
    names = list(doc["correlations"])
    corr = "<tr><th></th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    corr += "".join("<tr><th>" + html.escape(a) + "</th>" + "".join(
        f"<td>{doc['correlations'][a][b]:+.2f}</td>" for b in names) + "</tr>" for a in names)
    statements = "".join(f"<li>{html.escape(s)}</li>" for s in doc["identifiability"])
    missing = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                      for k, v in doc["not_inferred"].items())
    inputs = "".join(f"<li>{html.escape(str(i['source']))} (&lt;N_abs&gt; = {i['nabs']:g}, "
                     f"{i['n_frames_used']} frames)</li>" for i in doc["inputs"])
    d = doc["diagnostics"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>tamkit infer</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{padding:2px 8px;
text-align:right}}table{{border-collapse:collapse}}tr:nth-child(even){{background:#f3f3f3}}
</style></head><body>
<h1>Film parameters from the measurements ({html.escape(doc['film_base'])} base)</h1>
<h2>Posterior</h2><table><tr><th>parameter</th><th>median</th><th>mean</th><th>68 %</th>
<th>95 %</th><th>SD / prior SD</th><th>determined</th></tr>{rows}</table>
<h2>Identifiability</h2><ul>{statements}</ul>
<h2>Correlations (ln values)</h2><table>{corr}</table>
<h2>Posterior predictive</h2><img src="figures/predictive.png" style="max-width:100%">
<h2>Corner plot</h2><img src="figures/corner.png" style="max-width:100%">
<h2>Sampler</h2><p>acceptance {d['acceptance']:.2f}, autocorrelation time up to
{max(d['autocorrelation_time_steps'].values()):.0f} steps, {d['n_effective']:.0f} effective
samples; {d['n_walkers']} walkers x {d['n_steps']} steps ({d['burn']} burn-in);
split-half check: {_convergence_text(d.get('convergence'))}.</p>
<h2>Not inferred</h2><ul>{missing}</ul>
<h2>Inputs</h2><ul>{inputs}</ul>
<p>Model: {html.escape(doc['model']['forward'])}.</p></body></html>
"""


def write_inference(result: InferenceResult, out_dir: str | os.PathLike,
                    force: bool = False) -> Path:
    """Write ``infer.json``, ``figures/corner.png``, ``figures/predictive.png``, ``infer.html``
    and ``predictive.json`` (the bands) into ``out_dir`` atomically."""
    from tamkit.reporting.style import close

    doc = result.to_dict()
    bands = predictive(result)
    with atomic_output_dir(out_dir, force=force) as tmp:
        (tmp / "figures").mkdir()
        write_json(tmp / "infer.json", doc)
        write_json(tmp / "predictive.json", bands)
        fig = corner_figure(result)
        fig.savefig(tmp / "figures" / "corner.png", dpi=90)
        close(fig)
        fig = predictive_figure(result, bands)
        fig.savefig(tmp / "figures" / "predictive.png", dpi=110)
        close(fig)
        (tmp / "infer.html").write_text(_page(doc))
    return Path(out_dir)


def _convergence_text(check: dict | None) -> str:
    """The split-half convergence check in words (largest mean shift and spread ratio)."""
    if not check:
        return "not run"
    shift = max(abs(v) for v in check["mean_shift_sd"])
    ratio = max(max(v, 1 / v) for v in check["sd_ratio"] if v > 0)
    verdict = "converged" if check["converged"] else "NOT converged: run longer"
    return (f"{verdict} (largest half-to-half mean shift {shift:.2f} posterior SD, spread "
            f"ratio {ratio:.2f})")

