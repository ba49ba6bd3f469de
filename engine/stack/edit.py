"""Edit a stack as the builder's buttons do: add, remove, move, duplicate, replace.

Specs are :class:`LayerSpec` with names (see :func:`name_specs`); graph edges (``inputs``)
refer to names, so edits keep them valid: removing a layer hands its own input to the
layers that read it; a layer with explicit inputs cannot move above the layers it reads.
"""

from __future__ import annotations

from engine.stack.spec import INPUT_NAME, LayerSpec, as_spec, assign_names


def name_specs(specs, input_name=INPUT_NAME) -> list:
    """Every spec with its ``name`` attribute set (given or Keras's default)."""
    specs = [as_spec(s) for s in specs]
    names = assign_names(specs, taken={input_name})
    return [s.replace(name=n) for s, n in zip(specs, names)]


def _fresh(specs, class_name, input_name=INPUT_NAME):
    taken = {s.name for s in specs} | {input_name}
    probe = assign_names([LayerSpec(class_name)], taken=taken)
    return probe[0]


def insert(specs, index, spec, input_name=INPUT_NAME) -> list:
    """Insert ``spec`` at ``index`` (it reads the previous layer, as in Sequential)."""
    specs = name_specs(specs, input_name)
    spec = as_spec(spec)
    spec = spec.replace(name=spec.name or spec[1].get("name") or _fresh(specs, spec[0],
                                                                         input_name))
    out = list(specs)
    index = max(0, min(index, len(out)))
    if any(s.inputs is not None for s in out) and spec.inputs is None:
        prev = out[index - 1].name if index else input_name
        spec = spec.replace(inputs=(prev,))
        if index < len(out) and out[index].inputs is not None and prev in out[index].inputs:
            nxt = out[index]
            out[index] = nxt.replace(inputs=tuple(spec.name if n == prev else n
                                                  for n in nxt.inputs))
    out.insert(index, spec)
    return out


def remove(specs, index, input_name=INPUT_NAME) -> list:
    specs = name_specs(specs, input_name)
    gone = specs[index]
    source = (gone.inputs[0] if gone.inputs else
              (specs[index - 1].name if index else input_name))
    out = []
    for k, s in enumerate(specs):
        if k == index:
            continue
        if s.inputs is not None and gone.name in s.inputs:
            s = s.replace(inputs=tuple(source if n == gone.name else n for n in s.inputs))
        out.append(s)
    return out


def move(specs, index, delta, input_name=INPUT_NAME) -> list:
    """Move layer ``index`` by ``delta`` (±1). ValueError if it would read a later layer."""
    specs = name_specs(specs, input_name)
    j = index + delta
    if not 0 <= j < len(specs) or index == j:
        return specs
    out = list(specs)
    out[index], out[j] = out[j], out[index]
    seen = {input_name}
    for s in out:
        if s.inputs is not None and not set(s.inputs) <= seen:
            raise ValueError(f"Layer '{s.name}' would come before the layer it reads; "
                             "move layers of a graph with merges by editing the code.")
        seen.add(s.name)
    return out


def duplicate(specs, index, input_name=INPUT_NAME) -> list:
    """A copy of layer ``index`` right after it, reading it (a user-given name is dropped)."""
    specs = name_specs(specs, input_name)
    orig = specs[index]
    kwargs = {k: v for k, v in orig[1].items() if k != "name"}
    copy = LayerSpec(orig[0], kwargs, args=orig.args)
    return insert(specs, index + 1, copy, input_name)


def replace_kwargs(specs, index, kwargs, input_name=INPUT_NAME) -> list:
    specs = name_specs(specs, input_name)
    out = list(specs)
    out[index] = out[index].replace(kwargs=dict(kwargs))
    return out
