"""Model files: safetensors tensors plus a JSON description, written atomically.

A model file is an ordinary `safetensors <https://github.com/huggingface/safetensors>`_
file, so any safetensors reader can open it:

* tensors ``W1, b1, ..., WL, bL``: the network's parameters, in its dtype and
  the seed's shapes (``W[l]`` is ``(n_l, n_{l-1})``, ``b[l]`` is ``(n_l,)``);
* any extra tensors the caller passes (optimizer state, a data scaler, ...),
  under the caller's names; names of the form ``W<n>`` / ``b<n>`` are reserved;
* the safetensors metadata holds one entry, ``"layerwise"``, a JSON document::

      {"format": "layerwise", "format_version": 1, "library_version": "0.1.0",
       "config": <Network.get_config()>, "extra": <the caller's metadata>}

Loading reads JSON and raw little-endian numbers only; nothing is ever
unpickled or evaluated, so a model file cannot run code.

Saving is atomic: the bytes go to a temporary file beside the target
(``.<name>.<host>-<pid>.layerwise-tmp-<random>``), which is flushed, fsynced
and moved over the target with :func:`os.replace`; the directory is then
fsynced. A reader therefore sees the old file or the new one, never a mix. A
save that is killed outright (power loss, ``SIGKILL``) can leave its temporary
file behind; the next save to the same path removes temporaries of processes
on the same host that no longer run (on POSIX systems).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from ..engine.network import Network
from ..errors import ConfigError, DataError, LayerwiseError, ModelFileError

FORMAT = "layerwise"
FORMAT_VERSION = 1
METADATA_KEY = "layerwise"
TEMP_MARKER = ".layerwise-tmp-"

_PARAMETER_NAME = re.compile(r"([Wb])([0-9]+)")
_TENSOR_DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                  "float16", "float32", "float64")
_MAX_HEADER_BYTES = 100_000_000  # the limit safetensors itself enforces


@dataclass(frozen=True)
class ModelFile:
    """Everything a model file holds, as returned by :func:`read`.

    Attributes
    ----------
    network : Network
        The rebuilt network with the saved parameters.
    tensors : dict of str to ndarray
        The extra tensors passed to :func:`save` (empty if none).
    metadata : dict
        The extra JSON metadata passed to :func:`save` (empty if none).
    format_version : int
        Version of the file layout.
    library_version : str
        Version of layerwise that wrote the file.
    """

    network: Network
    tensors: dict[str, np.ndarray]
    metadata: dict
    format_version: int
    library_version: str


# ---------------------------------------------------------------------- save
def save(net: Network, path, *, tensors: dict[str, np.ndarray] | None = None, metadata: dict | None = None) -> None:
    """Write ``net`` (and optional extras) to a safetensors model file atomically.

    Parameters
    ----------
    net : Network
        A built network.
    path : str or os.PathLike
        The file to write. Its directory must exist; it is not created.
    tensors : dict of str to array-like, optional
        Extra arrays stored beside the parameters, for example optimizer
        state. Names must be non-empty strings and must not look like a
        parameter (``W<n>``, ``b<n>``); dtypes must be boolean, integer or
        float up to 64 bits.
    metadata : dict, optional
        Extra JSON-compatible data (strings, numbers, booleans, None, lists,
        dicts with string keys), returned as ``ModelFile.metadata`` by
        :func:`read`. NumPy scalars are stored as Python numbers.

    Raises
    ------
    ConfigError
        If the network is not built, or the extras are not valid.
    DataError
        If a parameter holds NaN or inf (such a file could not be loaded).
    ModelFileError
        If the file cannot be written (missing directory, permissions, disk full).
    """
    from .. import __version__

    path = _as_path(path)
    if not isinstance(net, Network):
        raise ConfigError(f"save expects a Network, received {type(net).__name__}")
    if not net.built:
        raise ConfigError("cannot save a network that is not built yet: pass input_dim= or train it first")
    params = net.params
    if not np.isfinite(net.theta).all():
        name, value = next((name, value) for name, value in params.items() if not np.isfinite(value).all())
        raise DataError(f"cannot save: parameter {name} contains {int((~np.isfinite(value)).sum())} NaN or "
                        f"infinite value(s); the network has diverged")
    config = net.get_config()
    problem = _classes_problem(config, net.dense[-1].units)
    if problem:
        raise ConfigError(f"cannot save: {problem}")
    extra_tensors = _check_extra_tensors(tensors)
    if metadata is not None and not isinstance(metadata, dict):
        raise ConfigError(f"metadata must be a dict, received {type(metadata).__name__}")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
                "config": config, "extra": metadata or {}}
    try:
        text = json.dumps(document, default=_json_scalar)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot save: the metadata and the network's config (class labels, seed) must be "
                          f"JSON-compatible (strings, numbers, booleans, None, lists and dicts with string keys): "
                          f"{exc}") from None
    arrays = {name: np.ascontiguousarray(value) for name, value in params.items()}
    blob = safetensors.numpy.save({**arrays, **extra_tensors}, metadata={METADATA_KEY: text})
    write_atomically(path, blob)


def _as_path(path) -> Path:
    try:
        return Path(os.fspath(path))
    except TypeError:
        raise ConfigError(f"path must be a str or os.PathLike, received {type(path).__name__}") from None


def _json_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-compatible")


def _check_extra_tensors(tensors) -> dict[str, np.ndarray]:
    if tensors is None:
        return {}
    if not isinstance(tensors, dict):
        raise ConfigError(f"tensors must be a dict of name -> array, received {type(tensors).__name__}")
    out = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ConfigError(f"extra tensor names must be non-empty strings other than '__metadata__', "
                              f"received {name!r}")
        if _PARAMETER_NAME.fullmatch(name):
            raise ConfigError(f"extra tensor name {name!r} is reserved for network parameters (W<n>, b<n>); "
                              f"choose another name, for example 'extra/{name}'")
        array = np.asarray(value)
        if array.dtype.name not in _TENSOR_DTYPES:
            raise ConfigError(f"extra tensor {name!r} must have one of the dtypes {', '.join(_TENSOR_DTYPES)}, "
                              f"received {array.dtype}; store text in metadata instead")
        out[name] = np.array(array, order="C", copy=not array.flags.c_contiguous)  # keeps 0-d arrays 0-d
    return out


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
    path = _as_path(path)
    directory = path.parent
    if path.is_dir():
        raise ModelFileError(f"cannot save to {path}: it is a directory; give a file name such as "
                             f"{path / 'model.safetensors'}")
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ModelFileError(f"cannot save to {path}: the directory {directory} {what}; create it first")
    remove_stale_temporaries(path)
    temporary = directory / (_temporary_prefix(path) + secrets.token_hex(8))
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
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40]


def _temporary_prefix(path: Path) -> str:
    return f".{path.name[:40]}.{_host()}-{os.getpid()}{TEMP_MARKER}"


def remove_stale_temporaries(path) -> list[Path]:
    """Remove temporary files that interrupted saves to ``path`` left behind; return them.

    Only temporaries written by processes of this host that no longer exist
    are removed, so concurrent saves are never disturbed. Does nothing on
    systems other than POSIX, where a process cannot be probed safely.
    """
    path = _as_path(path)
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


# ---------------------------------------------------------------------- load
def load(path) -> Network:
    """Load a network saved with :func:`save` or :meth:`Network.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Network
        Built, with the saved parameters, classes, dtype and configuration.

    Raises
    ------
    ModelFileError
        If the file is missing, not a layerwise model file, truncated,
        corrupt, from a newer format, or its tensors do not match its config.
    """
    return read(path).network


def read(path) -> ModelFile:
    """Read a model file: the network plus any extra tensors and metadata.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ModelFile

    Raises
    ------
    ModelFileError
        As for :func:`load`.
    """
    path = _as_path(path)
    data = _read_bytes(path)
    header = _parse_header(path, data)
    document = _parse_document(path, header)
    try:
        arrays = safetensors.numpy.load(data)
    except SafetensorError as exc:
        raise ModelFileError(f"{path} is corrupt: {exc}") from None
    except KeyError as exc:
        raise ModelFileError(f"{path} holds a tensor of dtype {exc} that NumPy cannot represent; a layerwise "
                             f"model file has only bool, integer and float16/32/64 tensors") from None
    network = _rebuild(path, document["config"], arrays)
    extras = {name: np.array(value) for name, value in arrays.items() if not _PARAMETER_NAME.fullmatch(name)}
    return ModelFile(network, extras, document["extra"], document["format_version"], document["library_version"])


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from None


def _parse_header(path: Path, data: bytes) -> dict:
    """Check the safetensors framing and return its JSON header, naming what is wrong."""
    size = len(data)
    not_safetensors = f"{path} is not a layerwise model file (not in safetensors format"
    if size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes); it was truncated or never written")
    if size < 8:
        raise ModelFileError(f"{path} is truncated or not a model file: {size} bytes, fewer than the 8-byte "
                             f"header length that starts a safetensors file")
    length = int.from_bytes(data[:8], "little")
    if length < 2 or size > 8 and data[8:9] != b"{" or length > _MAX_HEADER_BYTES:
        raise ModelFileError(f"{not_safetensors}: the first bytes are not a safetensors header)")
    if size < 8 + length:
        raise ModelFileError(f"{path} is truncated: its header announces {length} bytes but only {size - 8} "
                             f"follow the length prefix")
    try:
        header = json.loads(data[8: 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModelFileError(f"{not_safetensors}: its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{not_safetensors}: its header is not a JSON object)")
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            _, stop = entry["data_offsets"]
            end = max(end, int(stop))
        except (TypeError, KeyError, ValueError):
            raise ModelFileError(f"{path} is corrupt: the header entry of tensor {name!r} has no valid "
                                 f"data_offsets") from None
    available = size - 8 - length
    if available < end:
        raise ModelFileError(f"{path} is truncated: its tensors need {end} bytes of data but only {available} "
                             f"are present")
    if available > end:
        raise ModelFileError(f"{path} is corrupt: {available - end} unexpected bytes follow the tensor data")
    return header


def _parse_document(path: Path, header: dict) -> dict:
    """Return the validated layerwise JSON document from the safetensors metadata."""
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        names = ", ".join(sorted(name for name in header if name != "__metadata__")) or "none"
        raise ModelFileError(f"{path} is a safetensors file but not a layerwise model file: its metadata has no "
                             f"{METADATA_KEY!r} entry (tensors in the file: {names})")
    try:
        document = json.loads(metadata[METADATA_KEY])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is corrupt: its {METADATA_KEY!r} metadata is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(f"{path} is not a layerwise model file: its metadata format is {found!r}, "
                             f"expected {FORMAT!r}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} is corrupt: format_version must be a positive integer, received {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer layerwise (format {version}, layerwise "
            f"{document.get('library_version', 'unknown')}); this version reads format {FORMAT_VERSION}; "
            f"upgrade layerwise"
        )
    for key, kind in (("library_version", str), ("config", dict), ("extra", dict)):
        if not isinstance(document.get(key), kind):
            raise ModelFileError(f"{path} is corrupt: its metadata entry {key!r} must be a {kind.__name__}, "
                                 f"received {type(document.get(key)).__name__}")
    return document


def _rebuild(path: Path, config: dict, arrays: dict[str, np.ndarray]) -> Network:
    """Build the network from its config and copy the file's parameters into its flat buffer."""
    if config.get("input_dim") is None:
        raise ModelFileError(f"{path} is corrupt: its config has no input_dim, so the network cannot be built")
    try:
        net = Network.from_config(config)
    except LayerwiseError as exc:
        raise ModelFileError(f"{path} has an invalid network config: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path} has an invalid network config: {type(exc).__name__}: {exc}") from None
    problem = _classes_problem(config, net.dense[-1].units)
    if problem:
        raise ModelFileError(f"{path} has an invalid network config: {problem}")
    expected = net.params
    found = {name for name in arrays if _PARAMETER_NAME.fullmatch(name)}
    layout = f"the config has {net.L} Dense layer(s), so the parameters are W1..W{net.L} and b1..b{net.L}"
    missing = sorted(expected.keys() - found, key=_parameter_order)
    if missing:
        raise ModelFileError(f"{path} is missing parameter tensor(s) {', '.join(missing)}; {layout}")
    unexpected = sorted(found - expected.keys(), key=_parameter_order)
    if unexpected:
        raise ModelFileError(f"{path} has unexpected parameter tensor(s) {', '.join(unexpected)}; {layout}")
    for name, target in expected.items():
        value = arrays[name]
        if value.shape != target.shape:
            raise ModelFileError(f"{path}: {name} has shape {value.shape} in the file, the config expects "
                                 f"{target.shape}")
        if value.dtype != target.dtype:
            raise ModelFileError(f"{path}: {name} is {value.dtype} in the file, the config expects {target.dtype}")
        bad = int((~np.isfinite(value)).sum())
        if bad:
            raise ModelFileError(f"{path}: {name} contains {bad} NaN or infinite value(s); the file is corrupt "
                                 f"or was written from a diverged network")
        target[...] = value
    return net


def _parameter_order(name: str) -> tuple[bool, int]:
    """Sort key putting W1, W2, ..., W10 before b1, b2, ...."""
    kind, number = _PARAMETER_NAME.fullmatch(name).groups()
    return kind == "b", int(number)


def _classes_problem(config: dict, n_outputs: int) -> str | None:
    """Say why ``config["classes"]`` cannot label the outputs, or return None."""
    classes = config.get("classes")
    if classes is None:
        return None
    if not isinstance(classes, list) or not classes:
        return f"classes must be a non-empty list of labels, received {classes!r}"
    if config.get("loss") == "cross_entropy" and len(classes) != n_outputs:
        return f"{len(classes)} class label(s) for a softmax output layer of {n_outputs} unit(s)"
    if config.get("loss") == "binary_cross_entropy" and len(classes) != 2:
        return f"{len(classes)} class label(s) for a sigmoid output, which needs exactly 2 (negative, positive)"
    return None
