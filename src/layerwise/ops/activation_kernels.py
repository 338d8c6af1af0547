"""A compiled softmax: one pass per row for its maximum, one for ``exp`` and the row sum, one to divide.

:meth:`Softmax.forward <layerwise.ops.activations.Softmax.forward>` in NumPy is four whole-array calls
(the row maxima, the shift, ``exp``, the division by the row sums), and two of them reduce with
``keepdims``; on the ten outputs of one example that is 10 µs of call overhead for 40 numbers, a
sixth of a one-row ``predict`` of W1's network. :func:`softmax_rows` does the same arithmetic in one
compiled call. Its ``exp`` is LLVM's and it sums each row in order where NumPy sums pairwise, so the
two forms agree to a few units in the last place, not bit for bit (tested). It follows the switch of
:mod:`layerwise._compile`: without numba, or with ``LAYERWISE_NUMBA=0``, the NumPy form runs.
"""

from __future__ import annotations

import numpy as np

from .._compile import ENABLED, compiled

__all__ = ["ENABLED", "softmax_rows"]


@compiled
def softmax_rows(Z, out):
    """``out[i] = exp(Z[i] - max(Z[i])) / sum(exp(Z[i] - max(Z[i])))`` for each row ``i``; ``out`` may be ``Z``.

    A NaN or an inf in a row makes the whole row NaN through the row sum, as in the NumPy form.
    """
    for i in range(Z.shape[0]):
        Zi, Ai = Z[i], out[i]
        top = Zi[0]
        for j in range(1, Zi.shape[0]):
            top = max(top, Zi[j])
        total = Zi.dtype.type(0)
        for j in range(Zi.shape[0]):
            e = np.exp(Zi[j] - top)
            Ai[j] = e
            total += e
        for j in range(Zi.shape[0]):
            Ai[j] /= total
