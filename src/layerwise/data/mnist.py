"""MNIST and Fashion-MNIST: download once, verify, cache, read.

Each data set is four gzip-compressed IDX files (:data:`FILES`) kept in
``<cache>/<name>/``, where ``<cache>`` is, first found:

1. the ``data_home`` argument,
2. the ``LAYERWISE_DATA`` environment variable,
3. ``$XDG_CACHE_HOME/layerwise``,
4. ``~/.cache/layerwise``.

A missing file is downloaded from the data set's mirror (overridable with the
``base_url`` argument or the environment variable named in :data:`SOURCES`)
by :func:`layerwise.data.download.download`: within one deadline per file
(``timeout``), at most the file's known size, into a temporary file beside
its final name that is renamed into place only once complete with the right
SHA-256 digest and removed on any failure, so the cache never holds a partial
or corrupt download. Files already present are verified, never downloaded
again. To work offline, put the four files in the data set's directory by hand.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import check_range
from ..errors import ConfigError, DataError
from .download import DownloadError, check_url, download
from .idx import read_idx

#: The four files of each data set: training images and labels, test images and labels.
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class Source:
    """Where a data set comes from, what its files must hash to and how many bytes they have."""

    base_url: str
    url_env: str
    sha256: dict[str, str]
    sizes: dict[str, int]
    classes: list


SOURCES: dict[str, Source] = {
    "mnist": Source(
        base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        url_env="LAYERWISE_MNIST_URL",
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        sizes={"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
               "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
        classes=list(range(10)),
    ),
    "fashion-mnist": Source(
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        url_env="LAYERWISE_FASHION_MNIST_URL",
        sha256={
            "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
            "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
            "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
            "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
        },
        sizes={"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
               "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
        classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
}

_CHUNK = 1 << 20  # for hashing files in the cache


def cache_root(data_home: str | os.PathLike | None = None) -> Path:
    """The directory that holds every data set's cache directory (see the module notes)."""
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("LAYERWISE_DATA"):
        return Path(os.environ["LAYERWISE_DATA"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "layerwise"


def data_dir(name: str, data_home: str | os.PathLike | None = None) -> Path:
    """The cache directory of data set ``name``: ``cache_root(data_home) / name``."""
    _source(name)
    return cache_root(data_home) / name


def fetch(name: str, *, data_home: str | os.PathLike | None = None, base_url: str | None = None,
          checksums: dict[str, str] | None = None, timeout: float = 60.0) -> dict[str, Path]:
    """Make sure the four files of ``name`` are in the cache and intact.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        The data set.
    data_home : path-like, optional
        Cache root; see :func:`cache_root`.
    base_url : str, optional
        Mirror to download from; default the environment variable named by
        ``SOURCES[name].url_env``, else the data set's usual mirror.
    checksums : dict, optional
        File name -> expected SHA-256 hex digest, replacing the registry's.
    timeout : float, default 60
        Seconds each file may take to download, from connecting to its last
        byte, before the download is abandoned.

    Returns
    -------
    dict
        File name (one of :data:`FILES`) -> path of the verified file.

    Raises
    ------
    DataError
        If a download fails (the message says where to put the files to work
        offline), is truncated or larger than the real file, or a file's
        SHA-256 digest differs from the expected one.
    ConfigError
        If the mirror is not an http(s) URL or the timeout is not a positive number.
    """
    source = _source(name)
    check_range("timeout (seconds)", timeout, 0, low_open=True)
    unknown = sorted(set(checksums or {}) - set(FILES))
    if unknown:
        raise ConfigError(f"checksums names unknown file(s) {unknown}; expected keys among {list(FILES)}")
    digests = {filename: digest.lower() for filename, digest in {**source.sha256, **(checksums or {})}.items()}
    if base_url is not None:
        base = check_url(base_url, "base_url")
    elif os.environ.get(source.url_env):
        base = check_url(os.environ[source.url_env], f"the environment variable {source.url_env}")
    else:
        base = source.base_url
    if not base.endswith("/"):
        base += "/"
    directory = data_dir(name, data_home)
    paths = {}
    for filename in FILES:
        path = directory / filename
        if path.exists():
            received = _sha256_of(path)
            if received != digests[filename]:
                raise DataError(
                    f"{path} is corrupt: expected SHA-256 {digests[filename]}, received {received}; "
                    "delete it to download it again"
                )
        else:
            exact = source.sizes[filename] if digests[filename] == source.sha256[filename] else None
            try:
                download(base + filename, path, sha256=digests[filename], max_bytes=source.sizes[filename],
                         timeout=timeout, size=exact)
            except DownloadError as exc:
                raise DataError(_offline_message(base + filename, directory, name, exc)) from None
        paths[filename] = path
    return paths


def load_arrays(name: str, images: bool = False,
                **fetch_options) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fetch ``name`` if needed and return ``(X_train, y_train, X_test, y_test)``.

    Images are float32 rows scaled to [0, 1] (shape ``(m, rows * cols)``, 784
    for 28x28), or with ``images=True`` one-channel images ``(m, 1, rows, cols)``
    for convolutional networks (the same numbers); labels are int64 class
    indices. ``fetch_options`` are passed to :func:`fetch`.
    """
    paths = fetch(name, **fetch_options)
    n_classes = len(SOURCES[name].classes)
    X_train, y_train = _images_and_labels(paths[FILES[0]], paths[FILES[1]], n_classes, images)
    X_test, y_test = _images_and_labels(paths[FILES[2]], paths[FILES[3]], n_classes, images)
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(
            f"training and test images differ in size: {X_train.shape[1:]} and {X_test.shape[1:]} pixels"
        )
    return X_train, y_train, X_test, y_test


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ConfigError(f"unknown IDX data set {name!r}; expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def _images_and_labels(images_path: Path, labels_path: Path, n_classes: int,
                       as_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path} must hold uint8 images (count, rows, cols), received "
                        f"{images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{labels_path} must hold one label per image ({images.shape[0]}), "
                        f"received shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"{labels_path} holds labels outside 0..{n_classes - 1}: "
                        f"from {labels.min()} to {labels.max()}")
    shape = (images.shape[0], 1) + images.shape[1:] if as_images else (images.shape[0], -1)
    X = images.reshape(shape).astype(np.float32) / np.float32(255)
    return X, labels.astype(np.int64)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _offline_message(url: str, directory: Path, name: str, exc: Exception) -> str:
    wanted = ", ".join(str(directory / filename) for filename in FILES)
    return (f"could not download {name} file {url} ({exc}); to use {name} without a network, "
            f"put its four files here: {wanted}")
