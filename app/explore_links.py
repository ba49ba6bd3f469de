"""What a selected cell links in Explore's panels: pure functions of the layer's geometry.

A selection (:class:`app.context.Selection`: an output or an input cell) becomes
:class:`Links` — the input cells read (or the one selected), the cells of the padded-input
panel, the output cells (the one selected, or those an input cell feeds), the kernel taps
reading inputs or padding, and the sentence (:func:`engine.geometry.output_link` /
``input_link``). The cells and taps are the geometry's (:mod:`engine.geometry`); this module
only projects them onto the panels: :func:`plane` (the shown 2-D plane), :func:`input_depth`
(a 3-D input's shown slice), :func:`crop_box`, :func:`kernel_spatial` and :func:`marks`
(which outline each side gets). No Streamlit here: :mod:`app.pages.explore` draws them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from app import compute
from app.context import Selection
from engine.geometry import LayerGeometry, input_link, output_link

CONV_KINDS = ("conv", "separable", "depthwise")  # layers drawn with a padded-input panel


@dataclass(frozen=True)
class Links:
    """What a selection highlights, in spatial cells of each panel, and the sentence that
    says it (``Output cell (r, c) reads input rows a–b, columns c–d``)."""

    where: str        # what is selected: "output" or "input"
    sentence: str
    inputs: list      # input cells read (output selected), or the selected input cell
    padded: list      # cells of the padded-input panel (convolutions only)
    outputs: list     # the selected output cell, or the output cells an input cell feeds
    taps: list        # kernel taps that read input cells
    pad_taps: list    # kernel taps that read padding zeros


def selection_for(g: LayerGeometry, selection: Selection | None) -> Selection:
    """``selection`` inside ``g`` (clamped per axis); the centre output cell when there is
    none or it has another rank."""
    if selection is None or len(selection.cell) != g.rank:
        return Selection("output", tuple(n // 2 for n in g.out_spatial))
    sizes = g.out_spatial if selection.where == "output" else g.in_spatial
    return Selection(selection.where,
                     tuple(min(max(int(c), 0), n - 1) for c, n in zip(selection.cell, sizes)))


def _output_links(g: LayerGeometry, cell: tuple) -> Links:
    before = [b for b, _ in compute.padded_pads(g)]
    inputs, padded, taps, pad_taps = set(), [], [], []
    for combo in itertools.product(*g.cell_taps(cell)):
        position = tuple(t.position for t in combo)
        inside = all(t.inside for t in combo)
        if inside and all(t.weight != 0 for t in combo):
            inputs.add(position)
        if g.kind in CONV_KINDS:
            padded.append(tuple(p + b for p, b in zip(position, before)))
        if combo and combo[0].tap is not None:
            (taps if inside else pad_taps).append(tuple(t.tap for t in combo))
    return Links("output", output_link(g, cell), sorted(inputs), padded, [cell], taps, pad_taps)


def _input_links(g: LayerGeometry, cell: tuple) -> Links:
    before = [b for b, _ in compute.padded_pads(g)]
    outputs, taps = [], []
    for combo in itertools.product(*(op.feeds(i) for op, i in zip(g.axes, cell))):
        outputs.append(tuple(o for o, _ in combo))
        if combo[0][1] is not None:
            taps.append(tuple(t for _, t in combo))
    padded = [tuple(i + b for i, b in zip(cell, before))] if g.kind in CONV_KINDS else []
    return Links("input", input_link(g, cell), [cell], padded, outputs, taps, [])


def links(g: LayerGeometry, selection: Selection) -> Links:
    """The cells and taps that ``selection`` (inside ``g``) links, and the sentence."""
    if selection.where == "output":
        return _output_links(g, selection.cell)
    return _input_links(g, selection.cell)


def plane(cells, rank: int, depth: int | None = None) -> list:
    """N-d cells → (row, col) cells of the shown 2-D plane (1-D: (0, i); 3-D: those at
    ``depth``)."""
    if rank == 1:
        return [(0, c[0]) for c in cells]
    if rank == 2:
        return [tuple(c) for c in cells]
    return [(c[1], c[2]) for c in cells if c[0] == depth]


def kernel_spatial(kind: str, layer, weights, ch: int):
    """The spatial kernel behind output channel ``ch`` (input channel 0) and its label."""
    w = weights[0]
    if kind == "conv":
        f = ch % w.shape[-1]
        g = f // (w.shape[-1] // layer.groups)
        return w[..., 0, f], f"kernel[..., 0, {f}] (filter {f}, group {g}, input channel 0)"
    if kind == "depthwise":
        m = w.shape[-1]
        c, mm = divmod(ch % (w.shape[-2] * m), m)
        return w[..., c, mm], f"depthwise kernel[..., {c}, {mm}] (input channel {c})"
    if kind == "separable":
        m = w.shape[-1]
        return w[..., 0, ch % m], (f"depthwise_kernel[..., 0, {ch % m}] (then a 1×1 pointwise "
                                   f"kernel {tuple(weights[1].shape)} mixes channels)")
    f = ch % w.shape[-2]
    return w[..., f, 0], f"kernel[..., {f}, 0] (filter {f}, input channel 0)"


def span(values: list, word: str) -> str:
    """``depth 2`` or ``depths 2–4``."""
    return f"{word} {values[0]}" if values[0] == values[-1] else (
        f"{word}s {values[0]}–{values[-1]}")


def input_depth(g: LayerGeometry, sel: Selection, lk: Links) -> tuple[int | None, str]:
    """The input depth slice shown (3-D) and a sentence saying why: the selected input
    cell's, or the middle of the depths the selected output cell reads."""
    if g.rank != 3:
        return None, ""
    if sel.where == "input":
        return sel.cell[0], ""
    depths = sorted({c[0] for c in lk.inputs})
    if depths:
        mid = depths[len(depths) // 2]
        return mid, (f"Output cell {sel.cell} reads input {span(depths, 'depth')}; the input "
                     f"panel shows depth {mid}.")
    return min(sel.cell[0], g.in_spatial[0] - 1), ""


def marks(lk: Links) -> tuple[str, str]:
    """Outline kinds (input side, output side): what the selected output cell reads and the
    cell itself, or the selected input cell and the output cells it feeds."""
    return ("read", "selected") if lk.where == "output" else ("selected", "fed")


def crop_box(g: LayerGeometry, rank: int, depth) -> tuple | None:
    """The window a Cropping layer keeps, in the shown plane: ``(first, last)`` (1-D),
    ``(r0, c0, r1, c1)`` (2-D, 3-D at ``depth``; ``None`` when that depth is cropped)."""
    kept = [(-b, n - 1 + a) for (b, a), n in zip(g.pads, g.in_spatial)]
    if rank == 1:
        return kept[0]
    if rank == 3 and not kept[0][0] <= depth <= kept[0][1]:
        return None
    (r0, r1), (c0, c1) = kept[-2:]
    return (r0, c0, r1, c1)
