"""scikit-learn's ``MLPRegressor``, trained by layerwise."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from ..errors import DataError, ShapeError
from ..ops.losses import get_loss
from .mlp_base import _BaseMLP, _stochastic_solver
from .mlp_params import (
    _REGRESSOR_DOC,
    REGRESSION_LOSSES,
    _check_choice,
)


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in for ``sklearn.neural_network.MLPRegressor``: an identity output
    layer trained on half the squared error (scikit-learn's loss), or on the
    absolute or Huber loss. One-dimensional ``y`` gives one-dimensional predictions.
    """ + _REGRESSOR_DOC

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, dtype=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dropout=dropout, dtype=dtype)
        self.loss = loss

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and the targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        AL = self._forward_output(X)
        return AL.ravel() if self.n_outputs_ == 1 else AL

    def _encode_targets(self, y, first_pass: bool, incremental: bool, classes) -> np.ndarray:
        _check_choice(type(self).__name__, "loss", self.loss, tuple(REGRESSION_LOSSES))
        Y = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
        if get_loss(REGRESSION_LOSSES[self.loss]).counts and (Y < 0).any():
            raise DataError(f"{type(self).__name__}: Some value(s) of y are negative which is not allowed for Poisson "
                            f"regression; received a minimum of {Y.min():g}")
        if first_pass:
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ShapeError(f"{type(self).__name__}: y has {Y.shape[1]} output(s) but the fitted network has "
                             f"{self.n_outputs_}; fit without warm_start to change the outputs")
        return Y

    def _output(self) -> tuple[str, str]:
        loss = REGRESSION_LOSSES[self.loss]
        return get_loss(loss).shortcut or "identity", loss  # exp for poisson, identity otherwise

    def _network_classes(self):
        return None

    def _target_weights(self, Y: np.ndarray) -> None:
        return None

    def _stratify(self, y):
        return None

    def _score_output(self, AL, y, sample_weight) -> float:
        return r2_score(y, AL.ravel() if self.n_outputs_ == 1 else AL, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
