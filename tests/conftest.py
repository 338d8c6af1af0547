import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import layerwise as lw

# pytest-xdist already runs one worker per core: one BLAS thread each avoids oversubscription.
threadpool_limits(1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def no_proxy(monkeypatch):
    """Requests to 127.0.0.1 go straight there, whatever proxy the environment names."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def http_server(no_proxy):
    """A real threaded HTTP server on 127.0.0.1, on a free port, for the downloader's tests.

    Every GET is recorded (its path) in ``requests`` and answered by ``respond(handler)``, which the test
    sets (``handler`` is the ``BaseHTTPRequestHandler``); a client that gives up mid-answer is no failure
    of the server, since that is what some tests provoke. ``url`` ends with ``/``.
    """
    server = SimpleNamespace(respond=None, requests=[])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server.requests.append(self.path)
            try:
                server.respond(self)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join()


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
