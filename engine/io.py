"""Loading images, signals and volumes into float32 arrays, with errors a person can act on.

Everything returns plain NumPy arrays *without* a batch axis, channels last:

- images  → ``(rows, cols, channels)`` with values in ``[0, 1]`` (1 or 3 channels);
- signals → ``(steps, channels)`` (CSV/TXT columns, WAV channels scaled to ``[-1, 1]``, NPY);
- volumes → ``(depth, rows, cols, channels)`` (GIF/TIFF frames, NPY).

Bad input raises :class:`InputError` (a ``ValueError``) saying what is wrong and what to do.
All limits are the constants below: bytes read, pixels per frame, frames, samples, elements
and dimensions. Pillow's decompression-bomb guard is kept (its warning becomes an error) and
our own pixel cap is checked before any pixel is decoded. ``.npy`` files are read with
``allow_pickle=False``: object arrays are refused, never unpickled.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Union

import numpy as np

# --------------------------------------------------------------------------- limits (one place)
MAX_BYTES = 20 * 1024 * 1024          # any single file (matches .streamlit maxUploadSize)
MAX_PIXELS = 4096 * 4096              # pixels per image frame
MAX_FRAMES = 256                      # frames of a GIF / TIFF volume
MAX_VOLUME_VOXELS = 16 * 1024 * 1024  # depth × rows × cols of a volume
MAX_SIGNAL_STEPS = 2_000_000          # samples per channel of a signal
MAX_CHANNELS = 64                     # channels of a signal or an NPY array
MAX_ELEMENTS = 32 * 1024 * 1024       # elements of any loaded array
MAX_NDIM = 4                          # dimensions of an NPY array (no batch axis)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
SIGNAL_EXTENSIONS = (".csv", ".txt", ".wav", ".npy")
VOLUME_EXTENSIONS = (".npy", ".tif", ".tiff", ".gif")

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, io.IOBase]


class InputError(ValueError):
    """An input that cannot be used, with a message saying what to change."""


@dataclass
class Loaded:
    """A loaded array plus what it is: ``kind`` is ``image``, ``signal`` or ``volume``."""

    array: np.ndarray
    kind: str
    name: str = ""
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- bytes

def read_bytes(source: Source, name: str = "") -> tuple[bytes, str]:
    """``source`` (bytes, a path, or a binary file object such as an upload) → (bytes, name),
    refusing more than :data:`MAX_BYTES`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        try:
            size = os.path.getsize(source)
        except OSError as exc:
            raise InputError(f"Cannot open {os.fspath(source)!r}: {exc.strerror or exc}.") from None
        if size > MAX_BYTES:
            raise InputError(_too_big(size, name))
        with open(source, "rb") as fh:
            data = fh.read()
    elif hasattr(source, "read"):
        name = name or getattr(source, "name", "") or ""
        data = source.read(MAX_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
    else:
        raise InputError(f"Cannot read an input of type {type(source).__name__}; "
                         "give bytes, a file path or an open binary file.")
    if len(data) > MAX_BYTES:
        raise InputError(_too_big(len(data), name))
    if not data:
        raise InputError(f"The file {name or ''} is empty; choose a file with some data in it."
                         .replace("file  is", "file is"))
    return data, name


def _too_big(n: int, name: str) -> str:
    return (f"The file {name + ' ' if name else ''}is {n / 1e6:.1f} MB; the limit is "
            f"{MAX_BYTES / 1e6:.0f} MB. Use a smaller or downscaled file.")


def _ext(name: str) -> str:
    return os.path.splitext(name or "")[1].lower()


def _check_elements(shape, what: str) -> None:
    n = math.prod(int(d) for d in shape)
    if n > MAX_ELEMENTS:
        raise InputError(f"The {what} has {n:,} values (shape {tuple(shape)}); the limit is "
                         f"{MAX_ELEMENTS:,}. Use a smaller or downscaled input.")


# --------------------------------------------------------------------------- images

# ``warnings.catch_warnings`` swaps process-wide state: one session at a time.
_WARNINGS_LOCK = threading.Lock()

# Files people try that Pillow cannot read, recognised by their first bytes.
_NOT_IMAGES = (
    (lambda d: d[4:12] in (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1"),
     "a HEIC/HEIF photo (the iPhone camera's format). Share or export it as JPEG (on an "
     "iPhone: Settings → Camera → Formats → Most Compatible)"),
    (lambda d: d.lstrip()[:5] in (b"<?xml", b"<svg ") or b"<svg" in d[:256],
     "an SVG drawing (vector graphics). Export it as PNG"),
    (lambda d: d[:4] == b"%PDF", "a PDF document. Export the page as PNG or JPEG"),
    (lambda d: d[:4] == b"PK\x03\x04", "a ZIP archive (or .npz / Office file). Unpack it first"),
)


def _open_image(data: bytes, name: str):
    from PIL import Image, UnidentifiedImageError

    label = name or "The file"
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise InputError(f"The image {name} is too large to decode safely (Pillow's "
                             f"decompression-bomb guard). The limit is {MAX_PIXELS:,} pixels."
                             ) from None
        except UnidentifiedImageError:
            for test, what in _NOT_IMAGES:
                if test(data[:512]):
                    raise InputError(f"{label} is {what}.") from None
            raise InputError(
                f"{label} is not an image Pillow can read. Use PNG, JPEG, GIF, "
                "BMP, TIFF or WebP.") from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on broken files
            raise InputError(f"Cannot read the image {name}: {exc}. The file may be "
                             "truncated or corrupt.") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(f"The image {name} is {w}×{h} = {w * h:,} pixels; the limit is "
                         f"{MAX_PIXELS:,}. Downscale it first.")
    if w == 0 or h == 0:
        raise InputError(f"The image {name} has no pixels ({w}×{h}).")
    return img


def _frame_count(img, name: str) -> int:
    """Frames of an opened image; Pillow finds them by reading the file, so a broken
    multi-frame GIF / TIFF fails here (with any of many exception types)."""
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on broken files
        raise InputError(f"Cannot read the frames of {name or 'the image'}: {exc}. The file may "
                         "be truncated or corrupt.") from None


def _frame_to_array(frame, keep_alpha: bool = False) -> np.ndarray:
    """One Pillow frame → float32 (rows, cols, 1 or 3) in [0, 1]."""
    from PIL import Image

    mode = frame.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(frame, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        return (np.clip(arr / top, 0, 1)[..., None]).astype(np.float32)
    if mode == "F":
        arr = np.asarray(frame, dtype=np.float64)  # (float32 spans can overflow)
        if not np.all(np.isfinite(arr)):
            raise InputError("This floating-point image contains NaN or infinite pixels; "
                             "replace them with numbers first.")
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        return arr[..., None].astype(np.float32)
    if mode in ("1", "L"):
        return (np.asarray(frame.convert("L"), dtype=np.float32) / 255.0)[..., None]
    if mode in ("LA", "RGBA", "PA", "P") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        # composite on white: transparent parts of a drawing read as paper
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(bg, rgba).convert("RGB")
    else:
        frame = frame.convert("RGB")
    return np.asarray(frame, dtype=np.float32) / 255.0


def load_image(source: Source, name: str = "") -> np.ndarray:
    """An image file → float32 ``(rows, cols, channels)`` in [0, 1], 1 (gray) or 3 (RGB)
    channels, rotated upright by its EXIF orientation. Animated files give their first frame."""
    from PIL import ImageOps

    data, name = read_bytes(source, name)
    img = _open_image(data, name)
    try:
        img.seek(0)
        img = ImageOps.exif_transpose(img)
        arr = _frame_to_array(img)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"Cannot decode the image {name}: {exc}. The file may be truncated "
                         "or corrupt.") from None
    if arr.shape[-1] == 3 and np.allclose(arr[..., 0], arr[..., 1]) and np.allclose(
            arr[..., 1], arr[..., 2]):
        arr = arr[..., :1]
    return np.ascontiguousarray(arr, dtype=np.float32)


def load_image_frames(source: Source, name: str = "") -> np.ndarray:
    """A multi-frame GIF / TIFF → float32 ``(frames, rows, cols, channels)`` in [0, 1]."""
    data, name = read_bytes(source, name)
    img = _open_image(data, name)
    n = _frame_count(img, name)
    if n > MAX_FRAMES:
        raise InputError(f"{name or 'The file'} has {n} frames; the limit is {MAX_FRAMES}. "
                         "Trim the clip first.")
    w, h = img.size
    if n * w * h > MAX_VOLUME_VOXELS:
        raise InputError(f"{name or 'The file'} has {n} frames of {w}×{h} = {n * w * h:,} "
                         f"voxels; the limit is {MAX_VOLUME_VOXELS:,}. Use fewer or smaller "
                         "frames.")
    frames = []
    try:
        for i in range(n):
            img.seek(i)
            frame = _frame_to_array(img.copy())
            if frame.shape[:2] != (h, w):
                raise InputError(f"Frame {i} of {name} is {frame.shape[1]}×{frame.shape[0]}, "
                                 f"not {w}×{h}; all frames must have the same size.")
            frames.append(frame)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"Cannot decode frame {len(frames)} of {name}: {exc}.") from None
    channels = max(f.shape[-1] for f in frames)
    frames = [np.repeat(f, channels, axis=-1) if f.shape[-1] != channels else f for f in frames]
    arr = np.stack(frames)
    if channels == 3 and np.allclose(arr[..., 0], arr[..., 1]) and np.allclose(
            arr[..., 1], arr[..., 2]):
        arr = arr[..., :1]
    return np.ascontiguousarray(arr, dtype=np.float32)


# --------------------------------------------------------------------------- signals

def load_npy(source: Source, name: str = "") -> np.ndarray:
    """A ``.npy`` file → its array (never unpickles), checked for size and numeric dtype."""
    data, name = read_bytes(source, name)
    if not data.startswith(b"\x93NUMPY"):
        raise InputError(f"{name or 'The file'} is not a NumPy .npy file (it lacks the "
                         "\\x93NUMPY header). Save arrays with numpy.save.")
    try:
        fh = io.BytesIO(data)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"Cannot read the .npy header of {name}: {exc}.") from None
    if dtype.hasobject:
        raise InputError(f"{name or 'The .npy file'} holds Python objects (dtype {dtype}); "
                         "only numeric arrays are accepted, pickled data is never loaded.")
    if len(shape) > MAX_NDIM:
        raise InputError(f"{name or 'The array'} has {len(shape)} dimensions {shape}; at most "
                         f"{MAX_NDIM} are accepted (leave out the batch axis).")
    if 0 in shape:
        raise InputError(f"{name or 'The array'} has an empty axis (shape {shape}): it holds no "
                         "values. Save a non-empty array.")
    _check_elements(shape, "array")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"Cannot load {name}: {exc}. The file may be truncated.") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name or 'The array'} has dtype {arr.dtype}; use a numeric array "
                         "(bool, int or float).")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InputError(f"{name or 'The array'} contains NaN or infinite values; replace "
                         "them with numbers first.")
    if arr.size and arr.dtype.itemsize > 4 and float(np.abs(arr).max()) > float(
            np.finfo(np.float32).max):
        raise InputError(f"{name or 'The array'} has values beyond the float32 range "
                         "(±3.4e38) that Keras layers compute in; rescale it first.")
    return arr.astype(np.float32)


_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")


def _csv_cells(line: str, delim):
    if "\x00" in line:  # (csv.reader refuses NUL on Python < 3.11)
        raise ValueError("NUL byte")
    try:
        cells = next(csv.reader([line], delimiter=delim)) if delim else line.split()
    except csv.Error as exc:
        raise ValueError(str(exc)) from None
    return [c.strip() for c in cells if c.strip() != ""]


def _csv_fast(lines: list, delim) -> np.ndarray | None:
    """NumPy's C parser for a clean file (header skipped): ``None`` if anything is unusual,
    so that :func:`_csv_rows` can name the problem. Keeps a 20 MB upload to a fraction of
    a second instead of seconds holding the GIL."""
    try:
        [float(c) for c in _csv_cells(lines[0], delim)]
        body = lines
    except ValueError:
        body = lines[1:]
    if not body:
        return None
    try:
        arr = np.loadtxt(body, delimiter=delim, dtype=np.float64, ndmin=2, comments=None,
                         quotechar='"', max_rows=MAX_SIGNAL_STEPS + 1)
    except (ValueError, TypeError, IndexError):
        return None
    return arr if arr.size else None


def _csv_rows(lines: list, delim, name: str) -> list:
    """The slow, careful reader: rows of floats, or InputError naming the bad line."""
    rows = []
    for i, ln in enumerate(lines):
        try:
            rows.append([float(c) for c in _csv_cells(ln, delim)])
        except ValueError:
            if any(_DECIMAL_COMMA.match(c.strip()) for c in ln.split(";" if ";" in ln else "\t")):
                raise InputError(f"{name or 'The file'} writes decimals with a comma (e.g. "
                                 f"{ln[:30]!r}); use a decimal point (1.5, not 1,5).") from None
            if i == 0 and not rows:
                continue  # header row
            raise InputError(f"Line {i + 1} of {name or 'the file'} is not all numbers: "
                             f"{ln[:60]!r}. Only the first row may be a header.") from None
        if len(rows) > MAX_SIGNAL_STEPS:
            raise InputError(f"{name or 'The signal'} has more than {MAX_SIGNAL_STEPS:,} "
                             "rows; shorten it first.")
    if not rows:
        raise InputError(f"{name or 'The file'} has a header but no rows of numbers.")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise InputError(f"The rows of {name or 'the file'} have different numbers of "
                         f"values ({sorted(widths)}); every row needs one value per channel.")
    return rows


def load_csv(source: Source, name: str = "") -> np.ndarray:
    """CSV / TXT numbers → float32 ``(steps, channels)``: one column per channel, any of
    comma, semicolon, tab or spaces between values, an optional header row (skipped) and
    ``#`` comments. One row of many values is read as one channel."""
    data, name = read_bytes(source, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name or 'The file'} is not UTF-8 text; save the signal as a "
                         "plain CSV/TXT file of numbers.") from None
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise InputError(f"{name or 'The file'} has no numbers in it.")
    sample = "\n".join(lines[:20])
    delim = None
    for d in (",", ";", "\t"):
        if d in sample:
            delim = d
            break
    arr = _csv_fast(lines, delim)
    if arr is None:  # something is off: the line-by-line reader says what and where
        arr = np.asarray(_csv_rows(lines, delim, name), dtype=np.float64)
    if arr.shape[0] > MAX_SIGNAL_STEPS:
        raise InputError(f"{name or 'The signal'} has more than {MAX_SIGNAL_STEPS:,} "
                         "rows; shorten it first.")
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(f"{name or 'The signal'} contains NaN or infinite values (first at "
                         f"data row {r + 1}, column {c + 1}); replace them with numbers.")
    if arr.size and float(np.abs(arr).max()) > float(np.finfo(np.float32).max):
        raise InputError(f"{name or 'The signal'} has values beyond the float32 range "
                         "(±3.4e38) that Keras layers compute in; rescale it first.")
    if arr.shape[0] == 1 and arr.shape[1] > 1:
        arr = arr.T
    return _check_signal(arr.astype(np.float32), name)


_WAV_PCM, _WAV_FLOAT, _WAV_ALAW, _WAV_MULAW, _WAV_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_WAV_NAMES = {2: "Microsoft ADPCM", 6: "A-law", 7: "µ-law", 0x11: "IMA ADPCM", 0x55: "MP3"}


def _wav_chunks(data: bytes, name: str) -> tuple[bytes, bytes]:
    """RIFF/WAVE bytes → (``fmt `` chunk, ``data`` chunk), tolerating a ``data`` size that
    runs past the end (streamed recordings) and odd-sized chunks (padded to even)."""
    label = name or "The file"
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        kind = "a big-endian RIFX file" if data[:4] == b"RIFX" else (
            "a RIFF file but not WAVE audio" if data[:4] == b"RIFF" else "not a WAV file")
        raise InputError(f"{label} is {kind}. Export the sound as 16-bit PCM WAV.")
    fmt = payload = None
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt " and fmt is None:
            fmt = body
        elif cid == b"data" and payload is None:
            payload = body
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise InputError(f"{label} has no valid `fmt ` chunk; it is not a complete WAV file. "
                         "Export it again as 16-bit PCM WAV.")
    if payload is None:
        raise InputError(f"{label} has no `data` chunk (no audio samples). The file may be "
                         "truncated; export it again.")
    return fmt, payload


def load_wav(source: Source, name: str = "") -> tuple[np.ndarray, int]:
    """WAV → float32 ``(steps, channels)`` and the sample rate.

    Integer PCM of 8 (unsigned), 16, 24 or 32 bits is scaled to [-1, 1]; IEEE float
    (32/64-bit) is kept as is (NaN/Inf refused). ``WAVE_FORMAT_EXTENSIBLE`` files (what
    most editors write for 24-bit or multi-channel audio) are read by their sub-format.
    Mono or up to :data:`MAX_CHANNELS` channels. Compressed WAV (A-law, µ-law, ADPCM, MP3)
    is refused with a message."""
    data, name = read_bytes(source, name)
    label = name or "The audio"
    fmt, raw = _wav_chunks(data, name)
    tag, channels, rate = (int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[2:4], "little"),
                           int.from_bytes(fmt[4:8], "little"))
    align, bits = int.from_bytes(fmt[12:14], "little"), int.from_bytes(fmt[14:16], "little")
    if tag == _WAV_EXTENSIBLE:
        if len(fmt) < 40:
            raise InputError(f"{label} declares WAVE_FORMAT_EXTENSIBLE but its `fmt ` chunk "
                             "is too short. Export it again as 16-bit PCM WAV.")
        tag = int.from_bytes(fmt[24:26], "little")  # first bytes of the sub-format GUID
    if tag not in (_WAV_PCM, _WAV_FLOAT):
        what = _WAV_NAMES.get(tag, f"format code {tag}")
        raise InputError(f"{label} is compressed WAV ({what}); only uncompressed PCM or float "
                         "WAV is read. Export it as 16-bit PCM WAV.")
    if channels < 1:
        raise InputError(f"{label} declares {channels} channels; a WAV file needs at least 1.")
    if channels > MAX_CHANNELS:
        raise InputError(f"{label} has {channels} channels; the limit is {MAX_CHANNELS}. "
                         "Mix it down to fewer channels.")
    if rate < 1:
        raise InputError(f"{label} declares a sample rate of {rate} Hz; it is not valid audio.")
    width = align // channels if align else 0
    if width * channels != align or width < 1 or (tag == _WAV_PCM and width > 4) or (
            tag == _WAV_FLOAT and width not in (4, 8)) or bits > 8 * width:
        raise InputError(f"{label} uses {bits}-bit samples in {align}-byte frames of "
                         f"{channels} channel(s); use 8, 16, 24 or 32-bit PCM or 32/64-bit float.")
    n = len(raw) // align
    if n > MAX_SIGNAL_STEPS:
        raise InputError(f"{label} has {n:,} samples per channel ({n / rate:.1f} s at {rate} Hz);"
                         f" the limit is {MAX_SIGNAL_STEPS:,}. Trim or downsample it.")
    if n == 0:
        raise InputError(f"{label} has no samples.")
    raw = raw[: n * align]
    if tag == _WAV_FLOAT:
        arr = np.frombuffer(raw, "<f4" if width == 4 else "<f8").astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{label} contains NaN or infinite samples; export it again.")
        if np.abs(arr).max() > np.finfo(np.float32).max:
            raise InputError(f"{label} has samples beyond the float32 range.")
        arr = arr.astype(np.float32)
    elif width == 1:
        arr = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        arr = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        arr = v.astype(np.float32) / float(1 << 23)
    else:
        arr = (np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    return np.ascontiguousarray(arr.reshape(n, channels)), int(rate)


def _is_wav(data: bytes) -> bool:
    """RIFF bytes holding WAVE audio (a WebP image is RIFF too)."""
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def _check_signal(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"A signal needs 1 or 2 dimensions (steps, channels); {name or 'it'} "
                         f"has shape {arr.shape}.")
    if arr.shape[1] > MAX_CHANNELS and arr.shape[0] <= MAX_CHANNELS:
        arr = arr.T  # (channels, steps) given: use steps as the long axis
    if arr.shape[1] > MAX_CHANNELS:
        raise InputError(f"{name or 'The signal'} has {arr.shape[1]} channels; the limit is "
                         f"{MAX_CHANNELS}. Give one column per channel.")
    if arr.shape[0] > MAX_SIGNAL_STEPS:
        raise InputError(f"{name or 'The signal'} has {arr.shape[0]:,} steps; the limit is "
                         f"{MAX_SIGNAL_STEPS:,}.")
    if 0 in arr.shape:
        raise InputError(f"{name or 'The signal'} has no samples (shape {arr.shape}).")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name or 'The signal'} contains NaN or infinite values.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def load_signal(source: Source, name: str = "") -> Loaded:
    """A CSV/TXT, WAV or 1-D/2-D NPY file → :class:`Loaded` signal ``(steps, channels)``."""
    data, name = read_bytes(source, name)
    ext = _ext(name)
    if ext == ".wav" or _is_wav(data):
        arr, rate = load_wav(data, name)
        return Loaded(arr, "signal", name, {"sample_rate": rate})
    if ext == ".npy" or data.startswith(b"\x93NUMPY"):
        return Loaded(_check_signal(load_npy(data, name), name), "signal", name)
    if ext in ("", ".csv", ".txt", ".tsv", ".dat"):
        return Loaded(load_csv(data, name), "signal", name)
    raise InputError(f"{name} is not a signal file; use CSV, TXT, WAV or NPY.")


def load_volume(source: Source, name: str = "") -> Loaded:
    """A multi-frame GIF/TIFF or a 3-D/4-D NPY → :class:`Loaded` volume
    ``(depth, rows, cols, channels)``."""
    data, name = read_bytes(source, name)
    if _ext(name) == ".npy" or data.startswith(b"\x93NUMPY"):
        arr = load_npy(data, name)
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.ndim != 4:
            raise InputError(f"A volume needs shape (depth, rows, cols) or (depth, rows, cols, "
                             f"channels); {name or 'the array'} has shape {arr.shape}.")
        if arr.shape[-1] > MAX_CHANNELS:
            raise InputError(f"{name} has {arr.shape[-1]} channels on its last axis; the limit "
                             f"is {MAX_CHANNELS}. Save it as (depth, rows, cols[, channels]).")
        if math.prod(arr.shape[:3]) > MAX_VOLUME_VOXELS:
            raise InputError(f"{name} has {math.prod(arr.shape[:3]):,} voxels; the limit is "
                             f"{MAX_VOLUME_VOXELS:,}.")
        if 0 in arr.shape:
            raise InputError(f"{name} has an empty axis: shape {arr.shape}.")
        return Loaded(np.ascontiguousarray(arr), "volume", name)
    return Loaded(load_image_frames(data, name), "volume", name)


def load_any(source: Source, name: str = "", kind: str | None = None) -> Loaded:
    """Load by ``kind`` (``image``, ``signal``, ``volume``) or guess it from the name and
    content: images for picture files, signals for CSV/TXT/WAV and 1-D/2-D NPY, volumes for
    3-D/4-D NPY and multi-frame GIF/TIFF."""
    data, name = read_bytes(source, name)
    ext = _ext(name)
    if kind == "image":
        return Loaded(load_image(data, name), "image", name)
    if kind == "signal":
        return load_signal(data, name)
    if kind == "volume":
        return load_volume(data, name)
    if kind is not None:
        raise InputError(f"Unknown input kind {kind!r}; use image, signal or volume.")
    if ext == ".npy" or data.startswith(b"\x93NUMPY"):
        arr = load_npy(data, name)
        if arr.ndim <= 2:
            return Loaded(_check_signal(arr, name), "signal", name)
        return load_volume(data, name)
    if ext in (".csv", ".txt", ".tsv", ".dat", ".wav") or _is_wav(data):
        return load_signal(data, name)
    if ext in IMAGE_EXTENSIONS or not ext:
        if ext in (".gif", ".tif", ".tiff"):
            img = _open_image(data, name)
            if _frame_count(img, name) > 1:
                return load_volume(data, name)
        return Loaded(load_image(data, name), "image", name)
    raise InputError(f"{name} has an unsupported extension {ext!r}. Use an image "
                     f"({', '.join(IMAGE_EXTENSIONS)}), a signal (.csv, .txt, .wav, .npy) or "
                     "a volume (.npy, multi-frame .gif/.tif).")


# --------------------------------------------------------------------------- transforms

def to_grayscale(arr: np.ndarray) -> np.ndarray:
    """Channels-last array with 3 (or 4) channels → 1 channel of ITU-R 601 luma."""
    if arr.shape[-1] == 1:
        return arr
    if arr.shape[-1] >= 3:
        w = np.array([0.299, 0.587, 0.114], np.float32)
        return (arr[..., :3] @ w)[..., None].astype(np.float32)
    return arr.mean(axis=-1, keepdims=True).astype(np.float32)


def to_rgb(arr: np.ndarray) -> np.ndarray:
    """1-channel array → 3 identical channels; others unchanged."""
    return np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr


def resize(arr: np.ndarray, spatial: tuple) -> np.ndarray:
    """Resize the leading spatial axes of a channels-last array (no batch) to ``spatial``
    with linear interpolation (antialiased box averaging when shrinking images)."""
    spatial = tuple(int(s) for s in spatial)
    if any(s <= 0 for s in spatial):
        raise InputError(f"Sizes must be positive; received {spatial}.")
    if math.prod(spatial) * arr.shape[-1] > MAX_ELEMENTS:
        raise InputError(f"Resizing to {spatial} would give {math.prod(spatial) * arr.shape[-1]:,}"
                         f" values; the limit is {MAX_ELEMENTS:,}.")
    if tuple(arr.shape[:-1]) == spatial:
        return arr
    rank = arr.ndim - 1
    if rank == 1:
        n = arr.shape[0]
        src = np.linspace(0, n - 1, spatial[0]) if n > 1 else np.zeros(spatial[0])
        return np.stack([np.interp(src, np.arange(n), arr[:, c]) for c in range(arr.shape[1])],
                        axis=-1).astype(np.float32)
    if rank == 2:
        from PIL import Image

        chans = [np.asarray(Image.fromarray(np.ascontiguousarray(arr[..., c], dtype=np.float32)).resize(
            (spatial[1], spatial[0]), Image.Resampling.BILINEAR,
            reducing_gap=None), dtype=np.float32) for c in range(arr.shape[-1])]
        return np.stack(chans, axis=-1)
    from scipy import ndimage

    factors = [s / n for s, n in zip(spatial, arr.shape[:-1])] + [1.0]
    out = ndimage.zoom(arr, factors, order=1, grid_mode=True, mode="nearest")
    return np.ascontiguousarray(out[tuple(slice(0, s) for s in spatial)], dtype=np.float32)
