"""Data-parallel training over processes: the communicator the training loop calls.

``fit(..., distributed="mpi")``, or any ``fit`` inside a program started by
``mpiexec -n N``, trains one network on ``N`` processes (ranks). Each rank
computes the gradient of its shard of every global batch; one ``Allreduce``
sums the shards' contributions, weighted by their share of the batch, so that
every rank applies the update one process would apply to the whole batch.
See :mod:`layerwise.distributed.mpi`.
"""

from __future__ import annotations

import os

from ..errors import ConfigError

SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
"""Environment variables through which MPICH's and Open MPI's launchers tell a process the number of ranks."""


def launched_under_mpi() -> bool:
    """Whether this process was started by ``mpiexec`` with more than one rank (read from the environment)."""
    for name in SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value) > 1
    return False


def get_communicator(distributed):
    """The communicator for ``fit(..., distributed=...)``: None (one process), ``"mpi"`` or a communicator."""
    if distributed is None or distributed is False:
        return None
    if distributed == "mpi":
        from .mpi import MPICommunicator

        return MPICommunicator()
    if hasattr(distributed, "batch_gradient") and hasattr(distributed, "training"):
        return distributed
    raise ConfigError(f"distributed must be None or 'mpi', received {distributed!r}")
