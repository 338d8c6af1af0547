"""Loss functions ``J(A_L, Y)`` and their gradients with respect to ``A_L``.

Every loss is a mean over the ``m`` examples of a per-example loss that sums
over the ``K`` outputs (``A_L`` and ``Y`` have shape ``(m, K)``):

* ``cross_entropy``        ``J = -(1/m) sum_i sum_k Y_ik log A_ik``
* ``binary_cross_entropy`` ``J = -(1/m) sum_i sum_k [Y log A + (1 - Y) log(1 - A)]``
* ``mse``                  ``J = (1/(2m)) sum_i sum_k (A - Y)^2``
* ``mae``                  ``J = (1/m) sum_i sum_k |A - Y|``
* ``huber``                ``J = (1/m) sum_i sum_k h(A - Y)``, ``h(r) = r^2/2`` for
  ``|r| <= delta`` and ``delta (|r| - delta/2)`` beyond.
* ``poisson``              ``J = (1/m) sum_i sum_k [Y log(Y / A) - Y + A]``, half the
  Poisson deviance (``0 log 0 = 0``), for counts ``Y >= 0`` and a positive output
  (``exp``, ``softplus``). It is zero for ``A = Y`` and differs from the Poisson
  negative log-likelihood ``A - Y log A`` (``torch.nn.PoissonNLLLoss(log_input=False)``)
  by ``Y log Y - Y``, which does not depend on ``A``: the gradients are the same.

With ``sample_weight`` the mean becomes the weighted mean
``sum_i w_i l_i / sum_i w_i``.

``grad`` returns ``dA_L``, the per-example derivative ``m * dJ/dA_L`` (the
seed's scaling: the ``1/m`` enters only in ``dW`` and ``db``).

The seed's output shortcut ``dZ_L = A_L - Y`` holds exactly for four pairs
of output activation and loss (each loss's :attr:`Loss.shortcut`, all listed
in :data:`SHORTCUTS`): for each, ``dJ/dA_L * g'(Z_L)`` simplifies
algebraically to ``A_L - Y`` (for softmax because each row of ``Y`` sums to
one; for exp and poisson, ``(1 - Y/A) * A``). The shortcut is cheaper and,
unlike the general path, never divides by a probability that may have underflowed to zero.

Each loss also knows its task: classification losses turn outputs and targets
into labels (:meth:`Loss.decide`, :meth:`Loss.labels`); regression losses
predict the outputs themselves.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_range
from ..errors import ConfigError


class Loss:
    """A per-example loss averaged over the examples.

    Subclasses define :meth:`terms`, the loss of each output of each example
    (a row sums to the example's loss), and :meth:`grad`.
    """

    name = "loss"
    task = "regression"
    """``"classification"`` or ``"regression"``."""
    shortcut: str | None = None
    """The output activation with which ``dZ_L = A_L - Y`` holds exactly, if any."""
    counts = False
    """Whether the targets must be counts, ``Y >= 0`` (Poisson)."""
    scale_power: int | None = None
    """``p`` such that ``J(s A, s Y) = s**p J(A, Y)`` for every ``s > 0`` (mse 2, mae 1), if there is one: how
    a loss measured on standardised targets converts to the targets' units."""

    def pieces(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray | None:
        """Which smooth piece of the loss each entry lies on, or None for a loss smooth everywhere.

        Gradient checking skips a nudge that moves an entry onto another piece: across a kink
        (MAE at ``A = Y``) or a jump of the second derivative (Huber at ``|A - Y| = delta``) the
        finite-difference formula's error is no longer of the order it assumes.
        """
        return None

    def get_config(self) -> dict:
        """Constructor arguments that differ from the defaults (saved with the model)."""
        return {}

    def n_classes(self, n_outputs: int) -> int | None:
        """Number of classes an output of ``n_outputs`` units tells apart (None for regression)."""
        return None

    def units(self, n_classes: int) -> int | None:
        """Number of output units that tell ``n_classes`` classes apart (None: this loss cannot)."""
        return None

    def labels(self, Y: np.ndarray) -> np.ndarray | None:
        """Integer labels of targets ``Y`` ``(m, K)`` for measuring accuracy (None for regression)."""
        return None

    def decide(self, AL: np.ndarray) -> np.ndarray:
        """The prediction from the outputs: class indices, 0/1 flags, or ``AL`` itself for regression."""
        return AL

    def terms(self, AL: np.ndarray, Y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return the loss of each output of each example, shape ``(m, K)`` (into ``out`` when given)."""
        raise NotImplementedError

    def per_example(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return the loss of each example, shape ``(m,)``."""
        return np.add.reduce(self.terms(AL, Y), axis=1)

    def grad(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return ``dA_L = m * dJ/dA_L``, shape ``(m, K)``."""
        raise NotImplementedError

    def value(self, AL: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None,
              out: np.ndarray | None = None) -> float:
        """Return ``J``, the (weighted) mean of :meth:`per_example`, summed in float64.

        ``out``, an array shaped like ``AL``, receives the :meth:`terms`, so
        that the training loop computes the loss without temporaries.
        """
        terms = self.terms(AL, Y, out)
        if sample_weight is None:
            return float(np.add.reduce(terms, axis=None, dtype=np.float64)) / terms.shape[0]
        losses = np.add.reduce(terms, axis=1, dtype=np.float64)
        total = np.sum(sample_weight, dtype=np.float64)
        return float(np.dot(losses, sample_weight) / total) if total > 0 else 0.0  # a batch that weighs nothing

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _safe_log(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log(max(x, tiny))``: finite even where a probability underflowed to 0."""
    out = np.maximum(x, np.finfo(x.dtype).tiny, out=out)
    return np.log(out, out=out)


class CrossEntropy(Loss):
    """Categorical cross-entropy for a softmax output; labels one-hot or integer."""

    name = "cross_entropy"
    task = "classification"
    shortcut = "softmax"

    def n_classes(self, n_outputs):
        return n_outputs

    def units(self, n_classes):
        return n_classes

    def labels(self, Y):
        return Y.argmax(axis=1)

    def decide(self, AL):
        return AL.argmax(axis=1)

    def terms(self, AL, Y, out=None):
        """``-Y log A``."""
        out = _safe_log(AL, out)
        np.multiply(out, Y, out=out)
        return np.negative(out, out=out)

    def grad(self, AL, Y):
        return -Y / np.maximum(AL, np.finfo(AL.dtype).tiny)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for sigmoid outputs, single or multi-label."""

    name = "binary_cross_entropy"
    task = "classification"
    shortcut = "sigmoid"

    def n_classes(self, n_outputs):
        return 2

    def units(self, n_classes):
        return 1 if n_classes == 2 else None

    def labels(self, Y):
        return (Y > 0.5).astype(np.int8)

    def decide(self, AL):
        flags = (AL > 0.5).astype(np.int64)
        return flags.ravel() if AL.shape[1] == 1 else flags

    def terms(self, AL, Y, out=None):
        """``-(Y log A + (1 - Y) log(1 - A))``."""
        return np.negative(Y * _safe_log(AL) + (1 - Y) * _safe_log(1 - AL), out=out)

    def grad(self, AL, Y):
        tiny = np.finfo(AL.dtype).tiny
        return -Y / np.maximum(AL, tiny) + (1 - Y) / np.maximum(1 - AL, tiny)


class MeanSquaredError(Loss):
    """Half the squared error, so that ``dJ/dA_L = A_L - Y`` as in the seed."""

    name = "mse"
    shortcut = "identity"
    scale_power = 2

    def terms(self, AL, Y, out=None):
        """``(A - Y)^2 / 2``."""
        out = np.subtract(AL, Y, out=out)
        np.square(out, out=out)
        return np.multiply(out, 0.5, out=out)

    def grad(self, AL, Y):
        return AL - Y


class MeanAbsoluteError(Loss):
    """Absolute error; its derivative at zero is taken as 0."""

    name = "mae"
    scale_power = 1

    def pieces(self, AL, Y):
        return AL > Y

    def terms(self, AL, Y, out=None):
        """``|A - Y|``."""
        out = np.subtract(AL, Y, out=out)
        return np.abs(out, out=out)

    def grad(self, AL, Y):
        return np.sign(AL - Y)


class Huber(Loss):
    """Squared error near zero, absolute error beyond ``delta`` (default 1)."""

    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta = check_range("huber delta", delta, 0.0, low_open=True)

    def get_config(self):
        return {} if self.delta == 1.0 else {"delta": self.delta}

    def terms(self, AL, Y, out=None):
        """``r^2 / 2`` for ``r = |A - Y| <= delta``, ``delta (r - delta/2)`` beyond."""
        r = np.abs(AL - Y)
        quadratic = np.minimum(r, self.delta)
        return np.add(0.5 * np.square(quadratic), self.delta * (r - quadratic), out=out)

    def grad(self, AL, Y):
        return np.clip(AL - Y, -self.delta, self.delta)

    def pieces(self, AL, Y):
        return np.abs(AL - Y) > self.delta


class Poisson(Loss):
    """Half the Poisson deviance, for counts ``Y >= 0`` and a positive output."""

    name = "poisson"
    shortcut = "exp"
    counts = True

    def terms(self, AL, Y, out=None):
        """``Y log(Y / A) - Y + A``, with ``0 log 0 = 0``."""
        return np.add(Y * _safe_log(Y) - Y * _safe_log(AL) - Y, AL, out=out)  # Y log Y: 0 where Y = 0

    def grad(self, AL, Y):
        """``1 - Y / A``."""
        return 1 - Y / np.maximum(AL, np.finfo(AL.dtype).tiny)


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (CrossEntropy, BinaryCrossEntropy, MeanSquaredError, MeanAbsoluteError, Huber, Poisson)
}
"""Registry of loss names to classes."""

SHORTCUTS = frozenset((cls.shortcut, name) for name, cls in LOSSES.items() if cls.shortcut)
"""(output activation, loss) pairs for which ``dZ_L = A_L - Y`` exactly."""


def get_loss(loss: str | Loss, **kwargs) -> Loss:
    """Return a :class:`Loss` from its registered name or pass one through.

    Raises
    ------
    ConfigError
        If the name is not registered; the message lists the valid names.
    """
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ConfigError(f"unknown loss {loss!r}; expected one of {', '.join(sorted(LOSSES))}")
    try:
        return LOSSES[loss](**kwargs)
    except TypeError:
        raise ConfigError(f"loss {loss!r} does not accept the arguments {sorted(kwargs)}") from None
