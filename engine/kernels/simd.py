"""Explicit 16-lane float32 vectors for Numba kernels (``@intrinsic``, no SLP needed).

Numba's loop vectorizer only vectorizes innermost loops and keeps their state in memory,
and its SLP vectorizer is off by default (it has miscompiled). Register-blocked kernels
(several output vectors accumulated over a long tap loop) therefore need explicit vectors:
:data:`f32x16` is an LLVM ``<16 x float>`` value held in a register (one zmm on AVX-512,
two ymm on AVX2; LLVM legalises it for any x86-64).

Every function here is an ``@intrinsic`` usable only inside ``@njit`` code. Indices are
element offsets into a C-contiguous float32 array and are *not* checked (no wraparound,
no bounds check): the caller guarantees ``0 <= i`` and ``i + 16 <= a.size`` (``i < a.size``
for :func:`bload`). :func:`fma` is a true fused multiply-add (one rounding), so results can
differ from separate multiply and add in the last bit; kernels need no fast-math flags.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, models, register_model

LANES = 16


class F32x16(types.Type):
    """Numba type of a ``<16 x float>`` register value."""

    def __init__(self):
        super().__init__(name="f32x16")


f32x16 = F32x16()
_VEC = ir.VectorType(ir.FloatType(), LANES)


@register_model(F32x16)
class _F32x16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _element_ptr(context, builder, arrty, arr, idx):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.gep(data, [idx], inbounds=True)


def _check_array(arr):
    return (isinstance(arr, types.Array) and arr.dtype == types.float32
            and arr.layout == "C")


@intrinsic
def load(typingctx, arr, i):
    """``a[i:i + 16]`` (of the flattened array) as a vector."""
    if not (_check_array(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _element_ptr(context, builder, sig.args[0], args[0], idx)
        vptr = builder.bitcast(ptr, _VEC.as_pointer())
        return builder.load(vptr, align=4)

    return f32x16(arr, i), codegen


@intrinsic
def bload(typingctx, arr, i):
    """``a.flat[i]`` broadcast to all 16 lanes."""
    if not (_check_array(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _element_ptr(context, builder, sig.args[0], args[0], idx)
        value = builder.load(ptr, align=4)
        return _splat(builder, value)

    return f32x16(arr, i), codegen


@intrinsic
def get(typingctx, arr, i):
    """``a.flat[i]`` as a float32 scalar (no wraparound, no bounds check)."""
    if not (_check_array(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.load(_element_ptr(context, builder, sig.args[0], args[0], idx), align=4)

    return types.float32(arr, i), codegen


def _splat(builder, value):
    one = builder.insert_element(ir.Constant(_VEC, ir.Undefined), value,
                                 ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    return builder.shuffle_vector(one, ir.Constant(_VEC, ir.Undefined), mask)


@intrinsic
def splat(typingctx, value):
    """A float broadcast to all 16 lanes."""
    if not isinstance(value, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.float32)
        return _splat(builder, v)

    return f32x16(value), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` lane by lane, fused (one rounding)."""
    if not (a == f32x16 and b == f32x16 and c == f32x16):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC, [_VEC, _VEC, _VEC]), "llvm.fma.v16f32")
        return builder.call(fn, list(args))

    return f32x16(a, b, c), codegen


@intrinsic
def add(typingctx, a, b):
    """``a + b`` lane by lane."""
    if not (a == f32x16 and b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return f32x16(a, b), codegen


def _lane_mask(context, builder, n, nty):
    """``<16 x i1>``: lane ``k`` is on when ``k < n``."""
    ivec = ir.VectorType(ir.IntType(32), LANES)
    count = context.cast(builder, n, nty, types.int32)
    limit = builder.insert_element(ir.Constant(ivec, ir.Undefined), count,
                                   ir.Constant(ir.IntType(32), 0))
    limit = builder.shuffle_vector(limit, ir.Constant(ivec, ir.Undefined),
                                   ir.Constant(ivec, [0] * LANES))
    return builder.icmp_signed("<", ir.Constant(ivec, list(range(LANES))), limit)


@intrinsic
def load_n(typingctx, arr, i, n):
    """``a.flat[i:i + n]`` in the first ``n`` lanes (``0 <= n <= 16``), zeros after; a masked
    load, so lanes ``>= n`` touch no memory and ``i + n <= a.size`` is enough."""
    if not (_check_array(arr) and isinstance(i, types.Integer)
            and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _element_ptr(context, builder, sig.args[0], args[0], idx)
        mask = _lane_mask(context, builder, args[2], sig.args[2])
        vptr = builder.bitcast(ptr, _VEC.as_pointer())
        fnty = ir.FunctionType(_VEC, [vptr.type, ir.IntType(32), mask.type, _VEC])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.masked.load.v16f32.p0")
        return builder.call(fn, [vptr, ir.Constant(ir.IntType(32), 4), mask,
                                 ir.Constant(_VEC, [0.0] * LANES)])

    return f32x16(arr, i, n), codegen


@intrinsic
def store(typingctx, arr, i, v):
    """``a.flat[i:i + 16] = v``."""
    if not (_check_array(arr) and isinstance(i, types.Integer) and v == f32x16):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _element_ptr(context, builder, sig.args[0], args[0], idx)
        builder.store(args[2], builder.bitcast(ptr, _VEC.as_pointer()), align=4)
        return context.get_dummy_value()

    return types.none(arr, i, v), codegen


@intrinsic
def store_n(typingctx, arr, i, v, n):
    """``a.flat[i:i + n] = v[:n]`` for ``0 <= n <= 16`` (a masked store: lanes ``>= n``
    touch no memory, so ``i + n <= a.size`` is enough)."""
    if not (_check_array(arr) and isinstance(i, types.Integer) and v == f32x16
            and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _element_ptr(context, builder, sig.args[0], args[0], idx)
        mask = _lane_mask(context, builder, args[3], sig.args[3])
        vptr = builder.bitcast(ptr, _VEC.as_pointer())
        fnty = ir.FunctionType(ir.VoidType(), [_VEC, vptr.type, ir.IntType(32), mask.type])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.masked.store.v16f32.p0")
        builder.call(fn, [args[2], vptr, ir.Constant(ir.IntType(32), 4), mask])
        return context.get_dummy_value()

    return types.none(arr, i, v, n), codegen
