"""Figures and tables of the shape debugger (pure functions: no Streamlit).

- :func:`summary_frame` — ``model.summary()``-like table (pandas) from ``engine.stack`` rows.
- :func:`feature_maps_figure` — the channels of one layer's output.
- :func:`receptive_overlay_figure` — the input with an output cell's contribution map on top.
- :func:`shape_flow_figure` — spatial size and channels per layer.

Every figure is one plain spec sent exactly as written, without a template
(:func:`app.figures.layout.figure`; tests/test_figure_specs.py validates every builder's
spec), in Streamlit's chart theme with its line colours (:func:`app.theme.streamlit_style`),
its subplots laid out directly (:func:`app.figures.layout.subplot_grid`, as
``make_subplots`` lays them out; the Learn view's figures use it too), values sent as
float32.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from app import theme as T
from app.figures.layout import axis_ids, figure, named_scale, subplot_grid
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


#: A second y axis on the right (``yaxis="y2"`` traces), as ``make_subplots(specs=[[{
#: "secondary_y": True}]])`` makes it.
SECONDARY_Y = {"xaxis": {"anchor": "y", "domain": [0.0, 0.94]},
               "yaxis": {"anchor": "x", "domain": [0.0, 1.0]},
               "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right"}}


def _figure(data: list, layout: dict) -> go.Figure:
    """One figure from plain trace and layout dicts (sent as written: see
    :func:`app.figures.layout.figure`), with Streamlit's line colours."""
    return figure({"data": data, "layout": dict(layout, **T.streamlit_style())})


def _margin(top: int) -> dict:
    return dict(l=10, r=10, t=top, b=10)


def feature_maps_figure(y, data_format="channels_last", max_channels=16, title="",
                        frame=None):
    """``y``: one layer output for one example (no batch). 2D: one heatmap per channel
    (first ``max_channels``, four per row); 3D: the middle (or ``frame``) depth slice;
    1D: one line per channel; a vector (after Flatten / Dense): a bar chart. Values go to
    the browser as float32."""
    y = np.asarray(y, np.float32)
    if y.ndim == 1:
        return _figure([{"type": "bar", "y": y[:512]}],
                       {"title": {"text": title or f"{y.size} values"}, "height": 260,
                        "margin": _margin(40)})
    y = _channels_last(y, data_format)
    if y.ndim == 4:                                  # (depth, rows, cols, C)
        d = y.shape[0] // 2 if frame is None else int(np.clip(frame, 0, y.shape[0] - 1))
        y = y[d]
        title = f"{title} (depth slice {d})".strip()
    channels = min(y.shape[-1], max_channels)
    if y.ndim == 2:                                  # (steps, C)
        return _figure([{"type": "scatter", "y": np.ascontiguousarray(y[:, c]),
                         "mode": "lines", "name": f"ch {c}"} for c in range(channels)],
                       {"title": {"text": title}, "height": 300, "margin": _margin(40),
                        "xaxis": {"title": {"text": "step"}}})
    cols = min(channels, 4)
    nrows = math.ceil(channels / cols)
    layout = subplot_grid(nrows, cols, [f"ch {c}" for c in range(channels)], 0.03, 0.08)
    for key, axis in layout.items():
        if key.startswith("yaxis"):
            axis.update(autorange="reversed", showticklabels=False)
        elif key.startswith("xaxis"):
            axis["showticklabels"] = False
    data = [{"type": "heatmap", "z": np.ascontiguousarray(y[:, :, c]),
             "colorscale": named_scale("Viridis"), "showscale": False,
             "xaxis": axis_ids(c + 1)[0], "yaxis": axis_ids(c + 1)[1],
             "hovertemplate": "row %{y}, col %{x}: %{z:.4g}<extra></extra>"}
            for c in range(channels)]
    layout.update(title={"text": title}, height=200 * nrows + 60, margin=_margin(60))
    return _figure(data, layout)


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
        return _figure([{"type": "scatter", "y": x.mean(axis=-1).astype(np.float32),
                         "mode": "lines", "name": "input", "xaxis": "x", "yaxis": "y"},
                        {"type": "bar", "y": cmap.astype(np.float32),
                         "name": "contribution (relative)", "opacity": 0.5, "xaxis": "x",
                         "yaxis": "y2"}],
                       dict(SECONDARY_Y, title={"text": title}, height=320,
                            margin=_margin(40)))
    if x.ndim == 4:                                  # 3D: the slice with the most mass
        d = int(np.argmax(np.abs(cmap).sum(axis=(1, 2))))
        x, cmap = x[d], cmap[d]
        title = f"{title} (depth slice {d})".strip()
    img = x if x.shape[-1] == 3 else x.mean(axis=-1)
    lo, hi = float(np.min(img)), float(np.max(img))
    scaled = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if scaled.ndim == 3:
        base = {"type": "image", "z": (scaled * 255).astype(np.uint8)}
    else:
        base = {"type": "heatmap", "z": scaled.astype(np.float32),
                "colorscale": named_scale("gray"), "showscale": False, "hoverinfo": "skip"}
    shown = {"type": "heatmap", "z": np.where(cmap != 0, cmap, np.nan).astype(np.float32),
             "colorscale": named_scale("Inferno"), "opacity": 0.6,
             "colorbar": {"title": {"text": "relative<br>contribution"}},
             "hovertemplate": "row %{y}, col %{x}: %{z:.4g}<extra></extra>"}
    return _figure([base, shown], {"yaxis": {"autorange": "reversed", "scaleanchor": "x"},
                                   "title": {"text": title}, "height": 460,
                                   "margin": _margin(40)})


def shape_flow_figure(rows):
    """Per layer (x, in order) the output's size along its first axis after the batch (line,
    left axis from 0: rows of a channels_last image) and along its last axis (bars, right
    axis, log scale: channels, or features after Flatten), up to the first layer that
    fails: where the stack shrinks and grows. Titled, both axes named, the legend above
    the plot (below it, it covered the layer names)."""
    names, sizes, chans = [], [], []
    for r in rows:
        s = r["output_shape"]
        if r["status"] != "ok" or s is None:
            break
        names.append(r["name"])
        sizes.append(s[1] if len(s) > 2 else None)
        chans.append(s[-1])

    def axis(base: dict, title: str, **extra) -> dict:
        return dict(base, automargin=True, title={"text": title, "font": {"size": 12}},
                    **extra)
    layout = {**SECONDARY_Y,
              "yaxis": axis(SECONDARY_Y["yaxis"], "axis 1 size (cells)", rangemode="tozero"),
              "yaxis2": axis(SECONDARY_Y["yaxis2"], "last axis (log)", type="log", dtick=1,
                             tickformat="~s", showgrid=False),
              "xaxis": dict(SECONDARY_Y["xaxis"], automargin=True),
              "title": {"text": "Output shape per layer: where the stack shrinks and grows",
                        "font": {"size": 14}},
              "height": 340, "margin": dict(l=10, r=10, t=80, b=10),
              "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}}
    return _figure([{"type": "scatter", "x": names, "y": sizes, "mode": "lines+markers",
                     "name": "axis 1 after the batch (rows)", "xaxis": "x", "yaxis": "y"},
                    {"type": "bar", "x": names, "y": chans,
                     "name": "last axis (channels; features after Flatten)", "opacity": 0.35,
                     "xaxis": "x", "yaxis": "y2"}], layout)
