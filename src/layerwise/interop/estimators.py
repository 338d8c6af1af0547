"""scikit-learn compatible estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Both take the parameters of ``sklearn.neural_network``'s estimators of the
same names, plus a few of layerwise's own (``dropout``, ``dtype``, per-layer
activations, ``class_weight``), and train a layerwise
:class:`~layerwise.network.Network`, kept as the fitted attribute
``network_``. They work wherever a scikit-learn estimator does: pipelines,
grid searches, cross-validation, ``clone``, pickling.

How the scikit-learn semantics map onto layerwise
-------------------------------------------------
* ``alpha`` is layerwise's ``l2``: the loss gains ``alpha / (2 n) sum_l ||W[l]||^2``
  with ``n`` the examples in the batch, as in scikit-learn. With sample weights
  ``alpha`` is a penalty per unit of weight (scikit-learn divides by the weight
  sum, so that a weight acts as a repetition count): the network's ``l2`` is
  ``alpha * n / sum(w)``, which is exact for lbfgs and full batches and holds on
  average for mini-batches.
* ``solver="sgd"`` / ``"adam"`` run :meth:`Network.fit` for up to ``max_iter``
  epochs with scikit-learn's stopping rule applied at the end of each epoch:
  training stops when the training loss (or, with ``early_stopping``, the
  validation score) has not improved by ``tol`` for more than
  ``n_iter_no_change`` epochs. ``learning_rate="invscaling"`` sets the rate to
  ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch (``t_`` counts
  the examples seen); ``"adaptive"`` divides it by 5 each time the rule fires,
  until it falls below ``1e-6``.
* ``solver="lbfgs"`` minimises the full-batch loss with
  ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` over the flat parameter
  vector ``network_.theta`` (handed to SciPy in float64), with ``maxiter=max_iter``,
  ``maxfun=max_fun`` and ``gtol=tol``.
* ``dtype=None`` follows the input: float32 data trains a float32 network and
  gets float32 predictions; anything else trains in float64.
* Sparse input is accepted in any SciPy format and densified as a whole
  before training or prediction; mind the memory for very wide data.
* Sample weights: the loss of a batch is the weighted mean of its examples'
  losses; examples of weight zero are left out altogether.
* Initialisation, drawn from the network's generator: hidden weights by the
  ``Dense`` default (He normal for the ReLU family, Glorot uniform
  ``+-sqrt(6 / (fan_in + fan_out))`` otherwise), biases zero, and output
  weights, for sgd and adam, uniform in ``+-sqrt(3) / fan_in`` (variance
  ``1 / fan_in^2``; Glorot uniform for lbfgs); see
  :mod:`layerwise.ops.initializers`. scikit-learn draws every weight and bias
  from ``+-sqrt(6 / (fan_in + fan_out))``, with ``2`` in place of ``6`` for
  logistic layers. The differences are deliberate. A full-scale random
  output layer adds a random function to every prediction, as large as what
  a short run (``max_iter=20``: twenty Adam steps at the default batch size)
  learns, so that some seeds end with a constant or a poor prediction; lbfgs,
  which takes full Newton-like steps, is not hurt by it. Narrow logistic
  layers start in sigmoid's linear range, where lbfgs meets ``gtol`` within a
  few iterations on the plateau of the linear fit, for about half the seeds.

Differences from scikit-learn: the random numbers themselves differ (the
network's NumPy ``Generator`` draws them); Adam adds ``epsilon`` as
``torch.optim.Adam`` does (``eps * sqrt(1 - beta_2**t)`` in scikit-learn's
terms); SGD keeps its momentum buffer in gradient units, as ``torch.optim.SGD``
does, so the two agree exactly while the learning rate is constant and differ
slightly after "invscaling" or "adaptive" change it; ``momentum`` must be below
1; for multi-output regression ``loss_`` sums the squared error over the
outputs (scikit-learn averages it); ``loss_curve_`` is recorded for ``lbfgs``
too (one entry per iteration).
"""

from .mlp_classifier import MLPClassifier
from .mlp_params import ACTIVATION_ALIASES, LEARNING_RATES, NON_FINITE, REGRESSION_LOSSES, SOLVERS
from .mlp_regressor import MLPRegressor

__all__ = ["ACTIVATION_ALIASES", "LEARNING_RATES", "NON_FINITE", "REGRESSION_LOSSES", "SOLVERS", "MLPClassifier",
           "MLPRegressor"]
