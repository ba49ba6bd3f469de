"""Generate engine/stack/backbones/<name>.json from Keras once (weights=None, nothing downloaded).

Each JSON holds the layer structure of one ``keras.applications`` backbone, compact enough to
ship: for the base (``include_top=False, pooling=None``), the classifier top
(``include_top=True``, the number of classes marked ``{"classes": true}``) and the
``pooling="avg"`` / ``"max"`` heads, a list of layers ``[class, name, kwargs, inbound layer
names]`` (the input is ``"input"``). Keys that change no shape or parameter count
(initializers, regularizers, constraints, dtype, momentum, epsilon…) are left out. Zero
paddings that Keras computes from the input size (``imagenet_utils.correct_pad``) are stored
as ``{"correct_pad": [kh // 2, kw // 2]}`` and resolved for the input at hand.

Run:  .venv/bin/python scripts/make_backbone_structures.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from engine.stack.parse import _inbound  # noqa: E402

OUT = ROOT / "engine" / "stack" / "backbones"
BACKBONES = {"VGG16": (224, 32), "VGG19": (224, 32), "ResNet50": (224, 32),
             "ResNet50V2": (224, 32), "MobileNet": (224, 32), "MobileNetV2": (224, 32),
             "EfficientNetB0": (224, 32), "Xception": (299, 71)}   # default, minimum size
CLASSES = 997       # probe: where this number appears in the top, the classes go
INPUT = "input"     # the name layers read the model's input by
PROBE_SIZES = (299, 300, 301, 302, 304, 308)   # parities differ at every downsampling
DROPPED = {"dtype", "trainable", "seed", "momentum", "epsilon", "activity_regularizer",
           "quantization_config", "lora_rank", "lora_alpha", "autocast", "synchronized",
           "renorm", "renorm_clipping", "renorm_momentum", "sparse", "ragged",
           "interpolation", "invert"}


def _keep(key, value) -> bool:
    if key in DROPPED or key.endswith(("_initializer", "_regularizer", "_constraint")):
        return False
    return not (key == "data_format" and value == "channels_last")


def records(model) -> list:
    """``[class, name, kwargs, inbound names]`` per layer; the Input is named ``INPUT``."""
    out, inputs = [], set()
    for layer_cfg in model.get_config()["layers"]:
        cls = layer_cfg["class_name"]
        cfg = layer_cfg["config"]
        name = layer_cfg.get("name") or cfg["name"]
        if cls == "InputLayer":
            inputs.add(name)
            continue
        kwargs = {k: v for k, v in cfg.items() if _keep(k, v) and k != "name"}
        inbound = [INPUT if n in inputs else n for n in _inbound(layer_cfg)]
        out.append([cls, name, kwargs, inbound])
    return out


def build(cls_name, **kwargs):
    return getattr(keras.applications, cls_name)(weights=None, **kwargs)


def mark_correct_pads(base_by_size) -> list:
    """Zero paddings whose amounts change with the input size → ``correct_pad``."""
    first = base_by_size[PROBE_SIZES[0]]
    for i, rec in enumerate(first):
        variants = {json.dumps(recs[i][2], sort_keys=True) for recs in base_by_size.values()}
        if len(variants) == 1:
            continue
        if rec[0] != "ZeroPadding2D":
            raise SystemExit(f"{rec[1]}: {rec[0]} changes with the input size")
        (_, after_r), (_, after_c) = rec[2]["padding"]
        rec[2] = {"padding": {"correct_pad": [after_r, after_c]}}
    return first


def mark_classes(value):
    """``CLASSES`` anywhere in a top layer's arguments → ``{"classes": True}``."""
    if value == CLASSES and not isinstance(value, bool):
        return {"classes": True}
    if isinstance(value, (list, tuple)):
        return [mark_classes(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_classes(v) for k, v in value.items()}
    return value


def tail(full, base) -> list:
    """The layers ``full`` adds after ``base`` (the same layers first, in the same order,
    names aside: Keras numbers default names per session), reading ``base``'s names."""
    if [r[0] for r in full[:len(base)]] != [r[0] for r in base]:
        raise SystemExit("the base is not a prefix of the model with a top")
    rename = {f[1]: b[1] for f, b in zip(full, base)}
    return [[cls, name, kwargs, [rename.get(n, n) for n in inbound]]
            for cls, name, kwargs, inbound in full[len(base):]]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for cls_name in BACKBONES:
        by_size = {s: records(build(cls_name, include_top=False, input_shape=(s, s, 3)))
                   for s in PROBE_SIZES}
        base = mark_correct_pads(by_size)
        top = records(build(cls_name, include_top=True, classes=CLASSES,
                            input_shape=(PROBE_SIZES[0],) * 2 + (3,)))
        for rec in top:
            rec[2] = mark_classes(rec[2])
        heads = {p: tail(records(build(cls_name, include_top=False, pooling=p,
                                       input_shape=(PROBE_SIZES[0],) * 2 + (3,))), base)
                 for p in ("avg", "max")}
        # MobileNet names itself after the input rows: "mobilenet_1.00_{rows}"
        name = build(cls_name, include_top=False).name.replace("_None", "_{rows}")
        default_size, min_size = BACKBONES[cls_name]
        data = {"class": cls_name, "name": name, "default_size": default_size,
                "min_size": min_size, "base": base,
                "top": tail(top, base), "pooling": heads}
        path = OUT / f"{cls_name.lower()}.json"
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(path.relative_to(ROOT), len(base), "layers", path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
