"""Register-tiled products for the compiled kernels (numba), nothing else.

``C[i, j] += sum_d A[i, d] B[d, j]`` for a tile of ``MR`` rows by ``4 NV`` columns,
held in vector registers for the whole sum: each step loads ``MR`` numbers of ``A``
(each broadcast to a vector) and a row of ``B``'s tile, and does one vector
multiply-add per register of the tile. Numba's loops do not keep a tile in registers
by themselves (the loop vectorizer works on the innermost loop only, and a sum over
the inner dimension ends in one horizontal sum a number), so the tile is written in
LLVM IR (:func:`tile`); :func:`strip` covers one band of rows, every full group of four
columns, and :func:`bands` every row. The multiply and add are marked ``contract``
(one FMA where the CPU has it, a multiply and an add where it does not), nothing else:
NaN and inf propagate.

Where the CPU has AVX-512 (:data:`WIDE`), a tile's columns are held eight to a
register (a last four in a register of four) and its tiles are larger, 24 columns by
up to 8 rows (32 registers); elsewhere four to a register, 12 columns by up to 4 rows
(16 registers). Either way each number of ``C`` is summed over ``d`` in order, one
multiply-add at a time, so both give the same bits. The choice only concerns speed:
the code is correct on any CPU (LLVM splits a vector wider than the CPU's).

The arrays are C-contiguous float64 and addressed by flat offsets; the caller keeps
every offset in bounds (no check is made in the tile).

Numba's on-disk cache keys a compiled function on its own source file only: after an edit
here, delete the cached kernels that inline these (``__pycache__/_glm_kernels*.nbi`` and
``*.nbc``), or they keep the old code. A fresh install has no cache to go stale.
"""

from __future__ import annotations

import os
from typing import Any

import llvmlite.binding as ll
from llvmlite import ir
from numba import njit, types
from numba.core import config
from numba.extending import intrinsic

__all__ = ["WIDE", "bands", "prefetch", "strip", "tile", "tiles"]

_I8P = ir.IntType(8).as_pointer()
_PREFETCH = "llvm.prefetch.p0" if str(_I8P) == "ptr" else "llvm.prefetch.p0i8"  # opaque or typed
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


def _wide() -> bool:
    """Whether numba compiles for a CPU with AVX-512 (the host's, unless NUMBA_CPU_NAME
    or NUMBA_CPU_FEATURES name another: a named CPU without features counts as narrow).
    ``DESCEND_TILES=wide|narrow`` picks either layout on any CPU, for the tests (both
    give the same bits; only speed differs): with it, point ``NUMBA_CACHE_DIR``
    elsewhere, or the usual cache serves the other one."""
    forced = os.environ.get("DESCEND_TILES", "")
    if forced in ("wide", "narrow"):
        return forced == "wide"
    features, name = getattr(config, "CPU_FEATURES", None), getattr(config, "CPU_NAME", None)
    if features is not None:
        return "+avx512f" in str(features).split(",")
    if name is not None and name != "host":
        return False
    try:
        return bool(ll.get_host_cpu_features().get("avx512f", False))
    except RuntimeError:  # the features cannot be read: the narrow tiles, right anywhere
        return False


#: Tiles of 8-wide registers, 24 columns by up to 8 rows (else 4-wide, 12 by up to 4).
WIDE: bool = _wide()
_GROUP = 6 if WIDE else 3  # a strip's full tiles: 4 * _GROUP columns
BAND = 8 if WIDE else 4  # rows of a band that fills the registers with a full tile


def _lanes(nv: int) -> list[int]:
    """The registers of a tile ``4 nv`` columns wide: widths 8 then a last 4 where
    :data:`WIDE`, else all 4."""
    if not WIDE:
        return [4] * nv
    return [8] * (nv // 2) + [4] * (nv % 2)


def _tile(typingctx: Any, A: Any, a0: Any, lda: Any, sda: Any, B: Any, b0: Any, ldb: Any,
          C: Any, c0: Any, ldc: Any, depth: Any, MR: Any, NV: Any) -> Any:
    """``tile(A, a0, lda, sda, B, b0, ldb, C, c0, ldc, depth, MR, NV)``: for ``i < MR`` and
    ``j < 4 NV``, ``C[c0 + i ldc + j] += sum_{d < depth} A[a0 + i lda + d sda] B[b0 + d ldb + j]``
    (flat offsets into C-contiguous float64 arrays; ``MR`` and ``NV`` constants; ``sda``
    is 1 for ``A`` by rows, its row length for ``A`` read transposed)."""
    arrays = (A, B, C)
    if not all(isinstance(t, types.Array) and t.dtype == types.float64 and t.layout == "C"
               for t in arrays):
        return None
    if not all(isinstance(t, types.Integer) for t in (a0, lda, sda, b0, ldb, c0, ldc, depth)):
        return None
    if not (isinstance(MR, types.IntegerLiteral) and isinstance(NV, types.IntegerLiteral)):
        return None  # the tile's shape must be known when it is compiled
    mr, nv = MR.literal_value, NV.literal_value
    if not (1 <= mr <= 8 and 1 <= nv <= 8):
        return None
    sig = types.void(A, a0, lda, sda, B, b0, ldb, C, c0, ldc, depth, MR, NV)
    lanes = _lanes(nv)
    starts = [sum(lanes[:q]) for q in range(len(lanes))]

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ty = signature.args

        def data(k: int) -> Any:
            return context.make_array(ty[k])(context, builder, args[k]).data

        def index(k: int) -> Any:
            return context.cast(builder, args[k], ty[k], types.intp)

        a_data, b_data, c_data = data(0), data(4), data(7)
        a_0, a_ld, a_sd, b_0, b_ld, c_0, c_ld, n = (index(k) for k in (1, 2, 3, 5, 6, 8, 9, 10))
        vty = {w: ir.VectorType(ir.DoubleType(), w) for w in set(lanes)}
        flags = ("contract",)
        nq = len(lanes)

        def vec_at(base: Any, offset: Any, w: int) -> Any:
            return builder.bitcast(builder.gep(base, [offset]), vty[w].as_pointer())

        def splat(x: Any, w: int) -> Any:
            undef = ir.Constant(vty[w], ir.Undefined)
            zeros = ir.Constant(ir.VectorType(_I32, w), [0] * w)
            return builder.shuffle_vector(builder.insert_element(undef, x, _I32(0)), undef,
                                          zeros)

        c_ptr = [[vec_at(c_data, builder.add(c_0, builder.add(builder.mul(_I64(i), c_ld),
                                                             _I64(starts[q]))), lanes[q])
                  for q in range(nq)] for i in range(mr)]
        start = [[builder.load(c_ptr[i][q], align=8) for q in range(nq)] for i in range(mr)]
        entry = builder.block
        loop = builder.append_basic_block("tile.loop")
        done = builder.append_basic_block("tile.done")
        builder.cbranch(builder.icmp_signed(">", n, _I64(0)), loop, done)

        builder.position_at_end(loop)
        d = builder.phi(_I64)
        d.add_incoming(_I64(0), entry)
        acc = [[builder.phi(vty[lanes[q]]) for q in range(nq)] for _ in range(mr)]
        for i in range(mr):
            for q in range(nq):
                acc[i][q].add_incoming(start[i][q], entry)
        b_row = builder.add(b_0, builder.mul(d, b_ld))
        b = [builder.load(vec_at(b_data, builder.add(b_row, _I64(starts[q])), lanes[q]),
                          align=8) for q in range(nq)]
        step = []
        for i in range(mr):
            a = builder.load(builder.gep(a_data, [builder.add(builder.add(
                a_0, builder.mul(_I64(i), a_ld)), builder.mul(d, a_sd))]))
            wide = {w: splat(a, w) for w in vty}
            step.append([builder.fadd(builder.fmul(wide[lanes[q]], b[q], flags=flags),
                                      acc[i][q], flags=flags) for q in range(nq)])
        d_next = builder.add(d, _I64(1))
        d.add_incoming(d_next, loop)
        for i in range(mr):
            for q in range(nq):
                acc[i][q].add_incoming(step[i][q], loop)
        builder.cbranch(builder.icmp_signed("<", d_next, n), loop, done)

        builder.position_at_end(done)
        final = []
        for i in range(mr):
            for q in range(nq):
                phi = builder.phi(vty[lanes[q]])
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
def strip(A: Any, a0: int, lda: int, sda: int, B: Any, C: Any, c0: int, depth: int,
          width: int, MR: int, P: Any, at: int, end: int,
          per: int) -> int:  # pragma: no cover - compiled
    """``C[c0 + i width + j] += sum_d A[a0 + i lda + d sda] B[d width + j]`` for ``i < MR``
    and ``j`` below ``width`` rounded down to a multiple of 4 (the caller adds the rest):
    tiles of ``4 _GROUP`` columns (24 or 12), then one of the rest. ``B`` and ``C`` rows
    are ``width`` long.

    Before each tile, up to ``per`` cache lines of ``P`` are prefetched, from flat offset
    ``at`` in steps of 8 float64 while below ``end``; returns where the next prefetch
    starts. A pass spreads the reads of a block ahead over its tiles this way: the
    same prefetches in one burst (or as loads) did not overlap with the arithmetic.
    """
    w4 = width - width % 4
    full = 4 * _GROUP
    wf = w4 - w4 % full
    for j in range(0, wf, full):
        at = _ahead(P, at, end, per)
        if WIDE:
            tile(A, a0, lda, sda, B, j, width, C, c0 + j, width, depth, MR, 6)
        else:
            tile(A, a0, lda, sda, B, j, width, C, c0 + j, width, depth, MR, 3)
    rest = (w4 - wf) // 4
    if rest > 0:
        at = _ahead(P, at, end, per)
        if rest == 1:
            tile(A, a0, lda, sda, B, wf, width, C, c0 + wf, width, depth, MR, 1)
        elif rest == 2:
            tile(A, a0, lda, sda, B, wf, width, C, c0 + wf, width, depth, MR, 2)
        elif rest == 3:
            tile(A, a0, lda, sda, B, wf, width, C, c0 + wf, width, depth, MR, 3)
        elif rest == 4:
            tile(A, a0, lda, sda, B, wf, width, C, c0 + wf, width, depth, MR, 4)
        else:
            tile(A, a0, lda, sda, B, wf, width, C, c0 + wf, width, depth, MR, 5)
    return at


@njit(inline="always")  # type: ignore[untyped-decorator,misc,unused-ignore]
def bands(A: Any, lda: int, sda: int, B: Any, C: Any, count: int, depth: int, width: int,
          MR: int, P: Any, at: int, end: int, per: int) -> int:  # pragma: no cover - compiled
    """:func:`strip` over the first ``count`` rows of ``A`` (row ``i`` at ``i lda``, its
    ``d``-th number ``d sda`` on) and ``C`` (rows ``width`` long): bands of ``MR`` rows
    (a constant: up to :data:`BAND` fills the registers; more compiles, and spills),
    then of 4, then one of 3, 2 or 1. Returns where the next prefetch starts."""
    i = 0
    while i + MR <= count:
        at = strip(A, i * lda, lda, sda, B, C, i * width, depth, width, MR, P, at, end, per)
        i += MR
    while i + 4 <= count:
        at = strip(A, i * lda, lda, sda, B, C, i * width, depth, width, 4, P, at, end, per)
        i += 4
    if count - i == 3:
        at = strip(A, i * lda, lda, sda, B, C, i * width, depth, width, 3, P, at, end, per)
    elif count - i == 2:
        at = strip(A, i * lda, lda, sda, B, C, i * width, depth, width, 2, P, at, end, per)
    elif count - i == 1:
        at = strip(A, i * lda, lda, sda, B, C, i * width, depth, width, 1, P, at, end, per)
    return at


@njit(inline="always")  # type: ignore[untyped-decorator,misc,unused-ignore]
def tiles(count: int, width: int, MR: int) -> int:
    """How many tiles :func:`bands` runs over ``count`` rows ``width`` wide (a pass spreads
    its prefetches over them)."""
    nb = count // MR + (count % MR) // 4 + (1 if count % MR % 4 else 0)
    w4 = width - width % 4
    return nb * (w4 // (4 * _GROUP) + (1 if w4 % (4 * _GROUP) else 0))
