"""The MNIST / Fashion-MNIST downloader, against a real HTTP server on 127.0.0.1 serving small IDX files."""

import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import sha256

from layerwise.data import mnist
from layerwise.data.datasets import load_dataset, load_split
from layerwise.data.idx import write_idx
from layerwise.errors import ConfigError, DataError

N_TRAIN, N_TEST = 20, 8


def make_files(tmp_path, seed=0):
    """Small gzip IDX files in the MNIST layout; returns (bytes by file name, the arrays written)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    blobs = {}
    for name, array in arrays.items():
        path = tmp_path / f"src-{seed}-{name}"
        write_idx(path, array, compress=True)
        blobs[name] = path.read_bytes()
    return blobs, arrays


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def server(http_server):
    """The loopback server of ``conftest`` serving ``files`` (name -> bytes) under ``/data/``, 404 otherwise;
    ``requests`` holds every requested path."""
    files = {}

    def respond(handler):
        body = files.get(handler.path.lstrip("/").split("/")[-1])
        if body is None:
            handler.send_error(404)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    http_server.respond = respond
    return SimpleNamespace(url=http_server.url + "data/", files=files, requests=http_server.requests)


@pytest.fixture
def served(tmp_path, server):
    blobs, arrays = make_files(tmp_path)
    server.files.update(blobs)
    return SimpleNamespace(server=server, arrays=arrays, checksums={name: sha256(b) for name, b in blobs.items()})


def dead_url():
    """The URL of a port that was just listening and is now closed."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    httpd.server_close()
    return f"http://127.0.0.1:{port}/"


def test_downloads_verify_and_land_in_the_cache(tmp_path, served, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAYERWISE_DATA", str(cache))
    X_train, y_train, X_test, y_test = mnist.load_arrays("mnist", base_url=served.server.url,
                                                         checksums=served.checksums)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(mnist.FILES)
    assert sorted(served.server.requests) == sorted(f"/data/{name}" for name in mnist.FILES)
    assert X_train.shape == (N_TRAIN, 784) and X_test.shape == (N_TEST, 784)
    assert X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1
    expected = served.arrays["train-images-idx3-ubyte.gz"].reshape(N_TRAIN, 784) / 255.0
    np.testing.assert_allclose(X_train, expected, rtol=1e-6)
    np.testing.assert_array_equal(y_train, served.arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(y_test, served.arrays["t10k-labels-idx1-ubyte.gz"])
    assert y_train.dtype == np.int64


def test_images_come_as_one_channel_for_convolutional_networks(tmp_path, served):
    options = dict(data_home=tmp_path, base_url=served.server.url, checksums=served.checksums)
    X_rows, y_rows, _, _ = mnist.load_arrays("mnist", **options)
    X_train, y_train, X_test, _ = mnist.load_arrays("mnist", images=True, **options)
    assert X_train.shape == (N_TRAIN, 1, 28, 28) and X_test.shape == (N_TEST, 1, 28, 28)
    np.testing.assert_array_equal(X_train.reshape(N_TRAIN, 784), X_rows)
    np.testing.assert_array_equal(y_train, y_rows)
    train, test = load_split("mnist", images=True, **options)
    assert train.X.shape == (N_TRAIN, 1, 28, 28) and train.n_features == 784


def test_second_call_uses_the_cache(tmp_path, served):
    options = dict(data_home=tmp_path / "c", base_url=served.server.url, checksums=served.checksums)
    first = mnist.load_arrays("mnist", **options)
    assert len(served.server.requests) == 4
    second = mnist.load_arrays("mnist", **options)
    assert len(served.server.requests) == 4
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_only_missing_files_are_downloaded(tmp_path, served):
    options = dict(data_home=tmp_path, base_url=served.server.url, checksums=served.checksums)
    mnist.fetch("mnist", **options)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    mnist.fetch("mnist", **options)
    assert served.server.requests[4:] == ["/data/t10k-labels-idx1-ubyte.gz"]


def test_mirror_from_environment_variable(tmp_path, served, monkeypatch):
    monkeypatch.setenv("LAYERWISE_FASHION_MNIST_URL", served.server.url)
    train, test = load_split("fashion-mnist", data_home=tmp_path, checksums=served.checksums)
    assert (tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    assert train.X.shape == (N_TRAIN, 784) and test.X.shape == (N_TEST, 784)
    assert train.task == test.task == "classification" and train.name == "fashion-mnist"


def test_corrupted_download_is_rejected_and_discarded(tmp_path, served):
    name = "train-labels-idx1-ubyte.gz"
    good = served.checksums[name]
    served.server.files[name] = served.server.files[name][:-5] + b"XXXXX"
    with pytest.raises(DataError) as info:
        mnist.fetch("mnist", data_home=tmp_path, base_url=served.server.url, checksums=served.checksums)
    message = str(info.value)
    assert name in message and good in message and sha256(served.server.files[name]) in message
    left = sorted(p.name for p in (tmp_path / "mnist").iterdir())
    assert left == ["train-images-idx3-ubyte.gz"]


def test_server_down_says_where_to_put_the_files(tmp_path):
    with pytest.raises(DataError) as info:
        mnist.fetch("mnist", data_home=tmp_path, base_url=dead_url())
    message = str(info.value)
    assert "could not download" in message
    for name in mnist.FILES:
        assert str(tmp_path / "mnist" / name) in message
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == []


def test_http_error_is_reported(tmp_path, served):
    del served.server.files["t10k-images-idx3-ubyte.gz"]
    with pytest.raises(DataError, match="HTTP Error 404"):
        mnist.fetch("mnist", data_home=tmp_path, base_url=served.server.url, checksums=served.checksums)
    assert not (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_files_placed_by_hand_are_used_offline(tmp_path, served):
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name, blob in served.server.files.items():
        (directory / name).write_bytes(blob)
    X_train, *_ = mnist.load_arrays("mnist", data_home=tmp_path, base_url=dead_url(), checksums=served.checksums)
    assert X_train.shape == (N_TRAIN, 784)


def test_corrupt_file_in_the_cache_is_reported(tmp_path, served):
    directory = tmp_path / "mnist"
    directory.mkdir()
    (directory / "train-images-idx3-ubyte.gz").write_bytes(b"not the file")
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is corrupt: expected SHA-256 .*delete it"):
        mnist.fetch("mnist", data_home=tmp_path, base_url=served.server.url, checksums=served.checksums)
    assert served.server.requests == []


def test_real_checksums_are_required_by_default(tmp_path, served):
    with pytest.raises(DataError, match=mnist.SOURCES["mnist"].sha256["train-images-idx3-ubyte.gz"]):
        mnist.fetch("mnist", data_home=tmp_path, base_url=served.server.url)


def test_load_dataset_concatenates_train_then_test(tmp_path, served, monkeypatch):
    monkeypatch.setenv("LAYERWISE_MNIST_URL", served.server.url)
    for name, digest in served.checksums.items():
        monkeypatch.setitem(mnist.SOURCES["mnist"].sha256, name, digest)
    data = load_dataset("mnist", data_home=tmp_path)
    assert data.X.shape == (N_TRAIN + N_TEST, 784) and data.task == "classification"
    assert data.classes == list(range(10)) and data.name == "mnist"
    labels = np.concatenate([served.arrays["train-labels-idx1-ubyte.gz"], served.arrays["t10k-labels-idx1-ubyte.gz"]])
    np.testing.assert_array_equal(data.y, labels)
    with pytest.raises(ConfigError, match="classification data set"):
        load_dataset("mnist", data_home=tmp_path, task="regression")
    with pytest.raises(ConfigError, match="target applies to CSV and NPY"):
        load_dataset("mnist", data_home=tmp_path, target=0)


def test_labels_outside_the_classes_are_rejected(tmp_path, server):
    blobs, arrays = make_files(tmp_path)
    bad = arrays["train-labels-idx1-ubyte.gz"].copy()
    bad[3] = 12
    write_idx(tmp_path / "bad.gz", bad, compress=True)
    blobs["train-labels-idx1-ubyte.gz"] = (tmp_path / "bad.gz").read_bytes()
    server.files.update(blobs)
    with pytest.raises(DataError, match=r"labels outside 0..9: from \d+ to 12"):
        mnist.load_arrays("mnist", data_home=tmp_path, base_url=server.url,
                          checksums={name: sha256(b) for name, b in blobs.items()})


def test_cache_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAYERWISE_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert mnist.cache_root() == tmp_path / "home" / ".cache" / "layerwise"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.cache_root() == tmp_path / "xdg" / "layerwise"
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "data"))
    assert mnist.cache_root() == tmp_path / "data"
    assert mnist.cache_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert mnist.data_dir("fashion-mnist") == tmp_path / "data" / "fashion-mnist"


def test_registry_holds_a_sha256_for_each_real_file():
    digests = [d for source in mnist.SOURCES.values() for d in source.sha256.values()]
    assert len(set(digests)) == 8 and all(re.fullmatch("[0-9a-f]{64}", d) for d in digests)
    assert all(set(source.sha256) == set(mnist.FILES) for source in mnist.SOURCES.values())


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="unknown IDX data set 'kmnist'"):
        mnist.fetch("kmnist", data_home=tmp_path)
    with pytest.raises(ConfigError, match="unknown file"):
        mnist.fetch("mnist", data_home=tmp_path, checksums={"train.gz": "0" * 64})
    with pytest.raises(ConfigError, match="no official train/test split"):
        load_split("iris")
