"""Model files: safetensors tensors plus a JSON description, written atomically.

A model file is an ordinary `safetensors <https://github.com/huggingface/safetensors>`_
file, so any safetensors reader can open it:

* tensors ``W1, b1, ..., WL, bL``: the network's parameters, in its dtype and
  the seed's shapes (``W[l]`` is ``(n_l, n_{l-1})``, ``b[l]`` is ``(n_l,)``);
* any extra tensors the caller passes (optimizer state, a data scaler, ...),
  under the caller's names; names of the form ``W<n>`` / ``b<n>`` are reserved;
* tensors ``preprocessing.<part>.<index>.<array>`` (float64): the fitted arrays
  of the network's preprocessing steps, if any (see :mod:`layerwise.preprocessing`);
* the safetensors metadata holds one entry, ``"layerwise"``, a JSON document::

      {"format": "layerwise", "format_version": 1, "library_version": "0.1.0",
       "config": <Network.get_config()>, "extra": <the caller's metadata>}

A network with preprocessing adds ``"preprocessing": {"inputs": [...],
"targets": [...]}``, one ``{"type", "config", "arrays"}`` entry per step
(``arrays`` maps each array to its tensor name), and is written as format 2
so that a reader of format 1, which would ignore the steps, refuses it.
Files written by ``layerwise train`` 0.1.0 kept their scalers as the extra
tensors ``scaler.mean``/``scaler.scale`` and ``target_scaler.mean``/
``target_scaler.scale``; they are read as standardisation steps.

``"summary"`` (since 0.2.0) is what ``layerwise info`` shows of the network
(:func:`layerwise.io.summary.summary`: the layers' types, output and parameter
shapes, counts and activations, the totals, the classes and what the
preprocessing does), with ``"describes"``, the digest of the config and
preprocessing it was made from (:func:`layerwise.io.summary.described`), so
that it can describe the file without building the network; the loader does
not read it.

``"tensors_sha256"`` (since 0.2.0) is the SHA-256 digest of every tensor,
parameters and extras, as :func:`layerwise.io.safetensors_header.file_digest`
computes it; a file whose tensors no longer match it is reported as corrupt.
Files written by 0.1.0 have no digest and load unverified.

Format version 1 is a network of Dense and Dropout layers, the only kinds layerwise 0.1.0
knows; a network with any other layer (Conv2D, pooling, Flatten, BatchNorm) is written as
version 2, so that 0.1.0 refuses it with "written by a newer layerwise" instead of failing on
an unknown layer. Files of both versions load.

Loading reads JSON and raw little-endian numbers only; nothing is ever
unpickled or evaluated, so a model file cannot run code. Nothing is allocated
before it is checked: the header is read first (never the whole file), its
tensor table is checked against the file's size, the config against the
table (the names, shapes and dtypes each layer declares), and the memory the
network needs against the memory available. Only then is the network built
and each tensor's byte range read.

Saving is atomic (see :mod:`layerwise.io.atomic`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .._version import __version__
from ..engine.network import Network
from ..errors import ConfigError, DataError, LayerwiseError, ModelFileError
from ..preprocessing import Preprocessing, Standardize
from ..preprocessing.pipeline import TENSOR_PREFIX
from .atomic import TEMP_MARKER, as_path, remove_stale_temporaries, write_atomically
from .model_document import (
    _PARAMETER_NAME,
    DENSE_FORMAT_VERSION,
    DIGEST_KEY,
    FORMAT,
    FORMAT_VERSION,
    METADATA_KEY,
    check_digest,
    parse_document,
)
from .model_format import _check_finite, _classes_problem, _network_for
from .safetensors_file import read_tensor, tensor_digest, update_digest
from .safetensors_header import CODES, open_model_file, read_header
from .summary import described, summary

LEGACY_SCALERS = {"inputs": ("scaler.mean", "scaler.scale"), "targets": ("target_scaler.mean", "target_scaler.scale")}

__all__ = ["FORMAT", "FORMAT_VERSION", "METADATA_KEY", "TEMP_MARKER", "ModelFile", "load", "read",
           "remove_stale_temporaries", "save", "write_atomically"]


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
    path = as_path(path)
    if not isinstance(net, Network):
        raise ConfigError(f"save expects a Network, received {type(net).__name__}")
    if not net.built:
        raise ConfigError("cannot save a network that is not built yet: pass input_dim= or train it first")
    params = net.table.tensors
    if not (np.isfinite(net.theta).all() and np.isfinite(net.state).all()):
        name, value = next((name, value) for name, value in params.items() if not np.isfinite(value).all())
        raise DataError(f"cannot save: parameter {name} contains {int((~np.isfinite(value)).sum())} NaN or "
                        f"infinite value(s); the network has diverged")
    config = net.get_config()
    problem = _classes_problem(config.get("classes"), net, net.n_outputs)
    if problem:
        raise ConfigError(f"cannot save: {problem}")
    extra_tensors = _check_extra_tensors(tensors)
    if metadata is not None and not isinstance(metadata, dict):
        raise ConfigError(f"metadata must be a dict, received {type(metadata).__name__}")
    arrays = {name: np.ascontiguousarray(value) for name, value in params.items()} | extra_tensors
    dense_only = all(layer["type"] in ("Dense", "Dropout") for layer in config["layers"])
    document = {"format": FORMAT, "format_version": DENSE_FORMAT_VERSION if dense_only else FORMAT_VERSION,
                "library_version": __version__, "config": config, "extra": metadata or {}}
    if net.preprocessing is not None:
        problem = net.preprocessing.check(net.input_dim, net.n_outputs)
        if problem:
            raise ConfigError(f"cannot save: {problem}")
        document["preprocessing"], steps_tensors = net.preprocessing.to_stored()
        document["format_version"] = FORMAT_VERSION
        arrays |= steps_tensors
    document[DIGEST_KEY] = tensor_digest(arrays)
    try:
        document["summary"] = {**summary(net), "describes": described(document, default=_json_scalar)}
        text = json.dumps(document, default=_json_scalar)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot save: the metadata and the network's config (class labels, seed) must be "
                          f"JSON-compatible (strings, numbers, booleans, None, lists and dicts with string keys): "
                          f"{exc}") from None
    import safetensors.numpy  # here: reading does not use it

    blob = safetensors.numpy.save(arrays, metadata={METADATA_KEY: text})
    write_atomically(path, blob)


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
            raise ConfigError(f"extra tensor name {name!r} is reserved for network parameters (W<n>, b<n>, "
                              f"gamma<n>, ...); "
                              f"choose another name, for example 'extra/{name}'")
        if name.startswith(TENSOR_PREFIX):
            raise ConfigError(f"extra tensor name {name!r} is reserved: names starting {TENSOR_PREFIX!r} hold the "
                              f"network's preprocessing")
        array = np.asarray(value)
        if array.dtype.name not in CODES:
            raise ConfigError(f"extra tensor {name!r} must have one of the dtypes {', '.join(CODES)}, "
                              f"received {array.dtype}; store text in metadata instead")
        out[name] = np.array(array, order="C", copy=not array.flags.c_contiguous)  # keeps 0-d arrays 0-d
    return out


# ---------------------------------------------------------------------- load
def load(path) -> Network:
    """Load a network saved with :func:`save` or :meth:`Network.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Network
        Built, with the saved parameters, classes, dtype, configuration and preprocessing
        (applied by its ``predict`` and ``predict_proba``, see :mod:`layerwise.preprocessing`).

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
        As for :func:`load`, and when the file is not a regular file (a
        directory, a device, a FIFO) or its tensors do not match their digest.
    ResourceError
        If the network it describes would not fit in the memory available.
    """
    path = as_path(path)
    stream, size = open_model_file(path)
    with stream:
        header = read_header(path, stream, size)
        document = parse_document(path, header)
        net = _network_for(path, document["config"], header)
        recorded = document.get(DIGEST_KEY)
        params, extras, digest = net.table.tensors, {}, hashlib.sha256() if recorded else None
        for name in sorted(header.tensors):
            value = read_tensor(path, stream, header, header.tensors[name])
            if digest is not None:
                update_digest(digest, name, value)
            if name in params:
                params[name][...] = value  # the parameter's copy is dropped at once
            else:
                extras[name] = value
    if digest is not None:
        check_digest(path, digest.hexdigest(), recorded)
    _check_finite(path, net)
    net.preprocessing = _preprocessing(path, document, extras, net)
    extras = {name: value for name, value in extras.items() if not name.startswith(TENSOR_PREFIX)}
    return ModelFile(net, extras, document["extra"], document["format_version"], document["library_version"])


def _preprocessing(path, document: dict, arrays: dict[str, np.ndarray], net: Network) -> Preprocessing | None:
    """The stored preprocessing (or the scalers of a 0.1.0 ``layerwise train`` file), checked against ``net``."""
    try:
        if "preprocessing" in document:
            steps = Preprocessing.from_stored(document["preprocessing"], arrays)
        elif isinstance(document["extra"].get("cli"), dict) and any(names[0] in arrays
                                                                   for names in LEGACY_SCALERS.values()):
            steps = Preprocessing(**{part: [Standardize(arrays[mean], arrays[scale])] if mean in arrays else []
                                     for part, (mean, scale) in LEGACY_SCALERS.items()})
        else:
            return None
    except (LayerwiseError, KeyError) as exc:
        raise ModelFileError(f"{path} has an invalid preprocessing entry: {exc}") from None
    problem = steps.check(net.input_dim, net.output.output_shape[0])
    if problem:
        raise ModelFileError(f"{path} has an invalid preprocessing entry: {problem}")
    return steps
