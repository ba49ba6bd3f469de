"""``keras.activations.relu``, ``keras.regularizers.l2(1e-4)``, ``keras.initializers.
HeNormal(seed=0)``, ``keras.constraints.MaxNorm(3)``: Keras objects as layer arguments.

They change no shape; they become what a Keras config holds — an activation's name, a
``{"class_name", "config"}`` dict — which the layers accept and validate as Keras does.
"""

from __future__ import annotations

MODULES = ("keras.activations", "keras.regularizers", "keras.initializers",
           "keras.constraints")
# positional parameters of the objects usually written with them
POSITIONAL = {"l1": ("l1",), "l2": ("l2",), "L1": ("l1",), "L2": ("l2",),
              "l1_l2": ("l1", "l2"), "L1L2": ("l1", "l2"), "MaxNorm": ("max_value", "axis"),
              "max_norm": ("max_value", "axis"), "MinMaxNorm": ("min_value", "max_value"),
              "Constant": ("value",), "RandomNormal": ("mean", "stddev", "seed"),
              "RandomUniform": ("minval", "maxval", "seed"),
              "TruncatedNormal": ("mean", "stddev", "seed"), "VarianceScaling": ("scale",)}
CLASS_NAMES = {"l1_l2": "L1L2"}


def module_of(path: str) -> str | None:
    """The Keras object module ``path`` is in (``keras.regularizers``…), or None."""
    head = path.rpartition(".")[0]
    return head if head in MODULES else None


def activation_name(path: str) -> str:
    """``keras.activations.relu`` → ``"relu"`` (what a config holds)."""
    return path.rpartition(".")[2]


def config(path: str, args, kwargs) -> dict:
    """``keras.regularizers.l2(1e-4)`` → ``{"class_name": "l2", "config": {"l2": 1e-4}}``."""
    name = path.rpartition(".")[2]
    names = POSITIONAL.get(name, ())
    if len(args) > len(names):
        raise ValueError(f"{name}() takes at most {len(names)} positional arguments here; "
                         "give the others by keyword.")
    return {"class_name": CLASS_NAMES.get(name, name),
            "config": {**dict(zip(names, args)), **kwargs}}
