import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import layerwise as lw

# pytest-xdist already runs one worker per core: one BLAS thread each avoids oversubscription.
threadpool_limits(1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_targets(rng, loss, m, K):
    """Targets that suit ``loss`` for an output of ``K`` units."""
    if loss == "cross_entropy":
        return rng.integers(0, K, size=m)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(m, K)).astype(float)
    if loss == "poisson":
        return rng.poisson(2.0, size=(m, K)).astype(float)
    return rng.standard_normal((m, K))


def small_net(hidden, out_units, hidden_act="tanh", out_act="identity", loss=None, n_in=5, seed=0, dtype="float64",
              **kw):
    layers = [lw.Dense(units, activation=hidden_act) for units in hidden]
    layers.append(lw.Dense(out_units, activation=out_act))
    return lw.Network(layers, loss=loss, input_dim=n_in, seed=seed, dtype=dtype, **kw)
