"""The downloader against a real HTTP server on 127.0.0.1 (``http_server`` of conftest) that misbehaves on purpose.

Three of the four MNIST files are placed in the cache by hand, so that each
test downloads only the small labels file ``t10k-labels-idx1-ubyte.gz``
(at most 4542 bytes, the size of the real one) from a server that trickles,
cuts the body short, sends too much or sends the wrong bytes.
"""

import os
import shutil
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import sha256

from layerwise.data import mnist
from layerwise.data.idx import write_idx
from layerwise.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("no_proxy")

LABELS = "t10k-labels-idx1-ubyte.gz"
CAP = mnist.SOURCES["mnist"].sizes[LABELS]


@pytest.fixture
def cache(tmp_path):
    """A cache holding three of the four files, and the checksums of all four (the fourth is ``body``)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        LABELS: rng.integers(0, 10, 4, dtype=np.uint8),
    }
    directory = tmp_path / "data" / "mnist"
    directory.mkdir(parents=True)
    blobs = {}
    for name, array in arrays.items():
        write_idx(tmp_path / name, array, compress=True)
        blobs[name] = (tmp_path / name).read_bytes()
        if name != LABELS:
            shutil.copy(tmp_path / name, directory / name)
    return SimpleNamespace(home=tmp_path / "data", directory=directory, body=blobs[LABELS],
                           checksums={name: sha256(blob) for name, blob in blobs.items()})


def headers(handler, length):
    handler.send_response(200)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()


def trickle(body, stop):
    """One byte per second, as long as the client listens (at most 60 s)."""
    def send(handler):
        headers(handler, len(body))
        for byte in body[:60]:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            if stop.wait(1.0):
                return
    return send


def cut_short(body, announce=True):
    def send(handler):
        headers(handler, len(body) if announce else None)
        handler.wfile.write(body[: len(body) // 2])
    return send


def oversized(announce):
    def send(handler):
        headers(handler, CAP + 1 if announce else None)
        handler.wfile.write(b"\0" * (CAP + 1))
    return send


def fetch(cache, server, timeout=30.0):
    return mnist.fetch("mnist", data_home=cache.home, base_url=server.url, checksums=cache.checksums, timeout=timeout)


def left_in(cache):
    """Everything in the cache directory but the three files placed by hand."""
    return sorted(set(os.listdir(cache.directory)) - set(mnist.FILES[:3]))


def test_a_trickling_server_meets_the_deadline_for_the_whole_file(cache, http_server):
    stop = threading.Event()
    http_server.respond = trickle(cache.body, stop)
    try:
        with pytest.raises(DataError, match=r"did not finish within the timeout of 1\.5 s"):
            fetch(cache, http_server, timeout=1.5)
    finally:
        stop.set()
    # every read got a byte within a second: a per-read timeout would have waited for the whole body
    assert left_in(cache) == []


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
def test_a_body_larger_than_the_real_file_is_refused(cache, http_server, announce):
    http_server.respond = oversized(announce)
    with pytest.raises(DataError, match=f"more than the {CAP:,} (bytes )?expected") as info:
        fetch(cache, http_server)
    assert "SHA-256" not in str(info.value)
    assert left_in(cache) == []


def test_a_body_shorter_than_announced_is_reported_as_truncated(cache, http_server):
    http_server.respond = cut_short(cache.body)
    half = len(cache.body) // 2
    with pytest.raises(DataError, match=f"truncated: received {half:,} of {len(cache.body):,} bytes") as info:
        fetch(cache, http_server)
    assert "SHA-256" not in str(info.value)
    assert left_in(cache) == []


def test_an_unannounced_short_body_of_a_known_file_is_reported_as_truncated(cache, http_server, monkeypatch):
    # the registry knows the real file's size and digest; here the served file plays the real one
    monkeypatch.setitem(mnist.SOURCES["mnist"].sha256, LABELS, cache.checksums[LABELS])
    monkeypatch.setitem(mnist.SOURCES["mnist"].sizes, LABELS, len(cache.body))
    http_server.respond = cut_short(cache.body, announce=False)
    with pytest.raises(DataError, match=f"truncated: received {len(cache.body) // 2:,} of {len(cache.body):,}"):
        fetch(cache, http_server)
    assert left_in(cache) == []


def test_wrong_bytes_are_a_digest_mismatch_and_leave_nothing(cache, http_server):
    http_server.respond = lambda handler: (headers(handler, len(cache.body)),
                                             handler.wfile.write(cache.body[::-1]))
    with pytest.raises(DataError, match="is corrupt: expected SHA-256"):
        fetch(cache, http_server)
    assert left_in(cache) == []


def test_a_good_download_lands_and_nothing_else_is_left(cache, http_server):
    http_server.respond = lambda handler: (headers(handler, len(cache.body)), handler.wfile.write(cache.body))
    paths = fetch(cache, http_server)
    assert paths[LABELS].read_bytes() == cache.body
    assert left_in(cache) == [LABELS]


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.org/mnist/", "http://", "file:///etc/"])
def test_a_mirror_that_is_not_an_http_url_is_refused(cache, monkeypatch, url):
    monkeypatch.setenv("LAYERWISE_MNIST_URL", url)
    with pytest.raises(ConfigError, match=f"LAYERWISE_MNIST_URL must be an http:// or https:// URL, received {url!r}"):
        mnist.fetch("mnist", data_home=cache.home, checksums=cache.checksums)
    with pytest.raises(ConfigError, match="base_url must be an http"):
        mnist.fetch("mnist", data_home=cache.home, base_url=url)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), "5", True])
def test_the_timeout_must_be_a_positive_number(cache, timeout):
    with pytest.raises(ConfigError, match=r"timeout \(seconds\) must be a number in \(0, inf\)"):
        mnist.fetch("mnist", data_home=cache.home, checksums=cache.checksums, timeout=timeout)


SCRIPT = shutil.which("layerwise", path=os.path.dirname(sys.executable)) or shutil.which("layerwise")
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "layerwise"]


def run(tmp_path, *args, **env):
    return subprocess.run([*COMMAND, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "no_proxy": "*", "NO_PROXY": "*", **env})


def test_the_command_gives_up_on_a_trickling_server_after_its_timeout(tmp_path, http_server):
    stop = threading.Event()
    http_server.respond = trickle(b"x" * 100, stop)
    try:
        result = run(tmp_path, "train", "--data", "mnist", "--timeout", "1", "--out", "run",
                     LAYERWISE_MNIST_URL=http_server.url, LAYERWISE_DATA=str(tmp_path / "cache"))
    finally:
        stop.set()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: could not download mnist file")
    assert "did not finish within the timeout of 1 s" in lines[0]
    assert os.listdir(tmp_path / "cache" / "mnist") == []
    assert not (tmp_path / "run").exists()


def test_the_command_refuses_a_mirror_that_is_not_a_url(tmp_path):
    result = run(tmp_path, "train", "--data", "mnist", LAYERWISE_MNIST_URL="notaurl",
                 LAYERWISE_DATA=str(tmp_path / "cache"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "layerwise: error: the environment variable LAYERWISE_MNIST_URL must be an http:// or https:// URL, "
        "received 'notaurl' (see 'layerwise train --help')"]
