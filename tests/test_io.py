"""engine.io: every supported format loads to the documented layout; bad input raises
InputError with a message that says what to do."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from PIL import Image

from engine import io as eio
from engine.io import InputError


def _png(arr, mode=None, fmt="PNG", **save):
    buf = io.BytesIO()
    (Image.fromarray(arr, mode) if mode else Image.fromarray(arr)).save(buf, format=fmt, **save)
    return buf.getvalue()


def _wav(samples: np.ndarray, width: int, rate=8000, channels=1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


# --------------------------------------------------------------------------- images

@pytest.mark.parametrize("fmt,ext", [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"),
                                     ("TIFF", ".tif"), ("WEBP", ".webp"), ("GIF", ".gif")])
def test_image_formats_rgb(fmt, ext):
    arr = np.zeros((10, 12, 3), np.uint8)
    arr[..., 0] = 200
    arr[:5, :, 1] = 100
    out = eio.load_image(_png(arr, fmt=fmt), "x" + ext)
    assert out.shape == (10, 12, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    if fmt in ("PNG", "BMP", "TIFF"):
        np.testing.assert_allclose(out, arr / 255.0, atol=1e-6)


def test_grayscale_png_is_one_channel():
    arr = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    out = eio.load_image(_png(arr), "g.png")
    assert out.shape == (8, 8, 1)
    np.testing.assert_allclose(out[..., 0], arr / 255.0, atol=1e-6)


def test_rgba_is_composited_on_white():
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[..., 0] = 255
    arr[:2, :, 3] = 255  # top opaque red, bottom transparent
    out = eio.load_image(_png(arr, "RGBA"), "a.png")
    assert out.shape == (4, 4, 3)
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[3, 0], [1, 1, 1])


def test_16bit_png():
    arr = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    out = eio.load_image(buf.getvalue(), "deep.png")
    assert out.shape == (4, 4, 1)
    np.testing.assert_allclose(out[..., 0], arr / 65535.0, atol=1e-5)


def test_exif_orientation_is_applied():
    arr = np.zeros((4, 8, 3), np.uint8)  # wide image, rotated by EXIF → tall
    arr[0, 0] = 255
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    out = eio.load_image(buf.getvalue(), "r.jpg")
    assert out.shape[:2] == (8, 4)


def test_not_an_image():
    with pytest.raises(InputError, match="not an image"):
        eio.load_image(b"hello, world", "fake.png")


def test_truncated_image():
    data = _png(np.zeros((64, 64, 3), np.uint8) + 7)
    with pytest.raises(InputError):
        eio.load_image(data[: len(data) // 2], "cut.png")


def test_pixel_cap(monkeypatch):
    monkeypatch.setattr(eio, "MAX_PIXELS", 100)
    with pytest.raises(InputError, match="pixels; the limit"):
        eio.load_image(_png(np.zeros((20, 20), np.uint8)), "big.png")


def test_decompression_bomb_guard(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    with pytest.raises(InputError, match="decompression-bomb|too large"):
        eio.load_image(_png(np.zeros((20, 20), np.uint8)), "bomb.png")


def test_byte_cap(monkeypatch):
    monkeypatch.setattr(eio, "MAX_BYTES", 10)
    with pytest.raises(InputError, match="MB; the limit"):
        eio.load_image(b"x" * 11, "x.png")


def test_empty_file():
    with pytest.raises(InputError, match="empty"):
        eio.load_any(b"", "x.png")


# --------------------------------------------------------------------------- volumes

def test_gif_frames_volume():
    frames = [Image.fromarray(np.full((6, 5, 3), 40 * i, np.uint8)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    loaded = eio.load_any(buf.getvalue(), "clip.gif")
    assert loaded.kind == "volume"
    assert loaded.array.shape == (4, 6, 5, 1)  # gray frames collapse to one channel
    assert loaded.array[3].mean() > loaded.array[0].mean()


def test_tiff_stack_volume():
    frames = [Image.fromarray(np.full((3, 4), i * 50, np.uint8)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    vol = eio.load_volume(buf.getvalue(), "stack.tif")
    assert vol.array.shape == (3, 3, 4, 1)


def test_frame_cap(monkeypatch):
    monkeypatch.setattr(eio, "MAX_FRAMES", 2)
    frames = [Image.fromarray(np.full((3, 3), i * 60, np.uint8)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(InputError, match="frames; the limit"):
        eio.load_volume(buf.getvalue(), "long.gif")


def test_npy_volume_and_signal():
    buf = io.BytesIO()
    np.save(buf, np.ones((4, 5, 6), np.float64))
    vol = eio.load_any(buf.getvalue(), "v.npy")
    assert vol.kind == "volume" and vol.array.shape == (4, 5, 6, 1)
    assert vol.array.dtype == np.float32
    buf = io.BytesIO()
    np.save(buf, np.arange(10, dtype=np.int16))
    sig = eio.load_any(buf.getvalue(), "s.npy")
    assert sig.kind == "signal" and sig.array.shape == (10, 1)


def test_npy_never_unpickles():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        eio.load_npy(buf.getvalue(), "evil.npy")


def test_npy_limits():
    buf = io.BytesIO()
    np.save(buf, np.zeros((1, 1, 1, 1, 1)))
    with pytest.raises(InputError, match="dimensions"):
        eio.load_npy(buf.getvalue(), "deep.npy")
    buf = io.BytesIO()
    np.save(buf, np.array([1.0, np.nan]))
    with pytest.raises(InputError, match="NaN"):
        eio.load_npy(buf.getvalue(), "nan.npy")
    with pytest.raises(InputError, match="not a NumPy"):
        eio.load_npy(b"PK\x03\x04 not npy", "z.npy")


# --------------------------------------------------------------------------- signals

@pytest.mark.parametrize("text,shape", [
    ("value\n1\n2\n3\n", (3, 1)),
    ("a,b\n1,2\n3,4\n5,6\n", (3, 2)),
    ("1;2\n3;4\n", (2, 2)),
    ("1\t2\n3\t4\n", (2, 2)),
    ("# comment\n1 2\n3 4\n", (2, 2)),
    ("1,2,3,4,5\n", (5, 1)),
])
def test_csv_variants(text, shape):
    out = eio.load_csv(text.encode(), "s.csv")
    assert out.shape == shape and out.dtype == np.float32


def test_csv_errors():
    with pytest.raises(InputError, match="Line 3"):
        eio.load_csv(b"x\n1\nabc\n", "bad.csv")
    with pytest.raises(InputError, match="different numbers"):
        eio.load_csv(b"1,2\n3\n", "ragged.csv")
    with pytest.raises(InputError, match="UTF-8"):
        eio.load_csv(b"\xff\xfe\x00\x01", "bin.csv")


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_bit_depths(width):
    n = 100
    ramp = np.linspace(-0.5, 0.5, n)
    if width == 1:
        raw = np.round(ramp * 128 + 128).astype(np.uint8)
    elif width == 2:
        raw = np.round(ramp * 32768).astype("<i2")
    elif width == 3:
        v = np.round(ramp * (1 << 23)).astype(np.int32)
        raw = np.stack([(v >> (8 * k)) & 0xFF for k in range(3)], -1).astype(np.uint8)
    else:
        raw = np.round(ramp * (1 << 31)).astype("<i4")
    arr, rate = eio.load_wav(_wav(raw, width), "a.wav")
    assert rate == 8000 and arr.shape == (n, 1)
    np.testing.assert_allclose(arr[:, 0], ramp, atol=1e-2)


def test_wav_stereo():
    left = np.arange(50, dtype="<i2") * 100
    right = -left
    raw = np.stack([left, right], -1).astype("<i2")
    loaded = eio.load_signal(_wav(raw, 2, channels=2), "st.wav")
    assert loaded.array.shape == (50, 2) and loaded.meta["sample_rate"] == 8000
    np.testing.assert_allclose(loaded.array[:, 1], -loaded.array[:, 0])


def test_wav_garbage():
    with pytest.raises(InputError, match="PCM WAV"):
        eio.load_wav(b"RIFF1234WAVEjunkjunk", "bad.wav")


def test_unsupported_extension():
    with pytest.raises(InputError, match="unsupported extension"):
        eio.load_any(b"abc", "notes.docx")


# --------------------------------------------------------------------------- transforms

def test_resize_and_gray():
    img = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    assert eio.resize(img, (10, 15)).shape == (10, 15, 3)
    assert eio.resize(img[:, 0, :], (7,)).shape == (7, 3)
    vol = np.ones((4, 6, 8, 1), np.float32)
    out = eio.resize(vol, (2, 3, 4))
    assert out.shape == (2, 3, 4, 1)
    np.testing.assert_allclose(out, 1.0, atol=1e-6)
    assert eio.to_grayscale(img).shape == (20, 30, 1)
    assert eio.to_rgb(eio.to_grayscale(img)).shape == (20, 30, 3)


def test_shipped_samples_load():
    from app.compute import load_sample
    from app.state import SAMPLES

    for name, s in SAMPLES.items():
        arr, meta = load_sample(name)
        assert arr.ndim == s.rank + 1, name
        assert meta["kind"] == s.kind
