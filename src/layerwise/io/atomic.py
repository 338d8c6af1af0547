"""Atomic writes: readers see the old file or the new one, never a mix.

The bytes go to a temporary file beside the target
(``.<name>.<host>-<pid>.layerwise-tmp-<random>``), which is flushed, fsynced
and moved over the target with :func:`os.replace`; the directory is then
fsynced. A save that is killed outright (power loss, ``SIGKILL``) can leave its
temporary file behind; the next save to the same path removes temporaries of
processes on the same host that no longer run (on POSIX systems).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from ..errors import ConfigError, ModelFileError, OutputError

TEMP_MARKER = ".layerwise-tmp-"


def as_path(path, what: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ConfigError
        If ``path`` is not a str or os.PathLike, or contains a NUL byte (which
        no file name can hold), naming what was received.
    """
    try:
        text = os.fspath(path)
    except TypeError:
        raise ConfigError(f"{what} must be a str or os.PathLike, received {type(path).__name__}") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\0" in text:
        raise ConfigError(f"{what} {text!r} contains a NUL byte, which no file name can hold")
    return Path(text)


def write_atomically(path, data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` so that readers never see a partial file.

    The data goes to a temporary file in the same directory, is flushed and
    fsynced, and is moved over ``path`` with :func:`os.replace`; the directory
    is fsynced afterwards. On failure the temporary file is removed.

    Raises
    ------
    ModelFileError
        If the directory is missing or not writable, ``path`` is a directory,
        or writing fails.
    """
    path = as_path(path)
    directory = path.parent
    if path.is_dir():
        raise ModelFileError(f"cannot save to {path}: it is a directory; give a file name such as "
                             f"{path / 'model.safetensors'}")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ModelFileError(f"cannot save to {path}: the directory {directory} {what}; create it first")
    remove_stale_temporaries(path)
    temporary = directory / (_temporary_prefix(path) + os.urandom(8).hex())
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(temporary, flags, 0o666)
    except OSError as exc:
        raise ModelFileError(f"cannot save to {path}: cannot create a file in {directory} "
                             f"({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ModelFileError(f"could not write {path}: {exc.strerror or exc}; the previous file, if any, "
                                 f"is unchanged") from exc
        raise
    _fsync_directory(directory)


def _host() -> str:
    import socket  # here: reading a model file (which imports this module) needs no networking

    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40]


def _temporary_prefix(path: Path) -> str:
    return f".{path.name[:40]}.{_host()}-{os.getpid()}{TEMP_MARKER}"


def remove_stale_temporaries(path) -> list[Path]:
    """Remove temporary files that interrupted saves to ``path`` left behind; return them.

    Only temporaries written by processes of this host that no longer exist
    are removed, so concurrent saves are never disturbed. Does nothing on
    systems other than POSIX, where a process cannot be probed safely.
    """
    path = as_path(path)
    if os.name != "posix":
        return []
    pattern = re.compile(re.escape(f".{path.name[:40]}.") + r"(?P<host>[A-Za-z0-9_-]{0,40})-(?P<pid>[0-9]+)"
                         + re.escape(TEMP_MARKER) + r"[0-9a-f]+")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and match["host"] == _host() and not _process_exists(int(match["pid"])):
            with contextlib.suppress(OSError):  # removed meanwhile by another save: fine
                os.unlink(path.parent / name)
                removed.append(path.parent / name)
    return removed


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some file systems refuse to fsync a directory, which is harmless here."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_output(path, data: bytes) -> None:
    """Write a result file (a figure, a report) atomically: the complete file or, on failure, none.

    Raises
    ------
    OutputError
        Naming the path and the reason (a missing or unwritable directory, a
        full disk); no file, empty or partial, is left at ``path``.
    """
    try:
        write_atomically(as_path(path, "the output path"), data)
    except ModelFileError as exc:
        raise OutputError(str(exc)) from None
