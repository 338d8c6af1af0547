"""Max and average pooling over ``p x q`` windows of an ``(m, C, H, W)`` input, forward and backward.

Both walk the ``p * q`` offsets ``(u, v)`` of a window; at each offset the strided view
``X[:, :, u::s, v::s]`` (cut to ``OH x OW``) holds that element of every window at once, so a pass is
a few whole-array operations per offset and no window is ever copied out.

These whole-array forms allocate a mask per call; the compiled loops of :mod:`.image_kernels`
allocate nothing. Max pooling keeps, per window, the offset of its first maximum in row-major order
(as torch does), in an array of any numeric dtype;
its backward sends each ``dA`` to that one input. Average pooling's backward spreads ``dA / (p q)``
over the window. Windows that overlap (stride < pool size) add their gradients.
"""

from __future__ import annotations

import numpy as np


def _offset_view(X: np.ndarray, u: int, v: int, stride: int, OH: int, OW: int) -> np.ndarray:
    return X[:, :, u:u + stride * OH:stride, v:v + stride * OW:stride]


def max_pool_forward(X: np.ndarray, pool: tuple[int, int], stride: int, out: np.ndarray,
                     argmax: np.ndarray) -> np.ndarray:
    """Write each window's maximum into ``out`` (m, C, OH, OW) and its offset ``u * q + v`` into ``argmax``.

    A later offset replaces the running maximum only when strictly greater, so ties keep the first
    maximum.
    """
    p, q = pool
    OH, OW = out.shape[2:]
    mask = np.empty(out.shape, bool)
    np.copyto(out, _offset_view(X, 0, 0, stride, OH, OW))
    argmax.fill(0)
    for k in range(1, p * q):
        view = _offset_view(X, k // q, k % q, stride, OH, OW)
        np.greater(view, out, out=mask)
        np.copyto(out, view, where=mask)
        np.copyto(argmax, k, where=mask)
    return out


def max_pool_backward(dA: np.ndarray, argmax: np.ndarray, pool: tuple[int, int], stride: int,
                      out: np.ndarray) -> np.ndarray:
    """``dA_prev``: each window's ``dA`` added onto the input that was its maximum; written into ``out``."""
    p, q = pool
    OH, OW = dA.shape[2:]
    mask, scratch = np.empty(dA.shape, bool), np.empty_like(dA)
    out.fill(0)
    for k in range(p * q):
        np.equal(argmax, k, out=mask)
        view = _offset_view(out, k // q, k % q, stride, OH, OW)
        if stride >= max(p, q):  # windows are disjoint: each input receives from one window at most
            np.copyto(view, dA, where=mask)
        else:
            view += np.multiply(dA, mask, out=scratch)
    return out


def avg_pool_forward(X: np.ndarray, pool: tuple[int, int], stride: int, out: np.ndarray) -> np.ndarray:
    """Write each window's mean into ``out`` (m, C, OH, OW)."""
    p, q = pool
    OH, OW = out.shape[2:]
    np.copyto(out, _offset_view(X, 0, 0, stride, OH, OW))
    for k in range(1, p * q):
        out += _offset_view(X, k // q, k % q, stride, OH, OW)
    out *= 1 / (p * q)
    return out


def avg_pool_backward(dA: np.ndarray, pool: tuple[int, int], stride: int, out: np.ndarray) -> np.ndarray:
    """``dA_prev``: ``dA / (p q)`` added onto every input of its window; written into ``out``."""
    p, q = pool
    OH, OW = dA.shape[2:]
    share = np.multiply(dA, 1 / (p * q))
    out.fill(0)
    for k in range(p * q):
        _offset_view(out, k // q, k % q, stride, OH, OW)[...] += share
    return out
