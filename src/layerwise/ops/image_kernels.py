"""Compiled pooling loops: one pass over the input per call, a window at a time.

The same arithmetic as the whole-array forms of :mod:`.pooling` (tested to agree), written element
by element and compiled by numba when it is installed; the whole-array forms make several passes
per window offset. They follow the switch of :mod:`layerwise.optim.kernels`: with numba absent or
``LAYERWISE_NUMBA=0`` the whole-array forms run instead. (im2col and col2im stay whole-array: a
strided copy per kernel offset is as fast as a compiled loop there.)
"""

from __future__ import annotations

from .._compile import ENABLED, compiled

__all__ = ["ENABLED", "max_pool_forward", "max_pool_backward", "max_pool_2x2_forward", "max_pool_2x2_backward",
           "avg_pool_forward", "avg_pool_backward"]


@compiled
def max_pool_forward(X, p, q, stride, out, argmax):
    """Each window's first maximum (row-major) into ``out`` and its offset ``u * q + v`` into ``argmax``."""
    m, C, OH, OW = out.shape
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    h0 = y * stride
                    w0 = x * stride
                    best = X[i, c, h0, w0]
                    k = 0
                    for u in range(p):
                        for v in range(q):
                            value = X[i, c, h0 + u, w0 + v]
                            if value > best:
                                best = value
                                k = u * q + v
                    out[i, c, y, x] = best
                    argmax[i, c, y, x] = k


@compiled
def max_pool_backward(dA, argmax, q, stride, out):
    """``out`` zeroed, then each window's ``dA`` added onto the input that was its maximum."""
    m, C, OH, OW = dA.shape
    out[...] = 0
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    k = int(argmax[i, c, y, x])
                    out[i, c, y * stride + k // q, x * stride + k % q] += dA[i, c, y, x]


@compiled
def max_pool_2x2_forward(X, out, argmax):
    """:func:`max_pool_forward` for 2x2 windows at stride 2, the four comparisons written out.

    The general loop's two window loops of length two cost several times the work they do (they
    run once per window and defeat the compiler); here each window is four reads and three
    comparisons.
    """
    m, C, OH, OW = out.shape
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    best, k = X[i, c, 2 * y, 2 * x], 0
                    value = X[i, c, 2 * y, 2 * x + 1]
                    if value > best:
                        best, k = value, 1
                    value = X[i, c, 2 * y + 1, 2 * x]
                    if value > best:
                        best, k = value, 2
                    value = X[i, c, 2 * y + 1, 2 * x + 1]
                    if value > best:
                        best, k = value, 3
                    out[i, c, y, x] = best
                    argmax[i, c, y, x] = k


@compiled
def max_pool_2x2_backward(dA, argmax, out):
    """:func:`max_pool_backward` for 2x2 windows at stride 2 (disjoint: each input gets one ``dA`` at most)."""
    m, C, OH, OW = dA.shape
    out[...] = 0
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    k = int(argmax[i, c, y, x])
                    out[i, c, 2 * y + (k >> 1), 2 * x + (k & 1)] = dA[i, c, y, x]


@compiled
def avg_pool_forward(X, p, q, stride, out):
    """Each window's mean into ``out``."""
    m, C, OH, OW = out.shape
    scale = 1 / (p * q)
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    total = X[i, c, y * stride, x * stride] * 0
                    for u in range(p):
                        for v in range(q):
                            total += X[i, c, y * stride + u, x * stride + v]
                    out[i, c, y, x] = total * scale


@compiled
def avg_pool_backward(dA, p, q, stride, out):
    """``out`` zeroed, then ``dA / (p q)`` added onto every input of its window."""
    m, C, OH, OW = dA.shape
    scale = 1 / (p * q)
    out[...] = 0
    for i in range(m):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    share = dA[i, c, y, x] * scale
                    for u in range(p):
                        for v in range(q):
                            out[i, c, y * stride + u, x * stride + v] += share
