"""Generate convlab's shipped samples (deterministic; run from anywhere):

    python assets/make_samples.py

Writes, next to this script: photo.jpg (a synthetic landscape), drawing.png (a line
drawing), digit.png (a handwritten-style "7", 28×28 like MNIST), sine_burst.csv, ecg.csv
(signals), audio.wav (1 s at 8 kHz), volume.npy (16×32×32 sphere + cube) and clip.gif
(a 12-frame bouncing ball). Everything is drawn with NumPy and Pillow; see LICENSE.md (CC0).
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(20240611)


def photo(h: int = 192, w: int = 256) -> Image.Image:
    """A small landscape: sky gradient, sun, two ranges of hills, a lake, a house, a tree."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    t = y / h
    sky = np.stack([0.35 + 0.5 * t, 0.55 + 0.35 * t, 0.95 - 0.1 * t], -1)
    img[:] = sky
    # sun with a soft glow
    d = np.hypot(x - 0.78 * w, y - 0.22 * h)
    glow = np.exp(-(d / (0.18 * h)) ** 2)[..., None]
    img = img * (1 - 0.6 * glow) + 0.6 * glow * np.array([1.0, 0.9, 0.6])
    img[d < 0.07 * h] = (1.0, 0.93, 0.55)
    # far hills
    far = 0.52 * h + 0.06 * h * np.sin(x / w * 2 * math.pi * 1.3 + 0.5) + 0.03 * h * np.sin(
        x / w * 2 * math.pi * 4.1)
    mask = y > far
    shade = np.clip((y - far) / (0.3 * h), 0, 1)[..., None]
    img = np.where(mask[..., None], np.array([0.35, 0.5, 0.55]) * (1 - 0.3 * shade), img)
    # near hills with grass texture
    near = 0.66 * h + 0.05 * h * np.sin(x / w * 2 * math.pi * 0.8 + 2.0)
    mask = y > near
    grass = np.array([0.3, 0.62, 0.25]) * (0.85 + 0.15 * RNG.random((h, w, 1)))
    img = np.where(mask[..., None], grass, img)
    # lake: a darker ellipse reflecting the sky
    lake = ((x - 0.3 * w) / (0.22 * w)) ** 2 + ((y - 0.86 * h) / (0.07 * h)) ** 2 < 1
    img[lake] = np.array([0.3, 0.45, 0.75]) + 0.08 * np.sin(y[lake] * 1.7)[:, None]
    out = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(out)
    # house
    bx, by = int(0.58 * w), int(0.6 * h)
    draw.rectangle([bx, by, bx + 40, by + 32], fill=(200, 170, 130), outline=(90, 60, 40))
    draw.polygon([(bx - 6, by), (bx + 20, by - 22), (bx + 46, by)], fill=(160, 50, 40))
    draw.rectangle([bx + 16, by + 14, bx + 26, by + 32], fill=(100, 70, 40))
    draw.rectangle([bx + 4, by + 8, bx + 12, by + 16], fill=(230, 230, 170))
    draw.rectangle([bx + 29, by + 8, bx + 37, by + 16], fill=(230, 230, 170))
    # tree
    tx, ty = int(0.15 * w), int(0.62 * h)
    draw.rectangle([tx - 3, ty, tx + 3, ty + 24], fill=(90, 60, 30))
    draw.ellipse([tx - 16, ty - 26, tx + 16, ty + 6], fill=(40, 110, 45))
    return out.filter(ImageFilter.SMOOTH)


def drawing(n: int = 128) -> Image.Image:
    """Black lines on white: a square, a circle, a triangle, hatching and a diagonal."""
    img = Image.new("L", (n, n), 255)
    d = ImageDraw.Draw(img)
    d.rectangle([10, 10, 54, 54], outline=0, width=2)
    d.ellipse([70, 10, 118, 58], outline=0, width=2)
    d.polygon([(12, 118), (34, 72), (56, 118)], outline=0, width=2)
    for i in range(5):
        d.line([(70 + 10 * i, 70), (70 + 10 * i, 118)], fill=0, width=1)
    d.line([(70, 70), (118, 118)], fill=0, width=2)
    return img


def digit(n: int = 28) -> Image.Image:
    """A "7" drawn thick at 10× and downscaled with antialiasing (white on black, MNIST-like)."""
    big = Image.new("L", (n * 10, n * 10), 0)
    d = ImageDraw.Draw(big)
    d.line([(70, 60), (210, 60)], fill=255, width=26)
    d.line([(205, 60), (120, 235)], fill=255, width=26)
    d.line([(125, 150), (195, 150)], fill=255, width=18)
    big = big.filter(ImageFilter.GaussianBlur(6))
    return big.resize((n, n), Image.Resampling.LANCZOS)


def sine_burst(steps: int = 512) -> np.ndarray:
    t = np.arange(steps) / steps
    env = np.exp(-((t - 0.5) / 0.12) ** 2)
    return (env * np.sin(2 * math.pi * 24 * t) + 0.03 * RNG.standard_normal(steps)).astype(
        np.float32)


def ecg(steps: int = 1000, rate: int = 250) -> np.ndarray:
    """Two leads of an ECG-like trace: P wave, QRS complex, T wave every ~0.8 s."""
    t = np.arange(steps) / rate
    out = np.zeros((steps, 2), np.float32)
    waves = [(-0.2, 0.025, 0.15), (-0.05, 0.01, -0.12), (0.0, 0.012, 1.0), (0.04, 0.01, -0.25),
             (0.25, 0.05, 0.3)]
    for beat in np.arange(0.3, t[-1] + 0.5, 0.8):
        for dt, width, amp in waves:
            g = np.exp(-((t - beat - dt) / width) ** 2 / 2)
            out[:, 0] += amp * g
            out[:, 1] += (0.6 if amp > 0.5 else 1.2) * amp * g
    out[:, 0] += 0.05 * np.sin(2 * math.pi * 0.3 * t)
    out += 0.01 * RNG.standard_normal(out.shape)
    return out.astype(np.float32)


def audio(rate: int = 8000) -> np.ndarray:
    """1 s: a rising chirp 300→1200 Hz, then two short tones, faded in and out (int16)."""
    t = np.arange(rate) / rate
    f = 300 + 900 * t
    sig = 0.5 * np.sin(2 * math.pi * np.cumsum(f) / rate)
    sig += 0.3 * np.sin(2 * math.pi * 440 * t) * ((t > 0.55) & (t < 0.7))
    sig += 0.3 * np.sin(2 * math.pi * 660 * t) * ((t > 0.8) & (t < 0.95))
    fade = np.minimum(1, np.minimum(t, 1 - t) / 0.02)
    return np.round(sig * fade * 32767 * 0.9).astype(np.int16)


def volume(d: int = 16, h: int = 32, w: int = 32) -> np.ndarray:
    """A bright sphere and a dimmer cube in a 16×32×32 volume (float32 in [0, 1])."""
    z, y, x = np.mgrid[0:d, 0:h, 0:w].astype(np.float32)
    vol = np.zeros((d, h, w), np.float32)
    sphere = (x - 10) ** 2 + (y - 12) ** 2 + ((z - 8) * 2) ** 2 <= 7.5 ** 2
    vol[sphere] = 1.0
    vol[4:12, 18:28, 18:28] = 0.6
    return vol


def clip(frames: int = 12, n: int = 48) -> list:
    """A ball bouncing across a striped background: frames for an animated GIF."""
    out = []
    for i in range(frames):
        img = Image.new("RGB", (n, n), (235, 235, 245))
        d = ImageDraw.Draw(img)
        for k in range(0, n, 12):
            d.rectangle([k, 0, k + 5, n], fill=(215, 220, 235))
        x = 6 + (n - 18) * i / (frames - 1)
        y = 8 + (n - 22) * abs(math.sin(math.pi * i / (frames - 1) * 1.5))
        d.ellipse([x, y, x + 12, y + 12], fill=(220, 60, 50), outline=(120, 20, 20))
        out.append(img)
    return out


def main() -> None:
    photo().save(HERE / "photo.jpg", quality=90, optimize=True)
    drawing().save(HERE / "drawing.png", optimize=True)
    digit().save(HERE / "digit.png", optimize=True)
    np.savetxt(HERE / "sine_burst.csv", sine_burst(), fmt="%.5f", header="value", comments="")
    np.savetxt(HERE / "ecg.csv", ecg(), fmt="%.5f", delimiter=",", header="lead_I,lead_II",
               comments="")
    with wave.open(str(HERE / "audio.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(audio().tobytes())
    np.save(HERE / "volume.npy", volume())
    frames = clip()
    frames[0].save(HERE / "clip.gif", save_all=True, append_images=frames[1:], duration=80,
                   loop=0, optimize=True)
    for p in sorted(HERE.iterdir()):
        if p.suffix != ".py" and p.name != "LICENSE.md":
            print(f"{p.name:16s} {p.stat().st_size:8,d} bytes")


if __name__ == "__main__":
    main()
