"""10,000 random and mutated uploads through engine.io and the app's upload path.

Small valid files of every accepted format (PNG, JPEG, GIF, TIFF, WebP, BMP, WAV, CSV,
TXT, NPY, in their common variants) are generated here, then mutated: truncated, bytes
overwritten, chunks inserted or deleted, renamed, or given huge declared sizes (PNG / BMP /
GIF / JPEG / TIFF / WebP dimensions, WAV channel counts and chunk sizes, NPY shapes), plus
random bytes behind real magic numbers. Each file goes through :func:`engine.io.load_any`
with the kind the uploader would ask for and with the kind guessed, and through
``app.cached.upload_array`` + ``app.compute.prepare`` (what the sidebar does with an upload).
Every outcome must be a clean float32 array of the documented layout or an ``InputError``
with a short message — never another exception — and a good upload still works afterwards.

``CONVLAB_FUZZ_EXAMPLES`` scales the file count (default 1 → 10,000 files);
``CONVLAB_FUZZ_RANDOM=1`` draws a new seed (printed on failure).
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import wave
import zlib

import numpy as np
import pytest
from PIL import Image

from engine import io as eio

FILES = max(1, int(10_000 * float(os.environ.get("CONVLAB_FUZZ_EXAMPLES", "1"))))
RANDOM = os.environ.get("CONVLAB_FUZZ_RANDOM", "") not in ("", "0")
SEED = int.from_bytes(os.urandom(4), "little") if RANDOM else 20261201
KIND = {".png": "image", ".jpg": "image", ".gif": "image", ".bmp": "image", ".webp": "image",
        ".tif": "image", ".wav": "signal", ".csv": "signal", ".txt": "signal",
        ".npy": "signal"}
VOLUMES = {"a.npy", "v.npy"}  # seed files with 3 or 4 dimensions
RANK = {"image": 2, "signal": 1, "volume": 3}
NDIM = {"image": 3, "signal": 2, "volume": 4}


# --------------------------------------------------------------------------- seed files

def _pil(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _rgb(h=6, w=5, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _wav(width, channels, frames=40, tag=None):
    if tag is None:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(width)
            w.setframerate(8000)
            w.writeframes(bytes(range(256)) * (frames * width * channels // 256 + 1))
        return buf.getvalue()
    data = np.linspace(-1, 1, frames * channels).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", tag, channels, 8000, 8000 * 4 * channels, 4 * channels, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def seed_files():
    """(name, bytes) of small valid files, several variants per format."""
    rgb = _rgb()
    frames = [_rgb(seed=i) for i in range(3)]
    return [
        ("a.png", _pil(rgb, "PNG")), ("g.png", _pil(rgb.convert("L"), "PNG")),
        ("p.png", _pil(rgb.convert("P"), "PNG")), ("t.png", _pil(rgb.convert("RGBA"), "PNG")),
        ("d.png", _pil(Image.fromarray(np.arange(30, dtype=np.uint16).reshape(6, 5) * 999),
                       "PNG")),
        ("a.jpg", _pil(rgb, "JPEG")), ("p.jpg", _pil(rgb, "JPEG", progressive=True)),
        ("g.jpg", _pil(rgb.convert("L"), "JPEG")),
        ("a.gif", _pil(rgb, "GIF")),
        ("m.gif", _pil(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("a.bmp", _pil(rgb, "BMP")), ("a.webp", _pil(rgb, "WEBP")),
        ("l.webp", _pil(rgb, "WEBP", lossless=True)),
        ("a.tif", _pil(rgb, "TIFF")),
        ("f.tif", _pil(Image.fromarray(np.linspace(-2, 3, 30, dtype=np.float32).reshape(6, 5)),
                       "TIFF")),
        ("m.tif", _pil(frames[0], "TIFF", save_all=True, append_images=frames[1:])),
        ("a.wav", _wav(2, 1)), ("b.wav", _wav(1, 2)), ("c.wav", _wav(3, 2)),
        ("d.wav", _wav(4, 1)), ("f.wav", _wav(4, 2, tag=3)),
        ("a.csv", b"t,x,y\n0,1.5,2\n1,2.5,-3\n2,1e-3,4\n"), ("b.csv", b"1;2\n3;4\n5;6\n"),
        ("a.txt", b"1 2 3\n4 5 6\n# c\n7 8 9\n"), ("c.csv", b"0.5\n0.25\n-1\n"),
        ("a.npy", _npy(np.arange(24, dtype=np.float32).reshape(2, 3, 4))),
        ("b.npy", _npy(np.arange(10, dtype=np.int16))),
        ("c.npy", _npy(np.ones((3, 4), ">f8"))), ("v.npy", _npy(np.zeros((2, 3, 3, 2), np.uint8))),
    ]


# --------------------------------------------------------------------------- mutations

def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_sizes(name, data, rng):
    """``data`` with a huge (or zero) declared size in its header, checksums kept valid
    where the format has them, so that the header parses."""
    big = int(rng.choice([0, 1, 2 ** 15, 2 ** 16 - 1, 2 ** 24, 2 ** 31 - 1, 2 ** 32 - 1]))
    out = bytearray(data)
    ext = os.path.splitext(name)[1]
    if ext == ".png" and len(out) > 33:
        w, h = (big, 1) if rng.random() < 0.5 else (big, big)
        ihdr = struct.pack(">II", w & 0xFFFFFFFF, h & 0xFFFFFFFF) + bytes(out[24:29])
        return bytes(out[:8]) + _png_chunk(b"IHDR", ihdr) + bytes(out[33:])
    if ext == ".gif" and len(out) > 10:
        out[6:10] = struct.pack("<HH", big & 0xFFFF, big & 0xFFFF)
    elif ext == ".bmp" and len(out) > 26:
        out[18:26] = struct.pack("<ii", big & 0x7FFFFFFF, -(big & 0x7FFFFFFF))
    elif ext == ".jpg":
        at = out.find(b"\xff\xc0") if out.find(b"\xff\xc0") > 0 else out.find(b"\xff\xc2")
        if at > 0 and len(out) > at + 9:
            out[at + 5:at + 9] = struct.pack(">HH", big & 0xFFFF, big & 0xFFFF)
    elif ext == ".tif" and len(out) > 8:
        ifd = struct.unpack("<I", bytes(out[4:8]))[0]
        if ifd + 2 <= len(out):
            for e in range(struct.unpack("<H", bytes(out[ifd:ifd + 2]))[0]):
                p = ifd + 2 + 12 * e
                if p + 12 <= len(out) and struct.unpack("<H", bytes(out[p:p + 2]))[0] in (
                        256, 257, 277, 258):
                    out[p + 2:p + 4] = struct.pack("<H", 4)
                    out[p + 8:p + 12] = struct.pack("<I", big & 0xFFFFFFFF)
    elif ext == ".webp" and len(out) > 30:
        out[26:30] = struct.pack("<HH", big & 0x3FFF, big & 0x3FFF)
    elif ext == ".wav" and len(out) > 44:
        field = int(rng.integers(4))
        if field == 0:
            out[22:24] = struct.pack("<H", big & 0xFFFF)  # channels
        elif field == 1:
            out[40:44] = struct.pack("<I", big & 0xFFFFFFFF)  # data size
        elif field == 2:
            out[32:34] = struct.pack("<H", big & 0xFFFF)  # block align
        else:
            out[16:20] = struct.pack("<I", big & 0xFFFFFFFF)  # fmt chunk size
    elif ext == ".npy":
        shape = tuple(int(v) for v in rng.choice([0, 1, 3, big, 10 ** 9, 2 ** 62],
                                                 size=rng.integers(1, 6)))
        header = repr({"descr": str(rng.choice(["<f4", "<f8", "|u1", "<i8", "|b1"])),
                       "fortran_order": bool(rng.random() < 0.3), "shape": shape}).encode()
        header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(data[-64:])
    elif ext in (".csv", ".txt"):
        return (",".join(["1"] * int(rng.integers(1, 200))) + "\n").encode() * int(
            rng.integers(1, 50))
    return bytes(out)


MAGIC = [b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff\xe0", b"BM", b"II*\x00", b"MM\x00*",
         b"RIFF\x00\x01\x00\x00WAVEfmt ", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x93NUMPY\x01\x00",
         b"\x93NUMPY\x02\x00", b"1,2\n", b"\xef\xbb\xbf", b""]
NAMES = ["x.png", "x.jpg", "x.gif", "x.tif", "x.webp", "x.bmp", "x.csv", "x.txt", "x.wav",
         "x.npy", "x", "x.tiff", "x.jpeg"]


def mutate(name, data, rng):
    """One mutated file ``(name, bytes)`` from a seed file."""
    op = int(rng.integers(7))
    out = bytearray(data)
    if op == 0:  # truncated
        out = out[:int(rng.integers(0, len(out) + 1))]
    elif op == 1:  # bytes overwritten
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(len(out)))] = int(rng.integers(256))
    elif op == 2:  # a chunk inserted or deleted
        at = int(rng.integers(len(out) + 1))
        if rng.random() < 0.5:
            out[at:at] = rng.bytes(int(rng.integers(1, 64)))
        else:
            del out[at:at + int(rng.integers(1, 64))]
    elif op == 3:  # huge declared sizes
        out = bytearray(huge_sizes(name, bytes(out), rng))
    elif op == 4:  # random bytes behind a real magic number
        out = bytearray(MAGIC[int(rng.integers(len(MAGIC)))] + rng.bytes(int(rng.integers(0, 300))))
    elif op == 5:  # a header kept, the rest random
        keep = int(rng.integers(1, min(len(out), 64) + 1))
        out = out[:keep] + bytearray(rng.bytes(int(rng.integers(0, 200))))
    if rng.random() < 0.15:
        name = NAMES[int(rng.integers(len(NAMES)))]
    return name, bytes(out)


# --------------------------------------------------------------------------- checks

class Unexpected(AssertionError):
    pass


def check_loaded(loaded, kind):
    arr = loaded.array
    want = NDIM[kind or loaded.kind]
    if arr.dtype != np.float32 or arr.ndim != want or not arr.size or not np.all(np.isfinite(arr)):
        raise Unexpected(f"bad array {arr.dtype} {arr.shape} for kind {kind or loaded.kind}")
    if loaded.kind == "image" and not (0 <= arr.min() and arr.max() <= 1):
        raise Unexpected("image values outside [0, 1]")


def check_message(exc):
    msg = str(exc)
    if not msg or len(msg) > 600 or "Traceback" in msg or "\n" in msg.strip():
        raise Unexpected(f"unclear message: {msg!r}")


def one_file(name, data, upload_array, prepare):
    """Every path an upload takes; returns the number of loads that succeeded."""
    ok = 0
    kind = "volume" if name in VOLUMES else KIND.get(os.path.splitext(name)[1], "image")
    for k in (kind, None):
        try:
            loaded = eio.load_any(data, name, kind=k)
        except eio.InputError as exc:
            check_message(exc)
            continue
        check_loaded(loaded, k)
        ok += 1
    rank = RANK[kind]
    try:
        base, meta = upload_array(data, name, rank)
        x = prepare(base, rank, "auto", None, 1, "channels_last")
    except eio.InputError as exc:
        check_message(exc)
        return ok
    if x.shape[1:] != base.shape or x.dtype != np.float32 or meta.get("kind") != kind:
        raise Unexpected(f"upload path gave {x.shape} from {base.shape}, meta {meta}")
    return ok + 1


@pytest.fixture(scope="module")
def app_upload():
    """The sidebar's upload path: ``app.cached.upload_array`` (Streamlit's cache bypassed,
    one file is never loaded twice here) and ``app.compute.prepare``."""
    from app import cached, compute

    return cached.upload_array.__wrapped__, compute.prepare


def test_ten_thousand_uploads(app_upload):
    upload_array, prepare = app_upload
    rng = np.random.default_rng(SEED)
    seeds = seed_files()
    failures, loads = [], 0
    with warnings.catch_warnings():
        # Pillow warns about the corrupt files it still decodes; the outcome is checked
        warnings.simplefilter("ignore", UserWarning)
        for i in range(FILES):
            name, data = seeds[i % len(seeds)] if i < len(seeds) else mutate(
                *seeds[int(rng.integers(len(seeds)))], rng)
            try:
                loads += one_file(name, data, upload_array, prepare)
            except Exception as exc:  # noqa: BLE001 - any other exception is the finding
                failures.append(f"file {i} {name} ({len(data)} bytes, {data[:24]!r}…): "
                                f"{type(exc).__name__}: {str(exc)[:200]}")
                if len(failures) >= 5:
                    break
    assert not failures, f"seed {SEED}:\n" + "\n".join(failures)
    # the mutations reach decoding, not only refusals, and the session still works
    assert loads >= FILES // 10, loads
    for name, data in seeds:
        assert one_file(name, data, upload_array, prepare) == 3, name
