"""Hostile NPY, NPZ, IDX and gzip files: headers are checked before anything large is read or allocated."""

import gzip
import io
import os
import resource
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.data.datasets import load_dataset, read_features
from layerwise.data.idx import read_idx, write_idx
from layerwise.data.numpyfile import read_npy
from layerwise.errors import DataError, ResourceError

MEMORY_LIMIT = 3 * 10**9


def npy_file(header: str, body: bytes = b"", version: int = 1) -> bytes:
    text = header.encode("latin1")
    width = 2 if version == 1 else 4
    return b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(width, "little") + text + body


def saved(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def peak_of(action):
    """(the LayerwiseError ``action`` raised or None, the peak of traced memory)."""
    tracemalloc.start()
    try:
        action()
    except lw.LayerwiseError as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return None, peak


# ------------------------------------------------------------------ NPY
def test_npy_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "big.npy"
    path.write_bytes(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3)}", bytes(64)))
    caught, peak = peak_of(lambda: load_dataset(path))
    assert isinstance(caught, DataError) and peak < 1_000_000
    assert str(caught) == (f"{path} is truncated: its header describes an array of shape (100000000000, 3) of "
                           f"float64 (2.4 TB), but only 64 bytes of data follow")


def test_npy_that_would_not_fit_in_memory_names_its_size(tmp_path):
    """A sparse file that really holds 8 GB of float64 zeros: refused under a 3 GB address-space limit."""
    path = tmp_path / "sparse.npy"
    header = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (500000000, 2)}")
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + 8 * 10**9)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]),) * 2)\n"
            "from layerwise.data.numpyfile import read_npy\n"
            "from layerwise.errors import ResourceError\n"
            "try:\n    read_npy(sys.argv[1])\nexcept ResourceError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path), str(MEMORY_LIMIT)], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(Path(lw.__file__).parents[1])})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"reading {path} (an array of shape (500000000, 2) of float64 (8.0 GB)) would "
                                    f"need 8.0 GB of memory, but only")


@pytest.mark.parametrize("data, expected", [
    (b"PK\x03\x04 not numpy", r"is not a readable NumPy file: it does not start with the \.npy magic bytes"),
    (b"\x93NUMPY\x09\x00", r"its \.npy format version 9\.0 is unknown \(expected 1, 2 or 3\)"),
    (b"\x93NUMPY\x02\x00" + (10**6).to_bytes(4, "little"), "has a .npy header of 1000000 bytes, more than the 65536"),
    (npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", bytes(16)), "holds Python objects"),
    (npy_file("__import__('os').system('true')"), "its .npy header is invalid: it is not a Python dict literal"),
    (npy_file("(" * 5000 + ")" * 5000), "its .npy header is invalid: it is not a Python dict literal"),
    (npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1)}"),
     r"shape must be a tuple of at most 32 non-negative integers, received \(2, -1\)"),
    (npy_file(str({"descr": "<f8", "fortran_order": False, "shape": (1,) * 40})), "a tuple of at most 32"),
    (npy_file("{'descr': '<f8', 'fortran_order': 'no', 'shape': (1, 2)}"), "fortran_order must be True or False"),
    (npy_file("{'descr': 'nonsense', 'fortran_order': False, 'shape': (1, 2)}"), "'nonsense' is not a NumPy dtype"),
    (npy_file("{'descr': '<f8', 'shape': (1, 2)}"), "expected the keys descr, fortran_order and shape"),
    (saved(np.zeros((3, 2))) + b"extra", r"5 unexpected bytes follow the data of its array of shape \(3, 2\)"),
    (saved(np.zeros((3, 2)))[:-1], r"is truncated: its header describes an array of shape \(3, 2\) of float64 "
                                   r"\(48 bytes\), but only 47 bytes of data follow"),
])
def test_malformed_npy_files(tmp_path, data, expected):
    path = tmp_path / "d.npy"
    path.write_bytes(data)
    with pytest.raises(DataError, match=expected):
        read_features(path)


def test_npy_reader_agrees_with_numpy(tmp_path):
    arrays = [np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
              np.array([["a", "bc"], ["d", "e"]]), np.zeros((0, 3), np.float32), np.array(7.5),
              np.arange(5, dtype=">i4")]
    for k, array in enumerate(arrays):
        np.save(tmp_path / f"{k}.npy", array)
        ours, theirs = read_npy(tmp_path / f"{k}.npy"), np.load(tmp_path / f"{k}.npy")
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.arange(4.0), version=(3, 0))
    (tmp_path / "v3.npy").write_bytes(buffer.getvalue())
    np.testing.assert_array_equal(read_npy(tmp_path / "v3.npy"), np.arange(4.0))


# ------------------------------------------------------------------ NPZ
def zipped(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_npz_reads_only_the_arrays_it_needs(tmp_path):
    """A bomb beside X and y (67 MB of zeros deflated to about 65 KB) is never decompressed."""
    bomb = zipfile.ZipInfo("padding.npy")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", saved(np.ones((4, 2))))
        archive.writestr("y.npy", saved(np.array([0, 1, 0, 1])))
        with archive.open(bomb, "w", force_zip64=True) as member:
            chunk = bytes(1 << 24)
            for _ in range(4):
                member.write(chunk)
    path = tmp_path / "d.npz"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1_000_000
    data, peak = None, None
    tracemalloc.start()
    try:
        data = load_dataset(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.X.shape == (4, 2) and data.y.tolist() == [0, 1, 0, 1]
    assert peak < 5_000_000


def test_npz_member_whose_header_claims_more_than_its_declared_size(tmp_path):
    header = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3)}")
    path = tmp_path / "d.npz"
    path.write_bytes(zipped({"X.npy": header, "y.npy": saved(np.zeros(2))}))
    caught, peak = peak_of(lambda: load_dataset(path))
    assert isinstance(caught, DataError) and peak < 1_000_000
    assert f"{path}: X is truncated: its header describes an array of shape (100000000000, 3)" in str(caught)


def damaged_member() -> bytes:
    """A stored (uncompressed) archive whose y.npy has its last data byte changed."""
    member = saved(np.zeros(2))
    archive = zipped({"X.npy": saved(np.ones((2, 2))), "y.npy": member}, zipfile.ZIP_STORED)
    end = archive.index(member) + len(member) - 1
    return archive[:end] + b"\x01" + archive[end + 1:]


@pytest.mark.parametrize("make, expected", [
    (lambda: b"", "is not a readable NumPy file: not a zip archive of .npy arrays"),
    (lambda: zipped({"X.npy": saved(np.ones((2, 2))), "y.npy": saved(np.zeros(2))})[:-30],
     "is not a readable NumPy file: not a zip archive of .npy arrays"),
    (lambda: damaged_member(), "cannot be read from the archive .*Bad CRC-32"),
    (lambda: zipped({"X.npy": b"\x93NUMPY garbage", "y.npy": saved(np.zeros(2))}), "X is not a readable NumPy file"),
])
def test_broken_npz_archives(tmp_path, make, expected):
    path = tmp_path / "d.npz"
    path.write_bytes(make())
    with pytest.raises(DataError, match=expected):
        load_dataset(path)


def test_numpy_files_must_be_regular_files(tmp_path):
    os.mkfifo(tmp_path / "fifo.npy")
    (tmp_path / "zero.npz").symlink_to("/dev/zero")
    code = ("import sys\nfrom layerwise.data.datasets import load_dataset\nfrom layerwise.errors import DataError\n"
            "for path in sys.argv[1:]:\n    try:\n        load_dataset(path)\n    except DataError as exc:\n"
            "        print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "fifo.npy"), str(tmp_path / "zero.npz")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(lw.__file__).parents[1])})
    assert result.stdout.splitlines() == [
        f"NumPy file {tmp_path / 'fifo.npy'} is a FIFO (named pipe); expected a regular file",
        f"NumPy archive {tmp_path / 'zero.npz'} is a character device; expected a regular file"]


# ------------------------------------------------------------------ IDX and gzip
def idx_header(code: int, *dims: int) -> bytes:
    return struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims)


def test_idx_dimension_products_do_not_overflow(tmp_path):
    """(2**32-1)**4 * 8 bytes wraps to a small number in int64; the exact product is refused."""
    path = tmp_path / "d.idx"
    path.write_bytes(idx_header(0x0E, *[2**32 - 1] * 4) + bytes(8))
    caught, peak = peak_of(lambda: read_idx(path))
    assert isinstance(caught, DataError) and peak < 1_000_000
    assert f"needs {(2**32 - 1) ** 4 * 8} payload bytes, received 8" in str(caught)


def test_idx_with_too_many_dimensions(tmp_path):
    path = tmp_path / "d.idx"
    path.write_bytes(idx_header(0x08, *[1] * 200) + b"\x01")
    with pytest.raises(DataError, match="declares 200 dimensions; an IDX file read here has at most 8"):
        read_idx(path)
    with pytest.raises(DataError, match="at most 8 dimensions each below 2\\*\\*32"):
        write_idx(tmp_path / "e.idx", np.zeros((1,) * 9, np.uint8))


def test_gzip_bomb_is_read_only_as_far_as_the_header_says(tmp_path):
    """67 MB of zeros after a 2x3 header, deflated to about 65 KB: answered as trailing data, not decompressed."""
    path = tmp_path / "bomb.idx.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(idx_header(0x08, 2, 3) + bytes(6))
        chunk = bytes(1 << 24)
        for _ in range(4):
            handle.write(chunk)
    assert path.stat().st_size < 1_000_000
    caught, peak = peak_of(lambda: read_idx(path))
    assert isinstance(caught, DataError) and peak < 5_000_000
    assert str(caught) == f"{path} has 1 or more unexpected trailing byte(s) after the 6 payload bytes of shape (2, 3)"


def test_gzip_claiming_more_than_it_holds(tmp_path):
    path = tmp_path / "short.idx.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, 60000, 28, 28) + bytes(100)))
    caught, peak = peak_of(lambda: read_idx(path))
    assert isinstance(caught, DataError) and peak < 50_000_000  # the declared 47 MB array, at most
    assert "needs 47040000 payload bytes, received 100" in str(caught)
    path.write_bytes(gzip.compress(idx_header(0x08, 2, 3) + bytes(6))[:-6])
    with pytest.raises(DataError, match="is not a valid gzip stream"):
        read_idx(path)


def test_idx_that_would_not_fit_in_memory(tmp_path):
    path = tmp_path / "big.idx.gz"
    path.write_bytes(gzip.compress(idx_header(0x0E, 2**32 - 1, 2**32 - 1) + bytes(100)))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]),) * 2)\n"
            "from layerwise.data.idx import read_idx\nfrom layerwise.errors import ResourceError\n"
            "try:\n    read_idx(sys.argv[1])\nexcept ResourceError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path), str(MEMORY_LIMIT)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(Path(lw.__file__).parents[1])})
    assert result.stdout.startswith(f"reading {path} (an IDX array of shape (4294967295, 4294967295) of float64) "
                                    f"would need 147.6 EB of memory, but only"), result.stderr
    assert resource.RLIMIT_AS  # the limit is set in the child only


def test_idx_files_must_be_regular_files(tmp_path):
    (tmp_path / "zero.idx").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="IDX file .*zero.idx is a character device; expected a regular file"):
        read_idx(tmp_path / "zero.idx")
    with pytest.raises(ResourceError.__mro__[1]):  # a LayerwiseError, like every refusal here
        read_idx(tmp_path)
