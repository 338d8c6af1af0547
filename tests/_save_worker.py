"""Save a large network to one path again and again until killed: the kill test's worker.

Run as ``python _save_worker.py PATH``. Importing layerwise and building the
32 MB network takes most of a second, so this process does that once and then
serves stdin: for each line it forks a saver and waits until the saver has
died (the test kills it with SIGKILL), then prints ``reaped``. The saver
prints ``ready <pid> <seconds>`` after its first complete save (how long that
save took) and keeps saving, alternating two weight sets, until it is killed.
"""

import os
import sys
import time
import traceback

import numpy as np

import layerwise as lw
from layerwise.io.model_file import save

WIDTH = 2000  # W1 is WIDTH x WIDTH float64: 32 MB per save


def big_network() -> lw.Network:
    return lw.Network([lw.Dense(WIDTH, activation="tanh"), lw.Dense(1, activation="identity")],
                      input_dim=WIDTH, seed=0, dtype="float64")


def weight_sets(n_params: int) -> tuple[np.ndarray, np.ndarray]:
    """Two flat parameter vectors that differ in every entry."""
    first = np.linspace(-1.0, 1.0, n_params)
    return first, -first - 0.5


def save_forever(net: lw.Network, sets: tuple[np.ndarray, np.ndarray], path: str) -> None:
    count, began = 0, time.perf_counter()
    while True:
        net.theta[...] = sets[count % 2]
        save(net, path)
        if count == 0:
            print(f"ready {os.getpid()} {time.perf_counter() - began:.6f}", flush=True)
        count += 1


def serve(path: str) -> None:
    net = big_network()
    sets = weight_sets(net.n_params)
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                save_forever(net, sets, path)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        os.waitpid(pid, 0)
        print("reaped", flush=True)


if __name__ == "__main__":
    serve(sys.argv[1])
