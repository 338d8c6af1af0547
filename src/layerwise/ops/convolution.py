"""The convolution as a Dense layer applied at every position: im2col, col2im and the seed's equations.

A 2-D convolution (a cross-correlation, exactly as ``torch.nn.functional.conv2d``) of an input
``A_prev`` of shape ``(m, C, H, W)`` with ``F`` filters ``W`` of shape ``(F, C, kh, kw)`` looks at
``P = OH * OW`` windows of ``K = C * kh * kw`` values per example. im2col lays every window of
every example out as a column of one matrix ``cols`` of shape ``(K, m P)``: the ``P`` columns of
example 0, then those of example 1, and so on. With ``W`` seen as the ``(F, K)`` matrix of its
rows, the convolution is the seed's Dense equation with ``m P`` columns::

    Z = W . cols + b                     (F, m P), which is (F, m, OH, OW)

and the backward pass is the seed's equations on these matrices (``dZ`` per example, the ``1/m``
only in ``dW`` and ``db``, ``m`` the number of examples)::

    dW      = (1/m) dZ . cols^T          the sum over examples and positions in one product
    db      = (1/m) sum over the columns of dZ
    dA_prev = col2im(W^T . dZ)           col2im adds each column back onto the window it came from

``Z`` and ``dZ`` are kept as ``(F, m, P)``; the layer reads them through a transposed view as the
``(m, F, OH, OW)`` images the next layer expects. Every function writes into buffers the caller owns
(``out=``), so a training loop that keeps one set per batch size allocates nothing per batch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import conv_kernels


def output_size(n: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Number of window positions along one axis: ``(n + pads - kernel) // stride + 1`` (floor, as torch)."""
    return (n + pad_before + pad_after - kernel) // stride + 1


def same_padding(kernel: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that keeps the size at stride 1; an even kernel pads one more after, as torch."""
    before = (kernel - 1) // 2
    return before, kernel - 1 - before


def windows(X: np.ndarray, kh: int, kw: int, stride: int, OH: int, OW: int) -> np.ndarray:
    """A read-only strided view ``(C, kh, kw, m, OH, OW)`` of the windows of ``X`` (m, C, H, W); no copy."""
    sm, sc, sh, sw = X.strides
    return as_strided(X, (X.shape[1], kh, kw, X.shape[0], OH, OW),
                      (sc, sh, sw, sm, sh * stride, sw * stride), writeable=False)


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
    """Write the windows of ``X_pad`` (m, C, Hp, Wp) into ``out`` (C*kh*kw, m*OH*OW) and return it.

    Row ``k = (c, u, v)`` holds ``X_pad[i, c, u + stride*y, v + stride*x]`` at column
    ``(i, y, x)``; the rows are in the order of ``W.reshape(F, -1)``.
    """
    m, C, Hp, Wp = X_pad.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    blocks = out.reshape(C, kh, kw, m, OH, OW)
    if conv_kernels.ENABLED and stride == 1:
        conv_kernels.im2col_stride1(X_pad, blocks)
    else:
        np.copyto(blocks, windows(X_pad, kh, kw, stride, OH, OW))
    return out


def col2im(dcols: np.ndarray, kh: int, kw: int, stride: int, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column of ``dcols`` (C*kh*kw, m*OH*OW) back onto the
    window of ``out`` (m, C, Hp, Wp) it was read from, so overlapping windows add up. Returns ``out``."""
    m, C, Hp, Wp = out.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    blocks = dcols.reshape(C, kh, kw, m, OH, OW)
    if conv_kernels.ENABLED:
        conv_kernels.col2im(blocks, stride, out)
        return out
    out.fill(0)
    for u in range(kh):
        for v in range(kw):
            out[:, :, u:u + stride * OH:stride, v:v + stride * OW:stride] += blocks[:, u, v].transpose(1, 0, 2, 3)
    return out


def conv_forward(cols: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``Z = W . cols + b``: ``cols`` (K, m P), ``W`` (F, K), ``b`` (F,), ``out`` (F, m P)."""
    np.matmul(W, cols, out=out)  # Z = W . cols ...
    out += b[:, None]  #              ... + b
    return out


def conv_forward_relu(cols: np.ndarray, W: np.ndarray, b: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    """:func:`conv_forward` into ``Z`` (F, m P), then ``A = relu(Z)`` as the images ``A`` (m, F, OH, OW), the bias
    and the ReLU in one compiled pass (:func:`.conv_kernels.add_bias_relu`). Returns ``A``."""
    (m, F), P = A.shape[:2], A.shape[2] * A.shape[3]
    np.matmul(W, cols, out=Z)
    conv_kernels.add_bias_relu(Z.reshape(F, m, P), b, A.reshape(m, F, P))
    return A


def conv_backward(dZ: np.ndarray, cols: np.ndarray, W: np.ndarray, m: int, dW: np.ndarray, db: np.ndarray,
                  ones: np.ndarray, dcols: np.ndarray | None) -> np.ndarray | None:
    """The seed's equations on the column matrices; writes ``dW`` (F, K) and ``db`` (F,) in place.

    ``dZ`` is (F, m P) and ``cols`` (K, m P) for ``m`` examples; ``ones`` is a (m P,) vector of ones
    (a matrix-vector product sums the columns faster than a reduction). Returns ``dcols = W^T . dZ``
    (K, m P) in ``dcols``, which col2im turns into ``dA_prev``; ``None`` when ``dcols`` is ``None``
    (the first layer needs no ``dA_prev``).
    """
    np.matmul(dZ, cols.T, out=dW)
    dW *= 1 / m  #                         dW = (1/m) dZ . cols^T
    np.matmul(dZ, ones, out=db)
    db *= 1 / m  #                         db = (1/m) sum_columns dZ
    if dcols is None:
        return None
    return np.matmul(W.T, dZ, out=dcols)  #        dcols = W^T . dZ  (dA_prev = col2im(dcols))
