"""Register-tiled products for the compiled kernels (numba), nothing else.

``C[i, j] += sum_d A[i, d] B[d, j]`` for a tile of ``MR`` rows by ``4 NV`` columns,
held in ``MR x NV`` vector registers for the whole sum: each step loads ``MR`` numbers
of ``A`` (each broadcast to a vector) and ``NV`` vectors of ``B``, and does ``MR x NV``
vector multiply-adds. Numba's loops do not keep a tile in registers by themselves (the
loop vectorizer works on the innermost loop only, and a sum over the inner dimension
ends in one horizontal sum a number), so the tile is written in LLVM IR
(:func:`tile`); :func:`strip` covers one band of rows, every full group of four
columns, and :func:`bands` every row, in bands of four. The multiply and add are
marked ``contract`` (one FMA where the CPU has it, a multiply and an add where it does
not), nothing else: NaN and inf propagate.

The arrays are C-contiguous float64 and addressed by flat offsets; the caller keeps
every offset in bounds (no check is made in the tile).

Numba's on-disk cache keys a compiled function on its own source file only: after an edit
here, delete the cached kernels that inline these (``__pycache__/_glm_kernels*.nbi`` and
``*.nbc``), or they keep the old code. A fresh install has no cache to go stale.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["bands", "prefetch", "strip", "tile"]

_I8P = ir.IntType(8).as_pointer()
_PREFETCH = "llvm.prefetch.p0" if str(_I8P) == "ptr" else "llvm.prefetch.p0i8"  # opaque or typed
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_V4 = ir.VectorType(ir.DoubleType(), 4)


def _tile(typingctx: Any, A: Any, a0: Any, lda: Any, B: Any, b0: Any, ldb: Any,
         C: Any, c0: Any, ldc: Any, depth: Any, MR: Any, NV: Any) -> Any:
    """``tile(A, a0, lda, B, b0, ldb, C, c0, ldc, depth, MR, NV)``: for ``i < MR`` and
    ``j < 4 NV``, ``C[c0 + i ldc + j] += sum_{d < depth} A[a0 + i lda + d] B[b0 + d ldb + j]``
    (flat offsets into C-contiguous float64 arrays; ``MR`` and ``NV`` constants)."""
    arrays = (A, B, C)
    if not all(isinstance(t, types.Array) and t.dtype == types.float64 and t.layout == "C"
               for t in arrays):
        return None
    if not all(isinstance(t, types.Integer) for t in (a0, lda, b0, ldb, c0, ldc, depth)):
        return None
    if not (isinstance(MR, types.IntegerLiteral) and isinstance(NV, types.IntegerLiteral)):
        return None  # the tile's shape must be known when it is compiled
    mr, nv = MR.literal_value, NV.literal_value
    if not (1 <= mr <= 6 and 1 <= nv <= 4 and mr * nv <= 12):
        return None  # 12 accumulators + NV loads + a broadcast fill 16 vector registers
    sig = types.void(A, a0, lda, B, b0, ldb, C, c0, ldc, depth, MR, NV)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ty = signature.args

        def data(k: int) -> Any:
            return context.make_array(ty[k])(context, builder, args[k]).data

        def index(k: int) -> Any:
            return context.cast(builder, args[k], ty[k], types.intp)

        a_data, b_data, c_data = data(0), data(3), data(6)
        a_0, a_ld, b_0, b_ld, c_0, c_ld, n = (index(k) for k in (1, 2, 4, 5, 7, 8, 9))
        vptr = _V4.as_pointer()
        undef = ir.Constant(_V4, ir.Undefined)
        splat = ir.Constant(ir.VectorType(_I32, 4), [0, 0, 0, 0])
        flags = ("contract",)

        def vec_at(base: Any, offset: Any) -> Any:
            return builder.bitcast(builder.gep(base, [offset]), vptr)

        c_ptr = [[vec_at(c_data, builder.add(c_0, builder.add(builder.mul(_I64(i), c_ld),
                                                             _I64(4 * q))))
                  for q in range(nv)] for i in range(mr)]
        start = [[builder.load(c_ptr[i][q], align=8) for q in range(nv)] for i in range(mr)]
        entry = builder.block
        loop = builder.append_basic_block("tile.loop")
        done = builder.append_basic_block("tile.done")
        builder.cbranch(builder.icmp_signed(">", n, _I64(0)), loop, done)

        builder.position_at_end(loop)
        d = builder.phi(_I64)
        d.add_incoming(_I64(0), entry)
        acc = [[builder.phi(_V4) for _ in range(nv)] for _ in range(mr)]
        for i in range(mr):
            for q in range(nv):
                acc[i][q].add_incoming(start[i][q], entry)
        b_row = builder.add(b_0, builder.mul(d, b_ld))
        b = [builder.load(vec_at(b_data, builder.add(b_row, _I64(4 * q))), align=8)
             for q in range(nv)]
        step = []
        for i in range(mr):
            a = builder.load(builder.gep(a_data, [builder.add(builder.add(
                a_0, builder.mul(_I64(i), a_ld)), d)]))
            a4 = builder.shuffle_vector(builder.insert_element(undef, a, _I32(0)), undef, splat)
            step.append([builder.fadd(builder.fmul(a4, b[q], flags=flags), acc[i][q],
                                      flags=flags) for q in range(nv)])
        d_next = builder.add(d, _I64(1))
        d.add_incoming(d_next, loop)
        for i in range(mr):
            for q in range(nv):
                acc[i][q].add_incoming(step[i][q], loop)
        builder.cbranch(builder.icmp_signed("<", d_next, n), loop, done)

        builder.position_at_end(done)
        final = []
        for i in range(mr):
            for q in range(nv):
                phi = builder.phi(_V4)
                phi.add_incoming(start[i][q], entry)
                phi.add_incoming(step[i][q], loop)
                final.append((phi, c_ptr[i][q]))
        for value, ptr in final:  # the phis first: LLVM wants them at the top of the block
            builder.store(value, ptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


tile: Any = intrinsic(_tile)  # called from compiled code without the typing context


def _prefetch(typingctx: Any, P: Any, at: Any) -> Any:
    """``prefetch(P, at)``: ask for the cache line of ``P``'s flat element ``at`` (read,
    ``prefetcht1``); no effect on the program's values, never a fault."""
    if not (isinstance(P, types.Array) and P.layout == "C" and isinstance(at, types.Integer)):
        return None
    sig = types.void(P, at)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        offset = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = builder.bitcast(builder.gep(data, [offset]), _I8P)
        fn_type = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])
        fn = builder.module.globals.get(_PREFETCH) or ir.Function(builder.module, fn_type,
                                                                  _PREFETCH)
        builder.call(fn, [ptr, _I32(0), _I32(2), _I32(1)])  # read, locality 2, data
        return context.get_dummy_value()

    return sig, codegen


prefetch: Any = intrinsic(_prefetch)


@njit(inline="always")  # type: ignore[untyped-decorator,misc,unused-ignore]
def _ahead(P: Any, at: int, end: int, per: int) -> int:  # pragma: no cover - compiled
    """Prefetch up to ``per`` cache lines of ``P`` from flat offset ``at`` (steps of 8
    float64) while below ``end``; return where the next prefetch starts."""
    for _ in range(per):
        if at < end:
            prefetch(P, at)
            at += 8
    return at


@njit(inline="always")  # type: ignore[untyped-decorator,misc,unused-ignore]
def strip(A: Any, a0: int, lda: int, B: Any, C: Any, c0: int, depth: int, width: int,
          MR: int, P: Any, at: int, end: int, per: int) -> int:  # pragma: no cover - compiled
    """``C[c0 + i width + j] += sum_d A[a0 + i lda + d] B[d width + j]`` for ``i < MR``
    and ``j`` below ``width`` rounded down to a multiple of 4 (the caller adds the rest):
    tiles of 12 columns, then one of 8 or 4. ``B`` and ``C`` rows are ``width`` long.

    Before each tile, up to ``per`` cache lines of ``P`` are prefetched, from flat offset
    ``at`` in steps of 8 float64 while below ``end``; returns where the next prefetch
    starts. A pass spreads the reads of a block ahead over its tiles this way: the
    same prefetches in one burst (or as loads) did not overlap with the arithmetic.
    """
    w4 = width - width % 4
    w12 = w4 - w4 % 12
    for j in range(0, w12, 12):
        at = _ahead(P, at, end, per)
        tile(A, a0, lda, B, j, width, C, c0 + j, width, depth, MR, 3)
    if w4 > w12:
        at = _ahead(P, at, end, per)
        if w4 - w12 == 8:
            tile(A, a0, lda, B, w12, width, C, c0 + w12, width, depth, MR, 2)
        else:
            tile(A, a0, lda, B, w12, width, C, c0 + w12, width, depth, MR, 1)
    return at


@njit(inline="always")  # type: ignore[untyped-decorator,misc,unused-ignore]
def bands(A: Any, lda: int, B: Any, C: Any, count: int, depth: int, width: int, P: Any,
          at: int, end: int, per: int) -> int:  # pragma: no cover - compiled
    """:func:`strip` over the first ``count`` rows of ``A`` (rows ``lda`` long) and ``C``
    (rows ``width`` long): bands of 4 rows, then one of 3, 2 or 1. Returns where the next
    prefetch starts."""
    i = 0
    while i + 4 <= count:
        at = strip(A, i * lda, lda, B, C, i * width, depth, width, 4, P, at, end, per)
        i += 4
    if count - i == 3:
        at = strip(A, i * lda, lda, B, C, i * width, depth, width, 3, P, at, end, per)
    elif count - i == 2:
        at = strip(A, i * lda, lda, B, C, i * width, depth, width, 2, P, at, end, per)
    elif count - i == 1:
        at = strip(A, i * lda, lda, B, C, i * width, depth, width, 1, P, at, end, per)
    return at
