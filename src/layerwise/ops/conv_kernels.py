"""Compiled loops of the convolution: im2col, col2im and a ReLU layer's element-wise passes.

Each is the arithmetic of a whole-array form in :mod:`.convolution` or :mod:`layerwise.layers.conv`
(tested to agree), written element by element and compiled by numba on first use. The whole-array
forms take several passes over rows as short as the image, and a NumPy ufunc that reads the
filter-major ``(F, m, P)`` products as ``(m, F, P)`` images allocates buffers on every call; these
loops take one pass and allocate nothing. They follow the switch of :mod:`layerwise.optim.kernels`:
with numba absent or ``LAYERWISE_NUMBA=0`` the whole-array forms run instead.

* :func:`im2col_stride1` — the windows at stride 1 (at other strides NumPy's strided copy is faster:
  the loop cannot read consecutive values);
* :func:`col2im` — the adjoint of im2col, every column added back onto its window;
* :func:`add_bias_relu` — ``Z += b``, then ``A = max(Z, 0)`` written as images;
* :func:`relu_dZ` — ``dZ = dA * [Z > 0]`` from the images ``dA`` into the filter-major ``dZ``.
"""

from __future__ import annotations

from .._compile import ENABLED, compiled

__all__ = ["ENABLED", "im2col_stride1", "col2im", "add_bias_relu", "relu_dZ"]


@compiled
def im2col_stride1(X, out):
    """``out[c, u, v, i, y, x] = X[i, c, u + y, v + x]`` for ``X`` (m, C, H, W) and ``out`` (C, kh, kw, m, OH, OW)."""
    C, kh, kw, m, OH, OW = out.shape
    for c in range(C):
        for u in range(kh):
            for v in range(kw):
                for i in range(m):
                    for y in range(OH):
                        for x in range(OW):
                            out[c, u, v, i, y, x] = X[i, c, u + y, v + x]


@compiled
def col2im(dcols, stride, out):
    """``out`` zeroed, then ``dcols[c, u, v, i, y, x]`` added onto ``out[i, c, u + stride y, v + stride x]``.

    Reads ``dcols`` (C, kh, kw, m, OH, OW) in order; stride 1 has its own inner loop, whose
    consecutive reads and writes the compiler turns into vector instructions.
    """
    C, kh, kw, m, OH, OW = dcols.shape
    out[...] = 0
    for c in range(C):
        for u in range(kh):
            for v in range(kw):
                for i in range(m):
                    for y in range(OH):
                        if stride == 1:
                            for x in range(OW):
                                out[i, c, u + y, v + x] += dcols[c, u, v, i, y, x]
                        else:
                            for x in range(OW):
                                out[i, c, u + stride * y, v + stride * x] += dcols[c, u, v, i, y, x]


@compiled
def add_bias_relu(Z, b, A):
    """``Z[f, i, p] += b[f]`` and ``A[i, f, p] = max(Z[f, i, p], 0)`` (NaN stays NaN, as ``np.maximum``)."""
    zero = Z.dtype.type(0)
    F, m, P = Z.shape
    for f in range(F):
        bias = b[f]
        for i in range(m):
            Zi, Ai = Z[f, i], A[i, f]
            for p in range(P):
                z = Zi[p] + bias
                Zi[p] = z
                Ai[p] = zero if z < zero else z


@compiled
def relu_dZ(dA, Z, dZ):
    """``dZ[f, i, p] = dA[i, f, p] * [Z[f, i, p] > 0]`` for images ``dA`` (m, F, P) and filter-major ``Z``, ``dZ``."""
    one, zero = Z.dtype.type(1), Z.dtype.type(0)
    F, m, P = Z.shape
    for f in range(F):
        for i in range(m):
            dAi, Zi, dZi = dA[i, f], Z[f, i], dZ[f, i]
            for p in range(P):
                dZi[p] = dAi[p] * (one if Zi[p] > zero else zero)
