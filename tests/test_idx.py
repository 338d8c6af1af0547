"""The IDX reader and writer, checked against byte layouts built by hand with struct."""

import gzip
import struct

import numpy as np
import pytest

from layerwise.data.idx import IDX_DTYPES, read_idx, write_idx
from layerwise.errors import DataError

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}
STRUCT = {np.uint8: "B", np.int8: "b", np.int16: "h", np.int32: "i", np.float32: "f", np.float64: "d"}


def hand_made_idx(array):
    """The IDX bytes of ``array``, assembled value by value with struct (no NumPy byte handling)."""
    dtype = array.dtype.type
    header = bytes([0, 0, CODES[dtype], array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + b"".join(struct.pack(">" + STRUCT[dtype], v) for v in array.ravel().tolist())


def sample(dtype, shape=(3, 4, 5)):
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_for_every_type_raw_and_gzip(tmp_path, dtype, compress):
    array = sample(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, array, compress=compress)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("dtype", list(CODES))
def test_written_bytes_match_the_published_layout(tmp_path, dtype):
    array = sample(dtype, shape=(2, 3))
    path = tmp_path / "a.idx"
    write_idx(path, array)
    assert path.read_bytes() == hand_made_idx(array)


@pytest.mark.parametrize("dtype", list(CODES))
def test_reads_hand_made_files(tmp_path, dtype):
    array = sample(dtype, shape=(4, 2, 3))
    path = tmp_path / "a.idx.gz"
    path.write_bytes(gzip.compress(hand_made_idx(array)))
    np.testing.assert_array_equal(read_idx(path), array)


def test_mnist_style_header_values(tmp_path):
    images = np.zeros((20, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", np.arange(20, dtype=np.uint8))
    assert (tmp_path / "images").read_bytes()[:16] == struct.pack(">IIII", 2051, 20, 28, 28)
    assert (tmp_path / "labels").read_bytes()[:8] == struct.pack(">II", 2049, 20)


def test_big_endian_values_decode_by_hand(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))
    np.testing.assert_array_equal(read_idx(path), np.array([258, -2], dtype=np.int16))


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = sample(np.int32, (5,))
    write_idx(tmp_path / "plain.gz", array)
    write_idx(tmp_path / "packed.idx", array, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed.idx"), array)


def test_compressed_output_is_deterministic(tmp_path):
    array = sample(np.float32, (6, 6))
    write_idx(tmp_path / "a", array, compress=True)
    write_idx(tmp_path / "b", array, compress=True)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_truncated_payload_is_rejected(tmp_path):
    data = hand_made_idx(sample(np.int16, (4, 5)))
    path = tmp_path / "a.idx"
    path.write_bytes(data[:-3])
    with pytest.raises(DataError, match=r"truncated: shape \(4, 5\) of int16 needs 40 payload bytes, received 37"):
        read_idx(path)


def test_truncated_gzip_payload_is_rejected(tmp_path):
    data = hand_made_idx(sample(np.uint8, (10, 28, 28)))
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError, match="needs 7840 payload bytes, received 7740"):
        read_idx(path)


def test_truncated_gzip_stream_is_rejected(tmp_path):
    packed = gzip.compress(hand_made_idx(sample(np.uint8, (10, 28, 28))))
    path = tmp_path / "a.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="not a valid gzip stream"):
        read_idx(path)


def test_truncated_header_is_rejected(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0, 0, 2]))
    with pytest.raises(DataError, match=r"declares 3 dimension\(s\) \(16 bytes\), but the file has only 8 bytes"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(path)


def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(hand_made_idx(sample(np.uint8, (3,))) + b"\x00\x00")
    with pytest.raises(DataError, match="2 unexpected trailing byte"):
        read_idx(path)


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(DataError, match="not an IDX file: its magic number 0x01000801"):
        read_idx(path)


def test_unknown_type_code_is_rejected(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(b"\x00\x00\x0A\x01\x00\x00\x00\x01\x05")
    with pytest.raises(DataError, match="unknown IDX data type code 0x0A"):
        read_idx(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"IDX file .*nope\.idx does not exist"):
        read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize("array", [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool), np.zeros(3, dtype=np.uint16)])
def test_types_without_an_idx_code_are_refused(tmp_path, array):
    with pytest.raises(DataError, match=f"IDX cannot store dtype {array.dtype}"):
        write_idx(tmp_path / "a", array)


def test_registry_is_big_endian():
    assert all(dtype.byteorder in (">", "|") for dtype in IDX_DTYPES.values())
