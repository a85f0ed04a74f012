"""The interactive frame viewer of ``report.html``: a slider over delays showing each frame with
its fitted 1-sigma contour, the line cut through the fitted centre with the fitted Gaussian, and
sigma(t) with the current frame marked.

Plain HTML and JavaScript, the data embedded in the page (frames as 8-bit base64, drawn on a
canvas): no library, no network, works offline and from a moved folder.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import xarray as xr

from tamkit.core.outputs import format_delay

MAX_PIXELS = 96  # frames larger than this (per side) are block-averaged for the page


def _f(v: Any, digits: int = 5) -> float | None:
    v = float(v)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _frames_of(stack: xr.DataArray):
    """The frames one at a time: from the array in memory, or read one by one (dask-backed)."""
    if stack.chunks is None:
        values = np.asarray(stack.values)
        for i in range(values.shape[0]):
            yield np.asarray(values[i], float)
    else:
        for i in range(stack.sizes["delay"]):
            yield np.asarray(stack.isel(delay=i).values, float)


def viewer_data(stack: xr.DataArray, frames: xr.Dataset) -> dict[str, Any]:
    """What the viewer draws, as a JSON-ready dict (frames quantised to 8 bits per pixel)."""
    x = np.asarray(stack["x"].values, float)
    y = np.asarray(stack["y"].values, float)
    step = max(1, int(np.ceil(max(x.size, y.size) / MAX_PIXELS)))
    ny, nx = y.size // step, x.size // step
    xs = x[: nx * step].reshape(nx, step).mean(axis=1)
    ys = y[: ny * step].reshape(ny, step).mean(axis=1)
    sign = float(stack.attrs.get("signal_sign", 0) or 0)
    out_frames = []
    # the columns as arrays once (selecting a row of the Dataset per frame costs more than the
    # frame's own arithmetic)
    col = {k: frames[k].values for k in ("x0_nm", "y0_nm", "sigma_nm", "amplitude", "offset",
                                         "sigma_x_nm", "sigma_y_nm", "theta_rad", "status",
                                         "reason", "sigma_err_nm") if k in frames}
    fit_keys = [k for k in ("x0_nm", "y0_nm", "sigma_nm", "amplitude", "offset") if k in col]
    axis_keys = [k for k in ("sigma_x_nm", "sigma_y_nm", "theta_rad") if k in col]
    sigma_col = col["sigma_nm"]
    for i, (delay, img) in enumerate(zip(stack["delay"].values, _frames_of(stack),
                                         strict=True)):
        s = sign or (1.0 if np.nanmax(img) >= -np.nanmin(img) else -1.0)
        small = img[: ny * step, : nx * step].reshape(ny, step, nx, step).mean(axis=(1, 3))
        lim = float(np.nanpercentile(np.abs(small), 99.5)) or 1.0
        q = np.clip(np.round(127.5 + 127.5 * np.nan_to_num(s * small) / lim), 0, 255)
        status = str(col["status"][i])
        fit = None
        if status == "ok":
            fit = {k: _f(col[k][i]) for k in fit_keys}
            for k in axis_keys:
                if np.isfinite(float(col[k][i])):
                    fit[k] = _f(col[k][i])
        # line cut: the row of the full-resolution frame nearest the fitted (or peak) centre
        if fit is not None and fit.get("y0_nm") is not None:
            j = int(np.argmin(np.abs(y - fit["y0_nm"])))
        else:
            j = int(np.unravel_index(np.nanargmax(np.nan_to_num(s * img)), img.shape)[0])
        out_frames.append({
            "delay_fs": float(delay), "label": format_delay(delay), "status": status,
            "reason": str(col["reason"][i]) if "reason" in col else "",
            "scale": _f(lim / 1.0), "sign": s,
            "png8": base64.b64encode(q.astype(np.uint8).tobytes()).decode("ascii"),
            "cut_y_nm": _f(y[j]), "cut": [_f(v, 4) for v in img[j].tolist()], "fit": fit,
            "sigma_nm": _f(sigma_col[i]),
            "sigma_err_nm": _f(col["sigma_err_nm"][i]),
        })
    return {"nx": nx, "ny": ny, "x_nm": [_f(v) for v in xs], "y_nm": [_f(v) for v in ys],
            "x_full_nm": [_f(v) for v in x], "frames": out_frames}


def viewer_html(data: dict[str, Any]) -> tuple[str, str]:
    """(HTML of the viewer section, its script) for :func:`tamkit.reporting.html.page`."""
    first = next((k for k, f in enumerate(data["frames"]) if f["delay_fs"] >= 0), 0)
    n = len(data["frames"])
    body = f"""<section id="viewer"><h2>Frame viewer</h2>
<p class="muted">Drag the slider (or use the arrow keys) to step through the delays. Left: the frame
(sign-corrected ΔT/T, normalised to its 99.5th percentile; red positive) with the fitted Gaussian's
1σ contour (dashed). Middle: the line cut through the fitted centre (dots) and the fitted Gaussian
(line). Right: σ(t) of every fitted frame, the current one ringed.</p>
<div><input type="range" id="frame-slider" min="0" max="{n - 1}" value="{first}" step="1"
 style="width:60%" aria-label="delay"> <strong id="frame-label"></strong>
 <span id="frame-status" class="muted"></span></div>
<div style="display:flex;gap:12px;flex-wrap:wrap;margin-top:8px">
<canvas id="frame-canvas" width="320" height="320" style="border:1px solid #ccc"></canvas>
<canvas id="cut-canvas" width="380" height="320" style="border:1px solid #ccc"></canvas>
<canvas id="sigma-canvas" width="380" height="320" style="border:1px solid #ccc"></canvas>
</div></section>"""
    script = "const VIEWER = " + json.dumps(data, separators=(",", ":")) + ";\n" + _JS
    return body, script


_JS = r"""
(function () {
  const V = VIEWER;
  const slider = document.getElementById("frame-slider");
  const label = document.getElementById("frame-label");
  const status = document.getElementById("frame-status");
  const fc = document.getElementById("frame-canvas"), cc = document.getElementById("cut-canvas"),
        sc = document.getElementById("sigma-canvas");
  const stops = [[33,102,172],[103,169,207],[209,229,240],[247,247,247],[253,219,199],
                 [239,138,98],[178,24,43]];
  function colour(v) {            // RdBu_r for v in 0..255
    const t = v / 255 * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(t)),
          f = t - i, a = stops[i], b = stops[i + 1];
    return [0, 1, 2].map(k => Math.round(a[k] + f * (b[k] - a[k])));
  }
  const lut = []; for (let v = 0; v < 256; v++) lut.push(colour(v));
  function decode(b64) {
    const s = atob(b64), out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const x0 = V.x_nm[0], x1 = V.x_nm[V.nx - 1], y0 = V.y_nm[0], y1 = V.y_nm[V.ny - 1];
  const dx = (x1 - x0) / Math.max(1, V.nx - 1), dy = (y1 - y0) / Math.max(1, V.ny - 1);
  function drawFrame(f) {
    const ctx = fc.getContext("2d"), W = fc.width, H = fc.height;
    const px = decode(f.png8), img = ctx.createImageData(V.nx, V.ny);
    for (let i = 0; i < px.length; i++) {
      const c = lut[px[i]];
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2];
      img.data[4 * i + 3] = 255;
    }
    const off = document.createElement("canvas"); off.width = V.nx; off.height = V.ny;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(off, 0, 0, W, H);
    const sx = v => (v - (x0 - dx / 2)) / (x1 - x0 + dx) * W;
    const sy = v => (v - (y0 - dy / 2)) / (y1 - y0 + dy) * H;
    if (f.fit && f.fit.sigma_nm) {
      const ax = f.fit.sigma_x_nm || f.fit.sigma_nm, ay = f.fit.sigma_y_nm || f.fit.sigma_nm;
      ctx.save(); ctx.setLineDash([6, 4]); ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.ellipse(sx(f.fit.x0_nm), sy(f.fit.y0_nm), ax / (x1 - x0 + dx) * W,
                  ay / (y1 - y0 + dy) * H, f.fit.theta_rad || 0, 0, 2 * Math.PI);
      ctx.stroke(); ctx.restore();
    }
    ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.beginPath();
    ctx.moveTo(0, sy(f.cut_y_nm)); ctx.lineTo(W, sy(f.cut_y_nm)); ctx.stroke();
    // scale bar
    const span = x1 - x0, nice = Math.pow(10, Math.floor(Math.log10(span / 4)));
    let len = nice; for (const m of [1, 2, 5]) if (m * nice <= span / 3) len = m * nice;
    const Lpx = len / (x1 - x0 + dx) * W;
    ctx.fillStyle = "#000"; ctx.fillRect(12, H - 18, Lpx, 4);
    ctx.font = "12px sans-serif";
    ctx.fillText(len >= 1000 ? (len / 1000) + " µm" : len + " nm", 12, H - 24);
  }
  function axes(ctx, W, H, m) {
    ctx.strokeStyle = "#444"; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(m.l, m.t); ctx.lineTo(m.l, H - m.b); ctx.lineTo(W - m.r, H - m.b); ctx.stroke();
  }
  function fmt(v) { return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ?
                    v.toExponential(1) : (+v.toPrecision(3)).toString(); }
  function drawCut(f) {
    const ctx = cc.getContext("2d"), W = cc.width, H = cc.height, m = {l: 58, r: 10, t: 24, b: 40};
    ctx.clearRect(0, 0, W, H);
    const xs = V.x_full_nm, ys = f.cut.map(v => v === null ? NaN : f.sign * v);
    let model = null;
    if (f.fit && f.fit.sigma_nm && f.fit.amplitude !== null) {
      const sx = f.fit.sigma_x_nm || f.fit.sigma_nm, off = f.fit.offset || 0;
      model = xs.map(x => f.sign * (off + f.fit.amplitude *
                      Math.exp(-((x - f.fit.x0_nm) ** 2) / (2 * sx * sx))));
    }
    const all = ys.concat(model || []).filter(Number.isFinite);
    let lo = Math.min(0, ...all), hi = Math.max(...all); if (!(hi > lo)) { hi = lo + 1; }
    const X = x => m.l + (x - xs[0]) / (xs[xs.length - 1] - xs[0]) * (W - m.l - m.r);
    const Y = y => H - m.b - (y - lo) / (hi - lo) * (H - m.t - m.b);
    axes(ctx, W, H, m);
    ctx.fillStyle = "#0072B2";
    xs.forEach((x, i) => {
      if (Number.isFinite(ys[i])) ctx.fillRect(X(x) - 2, Y(ys[i]) - 2, 4, 4);
    });
    if (model) {
      ctx.strokeStyle = "#D55E00"; ctx.lineWidth = 2; ctx.beginPath();
      xs.forEach((x, i) => i ? ctx.lineTo(X(x), Y(model[i])) : ctx.moveTo(X(x), Y(model[i])));
      ctx.stroke();
    }
    ctx.fillStyle = "#000"; ctx.font = "12px sans-serif";
    ctx.fillText("x (nm)", W / 2 - 20, H - 8);
    ctx.fillText(fmt(xs[0]), m.l - 10, H - m.b + 16);
    ctx.fillText(fmt(xs[xs.length - 1]), W - m.r - 40, H - m.b + 16);
    ctx.fillText(fmt(hi), 2, m.t + 4); ctx.fillText(fmt(lo), 2, H - m.b);
    ctx.fillText("line cut at y = " + Math.round(f.cut_y_nm) + " nm (ΔT/T, sign-corrected)",
                 m.l, 14);
    ctx.fillStyle = "#0072B2"; ctx.fillText("● data", W - 150, 34);
    ctx.fillStyle = "#D55E00"; ctx.fillText(model ? "— fitted Gaussian" : "(no fit)", W - 150, 50);
  }
  const pts = V.frames.map((f, i) => [i, f.delay_fs, f.sigma_nm, f.sigma_err_nm, f.status])
               .filter(p => p[1] > 0 && p[2] !== null && p[4] === "ok");
  function drawSigma(cur) {
    const ctx = sc.getContext("2d"), W = sc.width, H = sc.height, m = {l: 58, r: 10, t: 24, b: 40};
    ctx.clearRect(0, 0, W, H);
    if (!pts.length) return;
    const lt = pts.map(p => Math.log10(p[1])), sg = pts.map(p => p[2]);
    const tlo = Math.min(...lt), thi = Math.max(...lt);
    const slo = Math.min(...sg) * 0.95, shi = Math.max(...sg) * 1.05;
    const X = t => m.l + (Math.log10(t) - tlo) / (thi - tlo || 1) * (W - m.l - m.r);
    const Y = s => H - m.b - (s - slo) / (shi - slo || 1) * (H - m.t - m.b);
    axes(ctx, W, H, m);
    ctx.fillStyle = "#333";
    pts.forEach(p => ctx.fillRect(X(p[1]) - 2, Y(p[2]) - 2, 4, 4));
    const f = V.frames[cur];
    if (f.delay_fs > 0 && f.sigma_nm !== null && f.status === "ok") {
      ctx.strokeStyle = "#D55E00"; ctx.lineWidth = 2.5; ctx.beginPath();
      ctx.arc(X(f.delay_fs), Y(f.sigma_nm), 7, 0, 2 * Math.PI); ctx.stroke();
    }
    ctx.strokeStyle = "rgba(213,94,0,0.4)"; ctx.lineWidth = 1;
    if (f.delay_fs > 0) { ctx.beginPath(); ctx.moveTo(X(f.delay_fs), m.t);
                          ctx.lineTo(X(f.delay_fs), H - m.b); ctx.stroke(); }
    ctx.fillStyle = "#000"; ctx.font = "12px sans-serif";
    ctx.fillText("σ(t) (nm) against delay (log)", m.l, 14);
    ctx.fillText(fmt(shi), 2, m.t + 4); ctx.fillText(fmt(slo), 2, H - m.b);
    ctx.fillText(V.frames[pts[0][0]].label, m.l - 10, H - m.b + 16);
    ctx.fillText(V.frames[pts[pts.length - 1][0]].label, W - m.r - 50, H - m.b + 16);
  }
  function show(i) {
    const f = V.frames[i];
    label.textContent = f.label + (f.fit && f.fit.sigma_nm ?
        "  σ = " + f.fit.sigma_nm.toFixed(1) + " nm" : "");
    status.textContent = f.status === "ok" ? "" :
        "(" + f.status + (f.reason ? ": " + f.reason : "") + ")";
    drawFrame(f); drawCut(f); drawSigma(i);
  }
  slider.addEventListener("input", () => show(+slider.value));
  show(+slider.value);
})();
"""
