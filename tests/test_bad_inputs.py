"""A catalogue of bad (and odd-but-valid) files, generated here with Pillow / struct / NumPy
(no binaries in the repository): every one either loads to a clean float32 array of the
documented layout or raises ``InputError`` with a message a person can act on — never
another exception, never NaN in the result.

The catalogue is what a classroom uploads from phones and laptops: truncated and corrupt
pictures, decompression bombs, animated GIFs, 16-bit and palette PNGs, CMYK JPEGs, every
EXIF rotation, HEIC/SVG/PDF in disguise, CSV with text / NaN / ragged rows, WAV in every
bit depth and layout, and ``.npy`` files holding objects, pickles or NaN.
"""

from __future__ import annotations

import io
import pickle  # only to *write* a hostile file; the engine never unpickles
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from engine import io as eio
from engine.io import InputError


# --------------------------------------------------------------------------- builders

def pil_bytes(img: Image.Image, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def rgb(h=12, w=16, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def png_chunk(tag: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + tag + body
            + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))


def raw_png(w: int, h: int, depth=8, color=0, rows: bytes | None = None) -> bytes:
    """A PNG whose IHDR says ``w × h`` whatever the (tiny) data: a decompression bomb
    header or an impossible size."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    data = zlib.compress(rows if rows is not None else b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def zlib_bomb_png(side: int) -> bytes:
    """A real, valid ``side × side`` gray PNG of zeros: a few KB that inflate to side² bytes."""
    rows = (b"\x00" + b"\x00" * side) * side
    return raw_png(side, side, rows=rows)


def gif(frames: int, size=(8, 8), vary_size=False) -> bytes:
    imgs = [Image.fromarray(np.full(size, 20 * i % 256, np.uint8)) for i in range(frames)]
    if vary_size:
        imgs[-1] = imgs[-1].resize((size[1] * 2, size[0] * 2))
    return pil_bytes(imgs[0], "GIF", save_all=True, append_images=imgs[1:], duration=50,
                     loop=0)


def tiff_pages(sizes) -> bytes:
    imgs = [Image.new("L", (w, h), 100) for h, w in sizes]
    return pil_bytes(imgs[0], "TIFF", save_all=True, append_images=imgs[1:])


def exif_jpeg(orientation: int) -> bytes:
    arr = np.zeros((4, 8, 3), np.uint8)
    arr[0, 0] = 255
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = orientation
    return pil_bytes(img, "JPEG", exif=exif.tobytes(), quality=95)


def float_tiff(values) -> bytes:
    return pil_bytes(Image.fromarray(np.asarray(values, np.float32), mode="F"), "TIFF")


def wav(samples: np.ndarray, width: int, channels=1, rate=8000, tag=1, bits=None,
        extensible=False, data_size=None, extra_chunks=b"", riff=b"RIFF") -> bytes:
    """A hand-made RIFF/WAVE: any format tag, bit width, channel count, sizes."""
    raw = np.ascontiguousarray(samples).tobytes()
    if width == 3 and samples.dtype != np.uint8:
        ints = samples.astype(np.int32).reshape(-1)
        raw = b"".join(int(v & 0xFFFFFF).to_bytes(3, "little") for v in ints)
    align = width * channels
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align,
                      align, bits or 8 * width)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits or 8 * width, 0) + struct.pack("<H", tag) + guid_tail
    body = (b"WAVE" + png_like(b"fmt ", fmt) + extra_chunks
            + struct.pack("<4sI", b"data", len(raw) if data_size is None else data_size) + raw)
    return riff + struct.pack("<I", len(body)) + body


def png_like(tag: bytes, body: bytes) -> bytes:  # a RIFF chunk (padded to even)
    return struct.pack("<4sI", tag, len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def npy(arr, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def npy_header(shape, descr="<f4", payload=b"") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def sine(n=400, channels=1):
    t = np.arange(n) / 8000.0
    return np.stack([np.sin(2 * np.pi * (440 + 110 * c) * t) for c in range(channels)], -1)


PNG = pil_bytes(rgb(), "PNG")
JPEG = pil_bytes(rgb(64, 64), "JPEG")


# --------------------------------------------------------------------------- catalogue
# (id, loader, bytes or a zero-argument factory, file name, expectation):
#   expectation "ok:<shape>" loads to that shape; anything else is a regex the InputError
#   message must match.

def _cases():
    s16 = (sine(400) * 30000).astype("<i2")
    cases = [
        # ---- images: broken
        ("empty-png", "image", b"", "a.png", "empty"),
        ("truncated-png", "image", PNG[: len(PNG) // 2], "a.png", "truncated|corrupt|Cannot"),
        ("truncated-jpeg", "image", JPEG[: len(JPEG) // 3], "a.jpg", "truncated|corrupt|Cannot"),
        ("png-header-only", "image", PNG[:8], "a.png", "not an image|Cannot"),
        ("corrupt-png-crc", "image", PNG[:20] + b"\xff\xff" + PNG[22:], "a.png",
         "truncated|corrupt|Cannot|not an image"),
        ("jpeg-garbage-body", "image", JPEG[:200] + bytes(range(256)) * 8, "a.jpg",
         "truncated|corrupt|Cannot|not an image|ok"),
        ("text-named-png", "image", b"hello, world\n" * 10, "notes.png", "not an image"),
        ("random-bytes-jpg", "image", np.random.default_rng(0).bytes(4096), "x.jpg",
         "not an image"),
        ("png-zero-width", "image", raw_png(0, 10), "zero.png", "no pixels|Cannot|not an image"),
        ("bomb-header-1e10-px", "image", raw_png(100_000, 100_000), "bomb.png",
         "decompression-bomb|too large|pixels; the limit"),
        ("bomb-header-1e8-px", "image", raw_png(10_000, 10_000), "bomb.png",
         "decompression-bomb|too large|pixels; the limit"),
        ("over-pixel-cap-25M", "image", raw_png(5_000, 5_000), "big.png", "pixels; the limit"),
        ("zlib-bomb-4096sq-valid", "image", lambda: zlib_bomb_png(4096), "zeros.png",
         "ok:(4096, 4096, 1)"),
        ("heic-photo", "image", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
         "IMG_0001.png", "HEIC"),
        ("svg-drawing", "image", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
         "d.png", "SVG"),
        ("pdf-document", "image", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "d.png", "PDF"),
        ("zip-archive", "image", b"PK\x03\x04" + b"\x00" * 60, "d.png", "ZIP"),
        # ---- images: odd but valid
        ("animated-gif-first-frame", "image", lambda: gif(5), "anim.gif", "ok:(8, 8, 1)"),
        ("animated-webp-first-frame", "image",
         lambda: pil_bytes(rgb(), "WEBP", save_all=True, append_images=[rgb(seed=1)]),
         "anim.webp", "ok:(12, 16, 3)"),
        ("png-16bit-gray", "image",
         lambda: pil_bytes(Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000),
                           "PNG"), "deep.png", "ok:(8, 8, 1)"),
        ("png-palette", "image", lambda: pil_bytes(rgb().convert("P"), "PNG"), "pal.png",
         "ok:(12, 16, 3)"),
        ("png-palette-transparent", "image",
         lambda: pil_bytes(rgb().convert("P"), "PNG", transparency=0), "palt.png",
         "ok:(12, 16, 3)"),
        ("png-1bit", "image", lambda: pil_bytes(rgb().convert("1"), "PNG"), "bw.png",
         "ok:(12, 16, 1)"),
        ("png-gray-alpha", "image", lambda: pil_bytes(rgb().convert("LA"), "PNG"), "la.png",
         "ok:(12, 16, 1)"),
        ("png-rgba", "image", lambda: pil_bytes(rgb().convert("RGBA"), "PNG"), "rgba.png",
         "ok:(12, 16, 3)"),
        ("jpeg-cmyk", "image", lambda: pil_bytes(rgb(16, 16).convert("CMYK"), "JPEG"),
         "cmyk.jpg", "ok:(16, 16, 3)"),
        ("jpeg-gray", "image", lambda: pil_bytes(rgb(16, 16).convert("L"), "JPEG"), "g.jpg",
         "ok:(16, 16, 1)"),
        ("jpeg-progressive", "image",
         lambda: pil_bytes(rgb(32, 32), "JPEG", progressive=True), "p.jpg", "ok:(32, 32, 3)"),
        ("tiff-float-ok", "image", lambda: float_tiff(np.linspace(-3, 5, 20).reshape(4, 5)),
         "f.tif", "ok:(4, 5, 1)"),
        ("tiff-float-extreme-range", "image", lambda: float_tiff([[-3e38, 3e38], [0, 1]]),
         "x.tif", "ok:(2, 2, 1)"),
        ("tiff-float-nan", "image", lambda: float_tiff([[0, np.nan], [1, 2]]), "nan.tif",
         "NaN or infinite"),
        ("tiff-float-inf", "image", lambda: float_tiff([[0, np.inf], [1, 2]]), "inf.tif",
         "NaN or infinite"),
        ("tiff-int32", "image",
         lambda: pil_bytes(Image.fromarray(np.arange(12, dtype=np.int32).reshape(3, 4) - 5),
                           "TIFF"), "i.tif", "ok:(3, 4, 1)"),
        ("bmp-1x1", "image", lambda: pil_bytes(rgb(1, 1), "BMP"), "p.bmp", "ok:(1, 1, 3)"),
        ("image-no-extension", "any", PNG, "upload", "ok:(12, 16, 3)"),
        ("png-named-jpg", "image", PNG, "mislabelled.jpg", "ok:(12, 16, 3)"),
        ("corrupt-exif", "image",
         lambda: pil_bytes(rgb(8, 8), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"),
         "e.jpg", "ok:(8, 8, 3)|Cannot"),
        # ---- volumes from frames
        ("gif-frame-cap", "volume", lambda: gif(300, (2, 2)), "long.gif", "frames; the limit"),
        ("gif-volume", "volume", lambda: gif(6), "clip.gif", "ok:(6, 8, 8, 1)"),
        ("tiff-pages-different-sizes", "volume", lambda: tiff_pages([(4, 4), (6, 5)]),
         "stack.tif", "same size"),
        # ---- CSV / TXT
        ("csv-empty", "signal", b"", "s.csv", "empty"),
        ("csv-only-comments", "signal", b"# nothing\n# here\n", "s.csv", "no numbers"),
        ("csv-header-only", "signal", b"a,b,c\n", "s.csv", "no rows|header"),
        ("csv-text-in-data", "signal", b"1,2\n3,four\n", "s.csv", "Line 2.*not all numbers"),
        ("csv-nan", "signal", b"1,2\nnan,3\n", "s.csv", "NaN or infinite.*row 2"),
        ("csv-inf", "signal", b"1\n2\ninf\n", "s.csv", "NaN or infinite"),
        ("csv-overflow-float32", "signal", b"1\n1e39\n", "s.csv", "float32 range"),
        ("csv-overflow-float64", "signal", b"1\n1e400\n", "s.csv", "NaN or infinite"),
        ("csv-ragged", "signal", b"1,2,3\n4,5\n6,7,8\n", "s.csv", "different numbers"),
        ("csv-latin1", "signal", "temp°C\n1\n2\n".encode("latin-1"), "s.csv", "not UTF-8"),
        ("csv-binary", "signal", bytes(range(256)), "s.csv", "not UTF-8|not all numbers"),
        ("csv-too-many-columns", "signal", (",".join(["1"] * 65) + "\n").encode() * 70,
         "wide.csv", "channels; the limit"),
        ("csv-bom-semicolon-header", "signal", "\ufeffx;y\n1;2\n3;4\n".encode(), "s.csv",
         "ok:(2, 2)"),
        ("csv-one-row", "signal", b"1 2 3 4 5 6\n", "s.txt", "ok:(6, 1)"),
        ("csv-quoted", "signal", b'"1.5","2"\n"3","4e-3"\n', "s.csv", "ok:(2, 2)"),
        ("csv-decimal-comma", "signal", b"1,5;2,5\n3,0;4,0\n", "s.csv", "decimal point"),
        ("csv-single-value", "signal", b"42\n", "s.csv", "ok:(1, 1)"),
        # ---- WAV
        *[(f"wav-{8 * w}bit-{c}ch", "signal", wav(data, w, c), f"a{w}{c}.wav", f"ok:(400, {c})")
          for w, c, data in [
              (1, 1, (sine(400) * 100 + 128).astype(np.uint8)),
              (2, 1, s16),
              (3, 1, (sine(400) * 8e6).astype(np.int32)),
              (4, 1, (sine(400) * 2e9).astype("<i4")),
              (1, 2, (sine(400, 2) * 100 + 128).astype(np.uint8)),
              (2, 2, (sine(400, 2) * 30000).astype("<i2")),
              (3, 2, (sine(400, 2) * 8e6).astype(np.int32)),
              (4, 2, (sine(400, 2) * 2e9).astype("<i4")),
          ]],
        ("wav-float32", "signal", wav(sine(400).astype("<f4"), 4, tag=3), "f.wav",
         "ok:(400, 1)"),
        ("wav-float64-stereo", "signal", wav(sine(400, 2).astype("<f8"), 8, 2, tag=3), "f.wav",
         "ok:(400, 2)"),
        ("wav-float-nan", "signal", wav(np.array([0, np.nan, 1], "<f4"), 4, tag=3), "n.wav",
         "NaN or infinite"),
        ("wav-extensible-24bit-6ch", "signal",
         wav((sine(100, 6) * 8e6).astype(np.int32), 3, 6, extensible=True), "x.wav",
         "ok:(100, 6)"),
        ("wav-extensible-float", "signal",
         wav(sine(100, 2).astype("<f4"), 4, 2, tag=3, extensible=True), "x.wav", "ok:(100, 2)"),
        ("wav-alaw", "signal", wav(np.zeros(100, np.uint8), 1, tag=6), "a.wav", "A-law"),
        ("wav-mulaw", "signal", wav(np.zeros(100, np.uint8), 1, tag=7), "u.wav", "µ-law"),
        ("wav-adpcm", "signal", wav(np.zeros(100, np.uint8), 1, tag=2), "a.wav", "ADPCM"),
        ("wav-zero-channels", "signal", wav(s16, 2, channels=0), "z.wav",
         "0 channels|uses|needs at least"),
        ("wav-65-channels", "signal", wav(np.zeros((10, 65), "<i2"), 2, 65), "m.wav",
         "channels; the limit"),
        ("wav-zero-rate", "signal", wav(s16, 2, rate=0), "r.wav", "sample rate"),
        ("wav-no-samples", "signal", wav(np.zeros(0, "<i2"), 2), "e.wav", "no samples"),
        ("wav-data-size-past-eof", "signal", wav(s16, 2, data_size=0xFFFFFFFF), "stream.wav",
         "ok:(400, 1)"),
        ("wav-odd-chunk-before-data", "signal",
         wav(s16, 2, extra_chunks=png_like(b"LIST", b"abc")), "l.wav", "ok:(400, 1)"),
        ("wav-truncated-header", "signal", wav(s16, 2)[:30], "t.wav", "fmt|data|not"),
        ("wav-riff-not-wave", "signal", b"RIFF\x10\x00\x00\x00AVI LIST" + b"\x00" * 16, "v.wav",
         "not WAVE"),
        ("wav-rifx-big-endian", "signal", wav(s16, 2, riff=b"RIFX"), "b.wav", "big-endian"),
        ("wav-12bit-in-16", "signal", wav(s16 // 16, 2, bits=12), "a.wav", "ok:(400, 1)"),
        ("wav-40bit-samples", "signal", wav(np.zeros(50, np.uint8), 5), "w.wav", "40-bit"),
        ("wav-bits-exceed-container", "signal", wav(s16, 2, bits=24), "w.wav", "24-bit"),
        # ---- NPY
        ("npy-object-dtype", "any", lambda: npy(np.array([{"a": 1}, None], object),
                                               allow_pickle=True), "o.npy", "Python objects"),
        ("pickle-named-npy", "any", pickle.dumps({"x": 1}), "evil.npy", "not a NumPy"),
        ("npz-named-npy", "any", lambda: (lambda b: (np.savez(b, a=np.zeros(3)), b.getvalue())[1])(
            io.BytesIO()), "w.npy", "not a NumPy"),
        ("npy-structured", "any", lambda: npy(np.zeros(3, [("a", "<f4"), ("b", "<i4")])),
         "s.npy", "dtype"),
        ("npy-complex", "any", lambda: npy(np.zeros(4, complex)), "c.npy", "dtype"),
        ("npy-strings", "any", lambda: npy(np.array(["a", "b"])), "t.npy", "dtype"),
        ("npy-datetime", "any", lambda: npy(np.array(["2020-01-01"], "datetime64[D]")), "d.npy",
         "dtype"),
        ("npy-nan", "any", lambda: npy(np.array([1.0, np.nan])), "n.npy", "NaN or infinite"),
        ("npy-inf-volume", "volume", lambda: npy(np.full((2, 3, 3), np.inf, np.float32)),
         "i.npy", "NaN or infinite"),
        ("npy-float64-overflow", "any", lambda: npy(np.array([1e300, 2.0])), "o.npy",
         "float32 range"),
        ("npy-zero-size", "any", lambda: npy(np.zeros((0, 3), np.float32)), "z.npy",
         "no samples|empty"),
        ("npy-zero-size-volume", "volume", lambda: npy(np.zeros((4, 0, 3), np.float32)),
         "z.npy", "empty axis"),
        ("npy-5d", "any", lambda: npy(np.zeros((1, 1, 1, 1, 2), np.float32)), "f.npy",
         "dimensions"),
        ("npy-huge-declared-shape", "any", npy_header((1_000_000, 1_000_000)), "h.npy",
         "values .*limit"),
        ("npy-truncated-data", "any", npy_header((100, 100), payload=b"\x00" * 40), "t.npy",
         "truncated|Cannot load"),
        ("npy-bad-header", "any", b"\x93NUMPY\x01\x00\x10\x00{'descr': <<<}    \n", "b.npy",
         "header"),
        ("npy-header-code", "any",
         npy_header((2,), descr="__import__('os').system('true')"), "x.npy", "header"),
        ("npy-fortran-bigendian", "any",
         lambda: npy(np.asfortranarray(np.ones((8, 2), ">f8"))), "b.npy", "ok:(8, 2)"),
        ("npy-float16-volume", "volume", lambda: npy(np.ones((2, 3, 4), np.float16)), "h.npy",
         "ok:(2, 3, 4, 1)"),
        ("npy-too-many-channels", "volume", lambda: npy(np.ones((2, 2, 2, 70), np.float32)),
         "c.npy", "channels"),
        ("npy-no-channels", "any", lambda: npy(np.zeros((3, 0), np.float32)), "e.npy",
         "empty axis"),
        ("npy-empty-axis-huge-other", "any", npy_header((2 ** 62, 0)), "e.npy", "empty axis"),
        # ---- found by tests/test_upload_fuzz.py
        ("webp-guessed-as-image", "any", lambda: pil_bytes(rgb(), "WEBP"), "upload",
         "ok:(12, 16, 3)"),
        ("gif-broken-frames", "any", lambda: gif(3)[:-12] + b"\x2c" + b"\xff" * 8, "a.gif",
         "ok:(8, 8, 1)|Cannot read the frames|Cannot"),
        # ---- other
        ("unknown-extension", "any", b"data", "notes.docx", "unsupported extension"),
        ("unknown-kind", "kind", b"1,2", "a.csv", "Unknown input kind"),
    ]
    return cases


CASES = _cases()
LOADERS = {
    "image": lambda d, n: eio.load_image(d, n),
    "volume": lambda d, n: eio.load_volume(d, n).array,
    "signal": lambda d, n: eio.load_signal(d, n).array,
    "any": lambda d, n: eio.load_any(d, n).array,
    "kind": lambda d, n: eio.load_any(d, n, kind="picture").array,
}


def test_catalogue_is_broad():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 90


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_or_odd_file(case):
    _, loader, data, name, expect = case
    if callable(data):
        data = data()
    outcomes = expect.split("|")
    shapes = [o[3:] for o in outcomes if o.startswith("ok:")]
    patterns = [o for o in outcomes if not o.startswith("ok:") and o != "ok"]
    try:
        arr = LOADERS[loader](data, name)
    except InputError as exc:
        msg = str(exc)
        assert patterns, f"expected a result, got InputError: {msg}"
        assert any(re.search(p, msg) for p in patterns), msg
        assert "Traceback" not in msg and len(msg) < 400
        return
    assert shapes or "ok" in outcomes, f"expected InputError matching {patterns}"
    assert arr.dtype == np.float32 and np.all(np.isfinite(arr))
    if shapes:
        assert str(tuple(arr.shape)) in shapes


def test_wav_parser_agrees_with_the_wave_module():
    import wave

    for width, dtype in ((1, np.uint8), (2, "<i2"), (4, "<i4")):
        samples = (np.arange(300) * 7919 % 250).astype(dtype)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(width)
            w.setframerate(11025)
            w.writeframes(samples.tobytes())
        arr, rate = eio.load_wav(buf.getvalue(), "w.wav")
        assert rate == 11025 and arr.shape == (150, 2)
        ints = samples.astype(np.float64).reshape(150, 2)
        ref = (ints - 128) / 128 if width == 1 else ints / float(1 << (8 * width - 1))
        np.testing.assert_allclose(arr, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation(orientation):
    out = eio.load_image(exif_jpeg(orientation), "r.jpg")
    assert out.shape[:2] == ((4, 8) if orientation <= 4 else (8, 4))
    # the bright pixel (top-left as stored) lands where a phone would show it
    corner = {1: (0, 0), 2: (0, -1), 3: (-1, -1), 4: (-1, 0), 5: (0, 0), 6: (0, -1),
              7: (-1, -1), 8: (-1, 0)}[orientation]
    assert out[corner].mean() > 0.5
