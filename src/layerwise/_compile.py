"""Optional compilation by numba, shared by the fused optimizer steps and the image kernels.

numba is a dependency, but it is imported, and each kernel compiled, only on
first use; compiled code is cached on disk. :data:`ENABLED` is false when
numba cannot be imported or the environment sets
``LAYERWISE_NUMBA=0``, and callers then take their NumPy form.
"""

from __future__ import annotations

import functools
import importlib.util
import os

ENABLED: bool = importlib.util.find_spec("numba") is not None and os.environ.get("LAYERWISE_NUMBA", "1") != "0"
"""Whether numba compiles the fused optimizer steps (:mod:`layerwise.optim.kernels`) and the image kernels."""


def compiled(kernel=None, *, calls=()):
    """Compile ``kernel`` with numba on its first call: no bounds or zero-division checks, no fast-math.

    ``calls`` names the compiled kernels that ``kernel`` calls (``@compiled(calls=(adam,))``). numba compiles a
    call to a kernel only if the name is bound to numba's compiled form, so those names are bound to theirs,
    in ``kernel``'s module, before it is compiled. The wrapper's ``dispatcher()`` returns the compiled form.
    """
    if kernel is None:
        return functools.partial(compiled, calls=calls)
    done = None

    def dispatcher():
        nonlocal done
        if done is None:
            import numba

            for callee in calls:
                kernel.__globals__[callee.__name__] = callee.dispatcher()
            options = {"nogil": True, "error_model": "numpy"}
            try:
                done = numba.njit(cache=True, **options)(kernel)
            except RuntimeError:  # no writable cache directory: compile in memory
                done = numba.njit(**options)(kernel)
        return done

    @functools.wraps(kernel)
    def call(*args):
        return (done if done is not None else dispatcher())(*args)

    call.dispatcher = dispatcher
    return call
