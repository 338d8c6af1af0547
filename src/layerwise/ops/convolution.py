"""The convolution as a Dense layer applied at every position: im2col, col2im and the seed's equations.

A 2-D convolution (a cross-correlation, exactly as ``torch.nn.functional.conv2d``) of an input
``A_prev`` of shape ``(m, C, H, W)`` with ``F`` filters ``W`` of shape ``(F, C, kh, kw)`` looks at
``P = OH * OW`` windows of ``K = C * kh * kw`` values per example. im2col lays the windows of
example ``i`` out as the columns of a matrix ``cols_i`` of shape ``(K, P)``; with ``W`` seen as the
``(F, K)`` matrix of its rows the convolution is the seed's Dense equation at every position::

    Z_i = W . cols_i + b                 (F, P), which is (F, OH, OW): channels first, as torch

and the backward pass is the seed's equations on the column matrices (``dZ`` per example, the
``1/m`` only in ``dW`` and ``db``)::

    dW      = (1/m) sum_i dZ_i . cols_i^T
    db      = (1/m) sum_i sum_p dZ_i[:, p]
    dA_prev = col2im(W^T . dZ_i)         col2im adds each column back onto the window it came from

Every function writes into buffers the caller owns (``out=``), so a training loop that keeps one
set per batch size allocates nothing per batch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_size(n: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Number of window positions along one axis: ``(n + pads - kernel) // stride + 1`` (floor, as torch)."""
    return (n + pad_before + pad_after - kernel) // stride + 1


def same_padding(kernel: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that keeps the size at stride 1; an even kernel pads one more after, as torch."""
    before = (kernel - 1) // 2
    return before, kernel - 1 - before


def windows(X: np.ndarray, kh: int, kw: int, stride: int, OH: int, OW: int) -> np.ndarray:
    """A read-only strided view ``(m, C, kh, kw, OH, OW)`` of the windows of ``X`` (m, C, H, W); no copy."""
    sm, sc, sh, sw = X.strides
    return as_strided(X, (X.shape[0], X.shape[1], kh, kw, OH, OW),
                      (sm, sc, sh, sw, sh * stride, sw * stride), writeable=False)


def pad_into(X: np.ndarray, pads: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:
    """Copy ``X`` (m, C, H, W) into the interior of ``out`` and zero its border (``pads`` = top,
    bottom, left, right); returns ``out``."""
    top, bottom, left, right = pads
    H, W = X.shape[2:]
    out[:, :, :top], out[:, :, top + H:] = 0, 0
    out[:, :, :, :left], out[:, :, :, left + W:] = 0, 0
    out[:, :, top:top + H, left:left + W] = X
    return out


def im2col(X_pad: np.ndarray, kh: int, kw: int, stride: int, out: np.ndarray) -> np.ndarray:
    """Write the windows of ``X_pad`` (m, C, Hp, Wp) into ``out`` (m, C*kh*kw, OH*OW) and return it.

    Row ``k = (c, u, v)`` of ``cols_i`` holds ``X_pad[i, c, u + stride*y, v + stride*x]`` at
    column ``p = (y, x)``, the order of ``W.reshape(F, -1)``.
    """
    m, C = X_pad.shape[:2]
    OH = (X_pad.shape[2] - kh) // stride + 1
    OW = (X_pad.shape[3] - kw) // stride + 1
    np.copyto(out.reshape(m, C, kh, kw, OH, OW), windows(X_pad, kh, kw, stride, OH, OW))
    return out


def col2im(dcols: np.ndarray, kh: int, kw: int, stride: int, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column of ``dcols`` (m, C*kh*kw, OH*OW) back onto the
    window of ``out`` (m, C, Hp, Wp) it was read from, so overlapping windows add up. Returns ``out``."""
    m, C, Hp, Wp = out.shape
    OH = (Hp - kh) // stride + 1
    OW = (Wp - kw) // stride + 1
    d = dcols.reshape(m, C, kh, kw, OH, OW)
    out.fill(0)
    for u in range(kh):
        for v in range(kw):
            out[:, :, u:u + stride * OH:stride, v:v + stride * OW:stride] += d[:, :, u, v]
    return out


def conv_forward(cols: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``Z_i = W . cols_i + b`` for every example: ``cols`` (m, K, P), ``W`` (F, K), ``b`` (F,), ``out`` (m, F, P)."""
    np.matmul(W, cols, out=out)  # Z = W . cols ...
    out += b[:, None]  #              ... + b
    return out


def conv_backward(dZ: np.ndarray, cols: np.ndarray, W: np.ndarray, dW: np.ndarray, db: np.ndarray,
                  dW_each: np.ndarray, db_each: np.ndarray, ones: np.ndarray,
                  dcols: np.ndarray | None) -> np.ndarray | None:
    """The seed's equations on the column matrices; writes ``dW`` (F, K) and ``db`` (F,) in place.

    ``dZ`` is (m, F, P), per example. ``dW_each`` (m, F, K) and ``db_each`` (m, F) hold each
    example's ``dZ_i . cols_i^T`` and ``sum_p dZ_i`` before the examples are summed; ``ones`` is a
    (P,) vector of ones (a matrix-vector product sums over the positions several times faster than
    a reduction over two axes). Returns ``dcols = W^T . dZ`` (m, K, P) in ``dcols``, which col2im
    turns into ``dA_prev``; ``None`` when ``dcols`` is ``None`` (the first layer needs no ``dA_prev``).
    """
    m = dZ.shape[0]
    np.matmul(dZ, cols.transpose(0, 2, 1), out=dW_each)  # dZ_i . cols_i^T
    np.add.reduce(dW_each, axis=0, out=dW)
    dW *= 1 / m  #                                          dW = (1/m) sum_i dZ_i . cols_i^T
    np.add.reduce(np.matmul(dZ, ones, out=db_each), axis=0, out=db)
    db *= 1 / m  #                                          db = (1/m) sum_i sum_p dZ_i
    if dcols is None:
        return None
    return np.matmul(W.T, dZ, out=dcols)  #                 dcols = W^T . dZ  (dA_prev = col2im(dcols))
