"""Figures and tables of the shape debugger (pure functions: no Streamlit).

- :func:`summary_frame` — ``model.summary()``-like table (pandas) from ``engine.stack`` rows.
- :func:`feature_maps_figure` — the channels of one layer's output.
- :func:`receptive_overlay_figure` — the input with an output cell's contribution map on top.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.stack import format_fraction

STATUS_LABELS = {"ok": "", "error": "fails", "skipped": "not computed",
                 "unsupported": "unsupported"}


def shape_text(shape) -> str:
    """As Keras prints it: ``(None, 28, 28, 1)``; ``?`` when unknown."""
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _axes_text(values, sep=" × ") -> str:
    if values is None:
        return ""
    return sep.join(format_fraction(v) for v in values)


def summary_frame(rows):
    """One line per layer: Layer (type), Output shape, Param #, Multiply-adds, receptive
    field size / jump (cumulative stride) / start per axis, Status."""
    import pandas as pd

    data = []
    for i, r in enumerate(rows):
        rf = _axes_text(r["rf_size"]) or (r["rf_note"] or "")
        data.append({
            "#": i + 1,
            "Layer (type)": f"{r['name']} ({r['layer']})",
            "Output shape": shape_text(r["output_shape"]),
            "Param #": f"{r['params']:,}" if r["status"] == "ok" else "",
            "Multiply-adds": (f"{r['macs']:,}" if r["macs"] is not None else "?")
            if r["status"] == "ok" else "",
            "Receptive field": rf,
            "Jump (cum. stride)": _axes_text(r["rf_jump"]),
            "Start": _axes_text(r["rf_start"], ", "),
            "Status": STATUS_LABELS.get(r["status"], r["status"]),
        })
    return pd.DataFrame(data)


def highlight_styler(frame, first_error):
    """A pandas Styler that paints the first failing row red and later rows grey."""
    def paint(row):
        i = row.name
        if first_error is not None and i == first_error:
            return ["background-color: #f8d7da; color: #58151c"] * len(row)
        if first_error is not None and i > first_error:
            return ["color: #8a8a8a"] * len(row)
        return [""] * len(row)
    return frame.style.apply(paint, axis=1)


def _channels_last(arr, data_format):
    return np.moveaxis(arr, 0, -1) if data_format == "channels_first" else arr


def feature_maps_figure(y, data_format="channels_last", max_channels=16, title="",
                        frame=None):
    """``y``: one layer output for one example (no batch). 2D: one heatmap per channel
    (first ``max_channels``); 3D: the middle (or ``frame``) depth slice; 1D: one line per
    channel; a vector (after Flatten / Dense): a bar chart."""
    y = np.asarray(y, np.float64)
    if y.ndim == 1:
        fig = go.Figure(go.Bar(y=y[:512]))
        fig.update_layout(title=title or f"{y.size} values", height=260,
                          margin=dict(l=10, r=10, t=40, b=10))
        return fig
    y = _channels_last(y, data_format)
    if y.ndim == 4:                                  # (depth, rows, cols, C)
        d = y.shape[0] // 2 if frame is None else int(np.clip(frame, 0, y.shape[0] - 1))
        y = y[d]
        title = f"{title} (depth slice {d})".strip()
    channels = min(y.shape[-1], max_channels)
    if y.ndim == 2:                                  # (steps, C)
        fig = go.Figure([go.Scatter(y=y[:, c], mode="lines", name=f"ch {c}")
                         for c in range(channels)])
        fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10),
                          xaxis_title="step")
        return fig
    cols = min(channels, 4)
    nrows = math.ceil(channels / cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[f"ch {c}" for c in range(channels)],
                        horizontal_spacing=0.03, vertical_spacing=0.08)
    for c in range(channels):
        fig.add_trace(go.Heatmap(z=y[:, :, c], colorscale="Viridis", showscale=False,
                                 hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>"),
                      row=c // cols + 1, col=c % cols + 1)
    fig.update_yaxes(autorange="reversed", scaleanchor=None, showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title=title, height=200 * nrows + 60, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def receptive_overlay_figure(x, cmap, data_format="channels_last", title=""):
    """The input (one example, no batch; gray or RGB for 2D, a line for 1D, the slice at the
    field's centre for 3D) with the contribution map ``cmap`` (input spatial shape) on top;
    cells outside the field are transparent."""
    x = _channels_last(np.asarray(x, np.float64), data_format)
    cmap = np.asarray(cmap, np.float64)
    peak = float(np.max(np.abs(cmap))) if cmap.size else 0.0
    if peak > 0:
        cmap = cmap / peak                            # relative to the strongest cell
    if x.ndim == 2:                                  # 1D: (steps, C)
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_trace(go.Scatter(y=x.mean(axis=-1), mode="lines", name="input"), secondary_y=False)
        fig.add_trace(go.Bar(y=cmap, name="contribution (relative)", opacity=0.5),
                      secondary_y=True)
        fig.update_layout(title=title, height=320, margin=dict(l=10, r=10, t=40, b=10))
        return fig
    if x.ndim == 4:                                  # 3D: the slice with the most mass
        d = int(np.argmax(np.abs(cmap).sum(axis=(1, 2))))
        x, cmap = x[d], cmap[d]
        title = f"{title} (depth slice {d})".strip()
    img = x if x.shape[-1] == 3 else x.mean(axis=-1)
    lo, hi = float(np.min(img)), float(np.max(img))
    scaled = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    fig = go.Figure()
    if scaled.ndim == 3:
        fig.add_trace(go.Image(z=(scaled * 255).astype(np.uint8)))
    else:
        fig.add_trace(go.Heatmap(z=scaled, colorscale="gray", showscale=False,
                                 hoverinfo="skip"))
    shown = np.where(cmap != 0, cmap, np.nan)
    fig.add_trace(go.Heatmap(z=shown, colorscale="Inferno", opacity=0.6,
                             colorbar=dict(title="relative<br>contribution"),
                             hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x")
    fig.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def shape_flow_figure(rows):
    """Spatial size (first axis) and channels per layer: where the stack shrinks and grows."""
    names, sizes, chans = [], [], []
    for r in rows:
        s = r["output_shape"]
        if r["status"] != "ok" or s is None:
            break
        names.append(r["name"])
        sizes.append(s[1] if len(s) > 2 else None)
        chans.append(s[-1])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=names, y=sizes, mode="lines+markers", name="size (axis 0)"),
                  secondary_y=False)
    fig.add_trace(go.Bar(x=names, y=chans, name="channels / features", opacity=0.35),
                  secondary_y=True)
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h"))
    return fig
