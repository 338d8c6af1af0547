"""What an input may make layerwise do: open regular files only, allocate only what fits in memory.

Files that someone sends, or that a crash left behind, are opened with
:func:`open_regular`, which refuses directories, devices, FIFOs and sockets
without blocking (a FIFO opened for reading would otherwise wait forever for a
writer), so that a reader can trust ``size`` and read only the bytes a header
declares. Before a large allocation, :func:`require_memory` compares its size
with the memory available to the process (the system's available memory and,
when set, the address-space limit) and refuses, saying how much would be
needed, instead of letting the allocation fail or the machine swap.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import BinaryIO

from .errors import ResourceError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def open_regular(path, what: str, error: type[Exception]) -> tuple[BinaryIO, int]:
    """Open ``path`` for binary reading if it is a regular file; return ``(file, size in bytes)``.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        How messages name the file, e.g. ``"model file"``.
    error : type
        The exception raised (a :class:`~layerwise.errors.LayerwiseError` subclass).

    Raises
    ------
    error
        If the file does not exist, cannot be opened, or is not a regular file
        (a directory, a device such as ``/dev/zero``, a FIFO, a socket).
    """
    label = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} {label} does not exist") from None
    except ValueError as exc:  # an embedded NUL byte
        raise error(f"cannot open {what} {label!r}: {exc}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {label}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise error(f"{what} {label} is {kind}; expected a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def read_exactly(stream: BinaryIO, n: int) -> bytes:
    """Read ``n`` bytes (fewer only at the end of the file), never more."""
    chunks, left = [], n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None when the system does not say.

    The smaller of the system's available memory (``MemAvailable`` on Linux,
    else the physical memory) and the room left under ``RLIMIT_AS``.
    """
    limits = [value for value in (_system_available(), _address_space_left()) if value is not None]
    return min(limits) if limits else None


def _system_available() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _address_space_left() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/statm", "rb") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return max(0, soft - used)


def format_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KB"`` (powers of 1000)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB", "EB"):
        if value < 1000 or unit == "EB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def require_memory(n_bytes: int, what: str) -> None:
    """Raise :class:`ResourceError` unless ``n_bytes`` fit in the memory available now.

    ``what`` names the request in the message, e.g. ``"the parameters and
    gradients of a network of 4 -> 100000000000 -> 3 (700000000003 float64 values)"``.
    """
    available = available_memory()
    if available is not None and n_bytes > available:
        raise ResourceError(f"{what} would need {format_bytes(n_bytes)} of memory, but only "
                            f"{format_bytes(available)} is available")
