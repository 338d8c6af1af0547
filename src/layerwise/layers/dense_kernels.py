"""Compiled one-pass forms of a ReLU Dense layer's element-wise work (numba, compiled on first use).

:meth:`Dense.forward` and :meth:`Dense.backward` write each equation as one
NumPy call, and each call is a pass over an ``(m, n_l)`` array; on a wide
layer those passes are a tenth of the time that is not matrix products.
For a ReLU layer two kernels do the same arithmetic element by element, in
one pass each, and give the NumPy form's results bit for bit (tested):

* :func:`add_bias_relu` — ``np.add(Z, b, out=Z); np.maximum(Z, 0, out=A)``
  (``Z = W . A_prev + b`` after the product, then ``A = g(Z)``);
* :func:`add_bias_relu_in_place` — the same with ``A`` written over ``Z``, for
  prediction (one array: passing ``Z`` twice would make the compiled loop
  check for overlap and run one element at a time, 3x slower);
* :func:`relu_dZ_db` — ``np.multiply(dA, Z > 0, out=dZ)``,
  ``np.multiply(dZ, 1/m, out=S)``, ``np.add.reduce(S, axis=0, out=db)``
  (``dZ = dA * g'(Z)``, the scaled ``(1/m) dZ`` that ``dW`` is the product
  of, and ``db = (1/m) sum_i dZ``, summed over the rows in order as NumPy does).

Each works row by row over contiguous rows, so the compiled loop vectorises.
:data:`ENABLED` follows :mod:`layerwise._compile`; without numba the layers
run the NumPy form.
"""

from __future__ import annotations

from .._compile import ENABLED, compiled

__all__ = ["ENABLED", "add_bias_relu", "add_bias_relu_in_place", "relu_dZ_db"]


@compiled
def add_bias_relu(Z, b, A):
    """``Z += b`` and ``A = max(Z, 0)`` (NaN stays NaN, as in ``np.maximum``) in one pass; returns ``A``."""
    zero = Z.dtype.type(0)
    for i in range(Z.shape[0]):
        Zi, Ai = Z[i], A[i]
        for j in range(Z.shape[1]):
            z = Zi[j] + b[j]
            Zi[j] = z
            Ai[j] = zero if z < zero else z
    return A


@compiled
def add_bias_relu_in_place(Z, b):
    """``Z = max(Z + b, 0)`` in place, in one pass; returns ``Z``."""
    zero = Z.dtype.type(0)
    for i in range(Z.shape[0]):
        Zi = Z[i]
        for j in range(Z.shape[1]):
            z = Zi[j] + b[j]
            Zi[j] = zero if z < zero else z
    return Z


@compiled
def relu_dZ_db(dA, Z, dZ, S, db, scale):
    """``dZ = dA * [Z > 0]``, ``S = scale * dZ`` and ``db = sum_i S`` (rows in order) in one pass."""
    one, zero = Z.dtype.type(1), Z.dtype.type(0)  # of the arrays' dtype, so that the arithmetic stays in it
    db[:] = zero
    for i in range(Z.shape[0]):
        dAi, Zi, dZi, Si = dA[i], Z[i], dZ[i], S[i]
        for j in range(Z.shape[1]):
            d = dAi[j] * (one if Zi[j] > zero else zero)
            dZi[j] = d
            s = d * scale
            Si[j] = s
            db[j] += s
    return dZ
