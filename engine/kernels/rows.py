"""Work items of the row kernels: which cells of which run of which output row.

The row kernels (:func:`engine.kernels.conv._conv_filters`,
:func:`engine.kernels.narrow.conv_narrow`) share out (filter chunk, output row, run,
segment of the run) items over ``prange``; these helpers turn an item number into the
cells it covers and the input / output addresses of its row.
"""

from __future__ import annotations

from engine.kernels.blocks import BLOCK
from engine.kernels.jit import jit


@jit()
def _segment(sg, seg, cnt):
    """Cells ``[j0, j1)`` of segment ``sg`` of a run of ``cnt`` cells cut every ``seg``
    (a multiple of BLOCK); a last piece shorter than BLOCK joins the segment before it, so
    that every segment of at least BLOCK cells is covered by whole (overlapping) blocks."""
    j0 = sg * seg
    j1 = min(cnt, j0 + seg)
    if j0 >= cnt or (j0 > 0 and cnt - j0 < BLOCK):
        return 0, 0
    if cnt - j1 < BLOCK:
        j1 = cnt
    return j0, j1


@jit()
def _row_item(fitem, n_items, fpc, nfbt, nseg, seg, nruns, runs, out_h, out_d, segs, cls_d,
              cls_h, ncls_h, ncls_w, base_d, base_h, in_d, in_h, in_w, out_w, n_ch, n_filters):
    """What work item ``fitem`` of a row loop covers (items: filter chunk of ``fpc``
    blocks outermost, then batch, depth, output row, run, segment): cells ``[j0, j1)`` of
    a run (``j1 − j0 < BLOCK``: nothing, the column loop does it), its segments row
    (:func:`engine.kernels.conv._combo_segments`), input / output bases (cells) and steps
    (elements ``xs`` / ``os_``, cells ``ostep`` / ``bstep``), filter blocks ``[gb, gend)``."""
    item = fitem % n_items
    gend = min(nfbt, (fitem // n_items + 1) * fpc)
    gb = (fitem // n_items) * fpc
    ri = (item // nseg) % nruns
    j0, j1 = _segment(item % nseg, seg, runs[ri, 2])
    r = item // (nseg * nruns)
    oh = r % out_h
    od = (r // out_h) % out_d
    n = r // (out_h * out_d)
    ostep = runs[ri, 1]
    bstep = runs[ri, 4]
    sg = segs[(cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]]
    rowpix = ((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + runs[ri, 3]
    orow = ((n * out_d + od) * out_h + oh) * out_w + runs[ri, 0]
    return (j0, j1, sg, rowpix, orow, bstep * n_ch, ostep * n_filters, ostep, bstep, gb,
            gend)
