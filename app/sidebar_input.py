"""The sidebar's "Input" section: where the input comes from (a shipped sample, a synthetic
shape, an upload, the camera, the microphone), its colour, size and batch, and the array the
layer gets (:func:`sidebar_input`). A bad file or shape is named in the sidebar and the
default sample is used instead; an input over the server's budget is shown downscaled."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import cached, compute, state as S
from engine import io as eio
from engine.geometry import AXIS_SHORT

SOURCES = {"sample": "Shipped sample", "synthetic": "Synthetic (choose a shape)",
           "upload": "Upload a file", "camera": "Camera", "mic": "Microphone"}
#: Per rank, the file types the uploader accepts: engine.io's extensions, without the dot.
UPLOAD_TYPES = {rank: [e.lstrip(".") for e in exts] for rank, exts in (
    (1, eio.SIGNAL_EXTENSIONS), (2, eio.IMAGE_EXTENSIONS), (3, eio.VOLUME_EXTENSIONS))}
UPLOAD_LABELS = {1: "Signal", 2: "Image", 3: "Volume"}
DEFAULT_SYNTHETIC = {1: (1, 128, 2), 2: (1, 64, 64, 3), 3: (1, 16, 32, 32, 1)}


def sidebar_input(layer: str, data_format: str):
    """Input widgets → (x or None, label, error or None, state fields)."""
    ss = st.session_state
    rank = S.rank_of(layer)
    sb = st.sidebar
    sb.header("Input")
    sources = ["sample", "synthetic", "upload"] + (["camera"] if rank == 2 else []) + (
        ["mic"] if rank == 1 else [])
    if ss.get("in.source") not in sources:
        ss["in.source"] = "sample"
    source = sb.radio("Source", sources, key="in.source", format_func=SOURCES.get,
                      horizontal=True)
    fields = {"sample": None, "input_shape": None, "color": "auto", "size": None, "batch": 1}
    if source == "synthetic":
        try:
            shape = _synthetic_shape(rank)
            x = cached.synthetic_input(shape, data_format)   # refuses one over the budget
        except eio.InputError as exc:
            sb.error(str(exc))
            loaded, err = None, str(exc)
        else:
            fields["input_shape"] = shape
            return x, f"synthetic {shape}", None, fields
    else:
        loaded, err = _loaded(source, rank)
    base, meta, label, key, sample = loaded or _sample(S.DEFAULT_SAMPLE[rank])
    fields["sample"] = None if loaded is None else sample   # a fallback stays out of the URL
    color, size, batch = _shape_widgets(rank, meta, tuple(base.shape[:-1]))
    fields.update(color=color, size=size, batch=batch)
    x, err = _prepared(key, base, rank, fields, data_format, err)
    return x, label, err, fields


def _synthetic_shape(rank: int) -> tuple:
    """The "input_shape" text box → a shape of ``rank + 2`` positive integers (raises
    :class:`engine.io.InputError` saying what is wrong)."""
    text = st.sidebar.text_input(
        "input_shape (batch first, in data_format)", key="in.shape",
        help="e.g. (1, 64, 64, 3) for channels_last 2D; values are smooth waves plus a "
             "bright box.")
    try:
        shape = S.parse_literal(text)
    except ValueError as exc:
        raise eio.InputError(str(exc)) from None
    if (not isinstance(shape, tuple) or len(shape) != rank + 2
            or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in shape)):
        raise eio.InputError(f"input_shape must be {rank + 2} positive integers, batch "
                             f"first, e.g. {S.format_literal(DEFAULT_SYNTHETIC[rank])}.")
    return shape


def _sample(name: str) -> tuple:
    """A shipped sample as (array, meta, label, cache key, sample name)."""
    base, meta = cached.sample_array(name)
    return base, meta, f"sample: {name}", ("sample", name), name


def _loaded(source: str, rank: int) -> tuple[tuple | None, str | None]:
    """The array of a sample, upload, camera picture or recording as ``((array, meta,
    label, cache key, sample name or None) or None, error or None)``: ``None`` until there
    is one (the caller shows the default sample); a bad file's error is shown here."""
    try:
        return _from_source(source, rank), None
    except eio.InputError as exc:
        st.sidebar.error(str(exc))
        return None, str(exc)


def _from_source(source: str, rank: int) -> tuple | None:
    ss, sb = st.session_state, st.sidebar
    if source == "sample":
        names = [n for n, s in S.SAMPLES.items() if s.rank == rank]
        if ss.get("in.sample") not in names:
            ss["in.sample"] = S.DEFAULT_SAMPLE[rank]
        return _sample(sb.selectbox("Sample", names, key="in.sample",
                                    format_func=lambda n: S.SAMPLES[n].label))
    if source == "upload":
        return _upload(rank)
    if source == "camera":
        got = sb.camera_input("Take a picture", key="in.camera")
        name, label = "camera.jpg", "camera"
    else:
        got = sb.audio_input("Record a sound", key="in.mic", sample_rate=8000)
        name, label = "recording.wav", "microphone"
    if got is None:
        return None
    data = got.getvalue()
    base, meta = cached.upload_array(data, name, rank)
    return base, meta, label, (source, hash(data)), None


def _upload(rank: int) -> tuple | None:
    """The uploaded file, or the session's last good upload of this rank while the
    uploader is empty (or its new file is refused: the error is raised)."""
    ss, sb = st.session_state, st.sidebar
    up = sb.file_uploader(
        f"{UPLOAD_LABELS[rank]} ({', '.join(t.upper() for t in UPLOAD_TYPES[rank])})",
        type=UPLOAD_TYPES[rank], key="in.upload")
    if up is None:
        sb.info("Choose a file; until then the default sample is used.")
    else:
        data = up.getvalue()
        base, meta = cached.upload_array(data, up.name, rank)
        ss["last_upload"] = (base, meta, f"upload: {up.name}", ("upload", up.name, len(data)))
    last = ss.get("last_upload")
    if last and last[0].ndim == rank + 1:
        return (*last, None)
    return None


def _shape_widgets(rank: int, meta: dict, spatial: tuple) -> tuple:
    """Colour (images and volumes), resize and batch widgets → (color, size or None,
    batch)."""
    ss, sb = st.session_state, st.sidebar
    color = "auto"
    if meta.get("kind") in ("image", "volume"):
        color = sb.radio("Colour", S.COLOR_MODES, key="in.color", horizontal=True,
                         format_func={"auto": "as loaded", "rgb": "RGB",
                                      "gray": "grayscale"}.get)
    size = None
    if sb.checkbox("Resize", key="in.resize",
                   help="Resize the spatial axes (bilinear; box-averaged when shrinking)."):
        cur = ss.get("in.size") or spatial
        cur = cur if len(cur) == rank else spatial
        vals = []
        for i, c in enumerate(sb.columns(rank)):
            k = f"in.size.{i}"
            if k not in ss:
                ss[k] = min(max(int(cur[i]), 1), S.MAX_SIZE)
            vals.append(int(c.number_input(f"{AXIS_SHORT[rank][i]}", min_value=1,
                                           max_value=S.MAX_SIZE, step=1, key=k)))
        size = ss["in.size"] = tuple(vals)
    else:
        for i in range(3):
            ss.pop(f"in.size.{i}", None)
    batch = int(sb.number_input("Batch size", min_value=1, max_value=S.MAX_BATCH, step=1,
                                key="in.batch",
                                help="Items after the first are flipped / shifted copies."))
    return color, size, batch


def _prepared(key, base: np.ndarray, rank: int, fields: dict, data_format: str,
              err: str | None) -> tuple[np.ndarray, str | None]:
    """The layer's input ``(batch, *spatial, channels)`` in ``data_format`` from ``base``
    and the widgets' ``fields`` (colour, size, batch) → (x, error or None). Over the input
    budget: the largest size that fits (said in the sidebar; an automatic fit stays out of
    the URL, ``fields["size"]`` is updated)."""
    sb = st.sidebar
    color, size, batch = fields["color"], fields["size"], fields["batch"]
    try:
        return cached.prepared(key, base, rank, color, size, batch, data_format), err
    except eio.InputError as exc:
        spatial, c = tuple(base.shape[:-1]), base.shape[-1]
        per_cell = batch * (1 if color == "gray" else (3 if color == "rgb" and c == 1 else c))
        fit = compute.fit_size(spatial, per_cell)
        if size is None:
            sb.info(f"This input ({' × '.join(map(str, spatial))}, batch {batch}) is larger "
                    f"than the server's budget of {compute.MAX_INPUT_ELEMENTS:,} values, so it "
                    f"is shown downscaled to {' × '.join(map(str, fit))}. Keras would compute "
                    "the same layer at full size, only slower.")
        else:
            sb.error(str(exc))
            err = err or str(exc)
    try:
        x = cached.prepared(key, base, rank, color, None if fit == spatial else fit, batch,
                            data_format)
        fields["size"] = None if size is None or fit == spatial else fit
        return x, err
    except eio.InputError as exc2:  # should not happen: fall back to the default sample
        default, _ = cached.sample_array(S.DEFAULT_SAMPLE[rank])
        fields.update(size=None, batch=1, color="auto")
        return (cached.prepared(("sample", S.DEFAULT_SAMPLE[rank]), default, rank, "auto",
                                None, 1, data_format), err or str(exc2))
