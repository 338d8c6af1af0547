"""The estimators' solvers: mini-batch training (sgd, adam) with scikit-learn's stopping rule, and L-BFGS
through SciPy."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ..errors import DataError, NonFiniteParametersError, TrainingDivergedError
from ..optim.optimizers import SGD, Adam
from ..train.callbacks import Callback
from .mlp_params import (
    NON_FINITE,
)


class _Solvers:
    """The training loops of :class:`~layerwise.interop.mlp_base._BaseMLP` (a base class of it)."""

    def _fit_stochastic(self, X, Y, y, weights, incremental: bool, rng) -> None:
        net = self.network_
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if not hasattr(self, "_no_improvement_count") or self.early_stopping != (self.validation_scores_ is not None):
            self._reset_stopping_state()
        validation = None
        if self.early_stopping:
            X, Y, y, weights, validation = self._split(X, Y, y, weights, rng)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"batch_size={self.batch_size} exceeds the {n} training examples; using {n}",
                              UserWarning, stacklevel=3)
            batch_size = min(self.batch_size, n)
        self.n_iter_ = 0
        rule = _StoppingRule(self, n, validation)
        try:
            net.fit(X, Y, epochs=1 if incremental else self.max_iter, batch_size=batch_size,
                    optimizer=self._optimizer, shuffle=self.shuffle, sample_weight=weights, callbacks=[rule], verbose=0)
        except TrainingDivergedError as exc:
            if not self.early_stopping:
                raise NonFiniteParametersError(f"{type(self).__name__}: {NON_FINITE} ({exc})") from None
            self._record_divergence(n, exc)
            rule.converged = True
        if self.early_stopping:
            net.theta[...] = self._best_theta
        if not incremental and not rule.converged:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)

    def _record_divergence(self, n_samples: int, exc: TrainingDivergedError) -> None:
        """Close the epoch in which training diverged (loss and validation score NaN) and warn.

        scikit-learn goes on training the non-finite network until ``max_iter``;
        here training stops at once, and, as there, the best validation
        parameters are restored afterwards.
        """
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = float("nan")
        self.loss_curve_.append(self.loss_)
        self.validation_scores_.append(float("nan"))
        warnings.warn(f"{type(self).__name__}: {exc}. Training stopped at epoch {self.n_iter_}; the parameters "
                      f"with the best validation score ({self.best_validation_score_:g}) are restored.",
                      ConvergenceWarning, stacklevel=4)

    def _make_optimizer(self):
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return SGD(lr=self.learning_rate_init, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum and self.momentum > 0))

    def _reset_stopping_state(self) -> None:
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._best_theta = self.network_.theta.copy()
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = self.best_validation_score_ = None

    def _split(self, X, Y, y, weights, rng):
        """Hold out ``validation_fraction`` of the examples, stratified for single-label classifiers."""
        index = np.arange(X.shape[0])
        stratify = self._stratify(y)
        if stratify is not None:
            labels, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2:
                raise DataError(
                    f"{type(self).__name__}: The least populated classes in y have only {counts.min()} member, which "
                    "is too few: early_stopping holds out a validation set stratified by class, which needs at "
                    f"least 2 examples of every class. Classes with too few members are: "
                    f"{labels[counts < 2].tolist()!r}")
        train, val = train_test_split(index, test_size=self.validation_fraction, random_state=rng, stratify=stratify)
        if val.size < 2:
            raise DataError(f"{type(self).__name__}: The validation set is too small: it holds {val.size} example(s) "
                            "of the 2 needed. Increase 'validation_fraction' or the size of your dataset.")
        w_train, w_val = (None, None) if weights is None else (weights[train], weights[val])
        return X[train], Y[train], y[train], w_train, (X[val], y[val], w_val)

    def _update_no_improvement_count(self, validation) -> None:
        """scikit-learn's convergence test, run after every epoch."""
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            worse = score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_theta = self.network_.theta.copy()
        else:
            loss = self.loss_curve_[-1]
            worse = loss > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement_count = self._no_improvement_count + 1 if worse else 0

    def _fit_lbfgs(self, X, Y, weights) -> None:
        """Minimise the full-batch loss over ``network_.theta`` with SciPy's L-BFGS-B."""
        net = self.network_
        X, Y = net.check_X(X), net.check_Y(Y, X.shape[0])
        weights = net.check_sample_weight(weights, X.shape[0])
        theta, dtheta = net.theta, net.dtheta

        def loss_and_gradient(x):
            theta[...] = x
            cache = net._forward(X)
            loss = net._loss(cache[f"A{net.L}"], Y, weights)
            net._backward(cache, Y, weights)
            return loss, dtheta.astype(np.float64)

        curve = []

        def record(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

        with np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(loss_and_gradient, theta.astype(np.float64), method="L-BFGS-B",
                                             jac=True, callback=record,
                                             options={"maxiter": self.max_iter, "maxfun": self.max_fun,
                                                      "gtol": self.tol})
        theta[...] = result.x
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        self.loss_curve_.extend(curve)
        if result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) else result.message
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={result.status}): "
                          f"{message}. Increase max_iter or max_fun, or scale the data.",
                          ConvergenceWarning, stacklevel=3)


class _StoppingRule(Callback):
    """Runs scikit-learn's end-of-epoch bookkeeping inside :meth:`Network.fit`.

    After every epoch it records the loss, applies the convergence test, sets
    the learning rate of the next epoch ("invscaling", "adaptive") and stops
    training when the test fires.
    """

    def __init__(self, estimator: _Solvers, n_samples: int, validation):
        self.estimator, self.n_samples, self.validation = estimator, n_samples, validation
        self.converged = False

    def on_train_begin(self, net, logs):
        self.lr = self.estimator._optimizer.lr

    def on_epoch_end(self, net, epoch, logs):
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = logs["loss"]
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        est._update_no_improvement_count(self.validation)
        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            self.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            if sgd and est.learning_rate == "adaptive" and self.lr > 1e-6:
                self.lr /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{message} Setting learning rate to {self.lr:f}")
            else:
                self.converged = True
                net.stop_training = True
                if est.verbose:
                    print(f"{message} Stopping.")
        est._optimizer.lr = self.lr
