"""Loading data sets: the bundled ones, CSV, NPZ and NPY files, task detection and every error message."""

import io
import sys

import numpy as np
import pytest
from sklearn import datasets as sk_datasets

from layerwise.data.datasets import Dataset, encode_target, infer_task, load_csv, load_dataset, read_features
from layerwise.errors import ConfigError, DataError, ShapeError

SKLEARN = {
    "digits": (sk_datasets.load_digits, "classification", 10),
    "iris": (sk_datasets.load_iris, "classification", 3),
    "wine": (sk_datasets.load_wine, "classification", 3),
    "breast_cancer": (sk_datasets.load_breast_cancer, "classification", 2),
    "diabetes": (sk_datasets.load_diabetes, "regression", None),
}


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ bundled data sets
@pytest.mark.parametrize("name", list(SKLEARN))
def test_bundled_sets_match_scikit_learn(name):
    loader, task, n_classes = SKLEARN[name]
    X_ref, y_ref = loader(return_X_y=True)
    data = load_dataset(name)
    assert data.task == task and data.name == name
    assert data.X.shape == X_ref.shape and data.n_samples == X_ref.shape[0] and data.n_features == X_ref.shape[1]
    np.testing.assert_array_equal(data.X, X_ref)
    np.testing.assert_array_equal(data.y, y_ref)
    assert len(data.feature_names) == X_ref.shape[1] and all(type(n) is str for n in data.feature_names)
    if n_classes is None:
        assert data.classes is None and data.y.dtype == np.float64
    else:
        assert len(data.classes) == n_classes and data.y.dtype == np.int64


def test_bundled_class_names_are_the_original_labels():
    assert load_dataset("iris").classes == ["setosa", "versicolor", "virginica"]
    assert load_dataset("breast_cancer").classes == ["malignant", "benign"]
    assert load_dataset("digits").classes == list(range(10))


def test_bundled_task_can_be_overridden():
    iris = load_dataset("iris", task="regression")
    assert iris.task == "regression" and iris.classes is None and iris.y.dtype == np.float64
    diabetes = load_dataset("diabetes", task="classification")
    assert diabetes.task == "classification"
    assert diabetes.classes == sorted(set(int(v) for v in sk_datasets.load_diabetes().target))


def test_bundled_set_refuses_a_target():
    with pytest.raises(ConfigError, match="target applies to CSV and NPY files only; iris has a fixed target"):
        load_dataset("iris", target=0)


@pytest.mark.parametrize("bad", ["classify", "", None])
def test_unknown_task_is_refused(bad):
    with pytest.raises(ConfigError, match="task must be one of auto, classification, regression"):
        load_dataset("iris", task=bad)


def test_unknown_source_lists_what_is_accepted(tmp_path):
    with pytest.raises(DataError, match="expected one of the data sets digits, iris.*mnist.* or a path to a .csv"):
        load_dataset("irís")
    with pytest.raises(DataError, match="cannot read .*nope.csv"):
        load_dataset(tmp_path / "nope.csv")


# ------------------------------------------------------------------ task rule
@pytest.mark.parametrize("y, task", [
    (np.array(["a", "b", "a"]), "classification"),
    (np.array([True, False, True]), "classification"),
    (np.arange(500), "classification"),
    (np.array([0.0, 1.0, 1.0, 0.0]), "classification"),
    (np.array([0.5, 1.0, 2.0]), "regression"),
    (np.arange(20, dtype=float), "classification"),
    (np.arange(21, dtype=float), "regression"),
    (np.repeat(np.arange(50.0), 20), "classification"),
    (np.concatenate([np.arange(51.0), np.zeros(949)]), "regression"),
    (np.zeros((10, 2)), "regression"),
    (np.array([1.0, np.nan]), "regression"),
])
def test_auto_task_rule(y, task):
    assert infer_task(y) == task


def test_diabetes_target_is_whole_numbers_but_regression():
    y = sk_datasets.load_diabetes().target
    assert np.all(y == np.round(y)) and infer_task(y) == "regression"


def test_text_labels_round_trip_through_classes():
    raw = np.array(["dog", "cat", "emu", "cat", "dog"])
    y, classes, task = encode_target(raw)
    assert task == "classification" and classes == ["cat", "dog", "emu"]
    assert np.array(classes)[y].tolist() == raw.tolist()


def test_whole_float_classes_become_plain_ints():
    y, classes, _ = encode_target(np.array([3.0, 1.0, 3.0, 2.0]))
    assert classes == [1, 2, 3] and all(type(c) is int for c in classes)
    assert y.tolist() == [2, 0, 2, 1]


def test_regression_on_text_is_refused():
    with pytest.raises(DataError, match="task 'regression' needs numeric targets, but the target holds text such as"):
        encode_target(np.array(["a", "b"]), "regression")


def test_classification_needs_one_column():
    with pytest.raises(ShapeError, match=r"single target column, but the target has shape \(3, 2\)"):
        encode_target(np.zeros((3, 2)), "classification")
    y, _, task = encode_target(np.array([[1.5], [2.5]]))
    assert y.shape == (2,) and task == "regression"


def test_dataset_checks_its_shapes():
    with pytest.raises(ShapeError, match=r"received X \(3, 2\) and y \(4,\)"):
        Dataset(np.zeros((3, 2)), np.zeros(4), None, None, "regression", "x")


# ------------------------------------------------------------------ CSV
def test_csv_with_header_and_text_labels(tmp_path):
    path = write(tmp_path, "length,width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n"
                           "4.9,3.0,setosa\n")
    data = load_dataset(path)
    assert data.feature_names == ["length", "width"] and data.name == "data"
    np.testing.assert_array_equal(data.X, [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3], [4.9, 3.0]])
    assert data.classes == ["setosa", "versicolor", "virginica"] and data.task == "classification"
    assert [data.classes[i] for i in data.y] == ["setosa", "versicolor", "virginica", "setosa"]


def test_csv_matches_the_array_it_was_written_from(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((50, 4))
    path = tmp_path / "t.csv"
    np.savetxt(path, table, delimiter=",", fmt="%.17g", header="a,b,c,d", comments="")
    data = load_dataset(path, target="b")
    np.testing.assert_array_equal(data.X, table[:, [0, 2, 3]])
    np.testing.assert_array_equal(data.y, table[:, 1])
    assert data.task == "regression" and data.feature_names == ["a", "c", "d"]


def test_csv_without_header(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6,1\n")
    data = load_dataset(path)
    assert data.feature_names is None and data.classes == [0, 1]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.y, [0, 1, 1])


def test_csv_headerless_text_labels_are_not_a_header(tmp_path):
    data = load_dataset(write(tmp_path, "1,2,b\n3,4,a\n"))
    assert data.feature_names is None and data.classes == ["a", "b"] and data.y.tolist() == [1, 0]


@pytest.mark.parametrize("target, column", [(0, 0), (-1, 2), (-3, 0), (1, 1), ("0", 0), ("-2", 1), ("y", 1)])
def test_csv_target_by_index_or_name(tmp_path, target, column):
    table = np.array([[1.5, 2.0, 3.25], [4.0, 5.5, 6.0], [7.0, 8.0, 9.5]])
    path = write(tmp_path, "x,y,z\n" + "\n".join(",".join(map(str, row)) for row in table) + "\n")
    data = load_dataset(path, target=target, task="regression")
    np.testing.assert_array_equal(data.y, table[:, column])
    np.testing.assert_array_equal(data.X, np.delete(table, column, axis=1))


def test_csv_header_can_be_forced(tmp_path):
    path = write(tmp_path, "1,2,3\n4,5,6\n")
    data = load_csv(path, header=True)
    assert data.feature_names == ["1", "2"] and data.X.tolist() == [[4.0, 5.0]]
    data = load_csv(write(tmp_path, "a,b,c\n1,2,3\n", "h.csv"), header=False)
    assert data.feature_names is None and data.X.tolist() == [["a", "b"], ["1", "2"]] and data.classes == ["3", "c"]


def test_csv_quirks_bom_spaces_quotes_crlf_blank_lines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes('\ufeff "a" , b ,label\r\n\r\n 1.0 , "2" , yes \r\n3,4,no\r\n'.encode())
    data = load_dataset(path)
    assert data.feature_names == ["a", "b"] and data.classes == ["no", "yes"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])


def test_fast_and_careful_readers_agree(tmp_path):
    rng = np.random.default_rng(3)
    rows = [",".join(f"{v:.6f}" for v in row) for row in rng.standard_normal((30, 5))]
    clean = write(tmp_path, "\n".join(rows) + "\n", "clean.csv")
    spaced = write(tmp_path, "\n".join(rows[:10] + ["   "] + rows[10:]) + "\n", "spaced.csv")
    a, b = load_dataset(clean), load_dataset(spaced)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_csv_empty(tmp_path, text):
    with pytest.raises(DataError, match="data.csv is empty"):
        load_dataset(write(tmp_path, text))


def test_csv_header_only(tmp_path):
    with pytest.raises(DataError, match=r"has a header \(a, b, y\) but no data rows"):
        load_dataset(write(tmp_path, "a,b,y\n"))


def test_csv_single_data_row(tmp_path):
    data = load_dataset(write(tmp_path, "1,2,3\n"), task="regression")
    assert data.X.tolist() == [[1.0, 2.0]] and data.y.tolist() == [3.0]


def test_csv_ragged_rows(tmp_path):
    with pytest.raises(DataError, match="data.csv line 4 has 2 fields, expected 3 as on line 1"):
        load_dataset(write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n5,6\n"))
    with pytest.raises(DataError, match="line 2 has 4 fields, expected 3 as on line 1"):
        load_dataset(write(tmp_path, "1,2,0\n3,4,1,9\n"))


def test_csv_text_feature_is_a_column_of_categories(tmp_path):
    path = write(tmp_path, "age,city,income,y\n30,5,1.5,0\n41,Paris,2.5,1\n22, Oslo ,3.5,0\n")
    data = load_dataset(path)
    assert data.X.dtype == object and data.table and data.feature_names == ["age", "city", "income"]
    assert data.X.tolist() == [[30.0, "5", 1.5], [41.0, "Paris", 2.5], [22.0, "Oslo", 3.5]]


def test_csv_text_column_keeps_missing_tokens_as_categories_but_empty_fields_as_missing(tmp_path):
    data = load_dataset(write(tmp_path, "a,b,y\n,NA,0\n2,x,1\n3,,0\n"))
    assert np.isnan(data.X[0, 0]) and data.X[1:, 0].tolist() == [2.0, 3.0]
    assert data.X[:, 1].tolist() == ["NA", "x", None]


@pytest.mark.parametrize("token", ["", "NA", "nan", "?", "null"])
def test_csv_missing_numeric_feature_is_nan(tmp_path, token):
    data = load_dataset(write(tmp_path, f"a,b,y\n1,2,0\n\n3,4,1\n5,{token},1\n6,,0\n"))
    assert data.X.dtype == np.float64 and data.X[:, 0].tolist() == [1, 3, 5, 6]
    np.testing.assert_array_equal(data.X[:, 1], [2, 4, np.nan, np.nan])


def test_csv_missing_target_gives_the_line(tmp_path):
    with pytest.raises(DataError, match=r"line 3 has a missing value \(''\) in column 'y' \(index 2\)"):
        load_dataset(write(tmp_path, "a,b,y\n1,2,cat\n3,4,\n"))
    with pytest.raises(DataError, match=r"line 2 has a missing value \('NA'\) in column 2"):
        load_dataset(write(tmp_path, "1,2,1.5\n3,4,NA\n", "n.csv"))


def test_csv_text_label_none_is_a_label_not_a_gap(tmp_path):
    data = load_dataset(write(tmp_path, "1,2,none\n3,4,severe\n"))
    assert data.classes == ["none", "severe"]


def test_csv_infinite_value(tmp_path):
    with pytest.raises(DataError, match=r"line 3 has a value that is not finite \('inf'\) in column 'a'"):
        load_dataset(write(tmp_path, "a,b,y\n1,2,0\ninf,4,1\n"))


def test_csv_regression_on_text_target(tmp_path):
    with pytest.raises(DataError, match="task 'regression' needs numeric targets, but .*column 'y' .*'cat'"):
        load_dataset(write(tmp_path, "a,y\n1,cat\n2,dog\n"), task="regression")


def test_csv_target_name_not_found_lists_columns(tmp_path):
    with pytest.raises(DataError, match="target column 'label' not found in .*; its columns are: a, b, y"):
        load_dataset(write(tmp_path, "a,b,y\n1,2,3\n"), target="label")


def test_csv_target_name_without_header(tmp_path):
    with pytest.raises(DataError, match=r"'label' is a column name, but .* has no header row; .*\(0 .. 2,"):
        load_dataset(write(tmp_path, "1,2,3\n4,5,6\n"), target="label")


@pytest.mark.parametrize("target", [3, -4, "7"])
def test_csv_target_index_out_of_range(tmp_path, target):
    with pytest.raises(DataError, match=rf"target index {target} is out of range for .* 3 columns \(valid: -3 .. 2\)"):
        load_dataset(write(tmp_path, "1,2,3\n4,5,6\n"), target=target)


def test_csv_bad_target_type_and_duplicate_names(tmp_path):
    path = write(tmp_path, "a,a,y\n1,2,3\n")
    with pytest.raises(ConfigError, match="target must be a column index or name, received 1.5"):
        load_dataset(path, target=1.5)
    with pytest.raises(DataError, match="2 columns named 'a'"):
        load_dataset(path, target="a")


def test_csv_single_column_mentions_the_delimiter(tmp_path):
    with pytest.raises(DataError, match="has 1 column; expected at least two .*separated by commas"):
        load_dataset(write(tmp_path, "1;2;3\n4;5;6\n"))


def test_csv_unsupported_suffix(tmp_path):
    with pytest.raises(DataError, match=r"expected one of the data sets .* a .csv, .parquet, .npz, .npy file"):
        load_dataset(write(tmp_path, "1,2\n", "data.tsv"))


# ------------------------------------------------------------------ read_features
def test_read_features_csv_with_and_without_header(tmp_path):
    X, names = read_features(write(tmp_path, "a,b\n1,2\n3,4\n"))
    assert names == ["a", "b"] and X.tolist() == [[1, 2], [3, 4]]
    X, names = read_features(write(tmp_path, "1,2,3\n", "n.csv"))
    assert names is None and X.tolist() == [[1, 2, 3]]


def test_read_features_from_stdin_and_streams(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("x1,x2\n0.5,1\n\n2,3.5\n"))
    X, names = read_features("-")
    assert names == ["x1", "x2"] and X.tolist() == [[0.5, 1.0], [2.0, 3.5]]
    X, _ = read_features(io.StringIO("1,2\n3,4\n"))
    assert X.tolist() == [[1, 2], [3, 4]]


class OneWayStream(io.TextIOBase):
    """A text stream that can be read once and not rewound, like a pipe."""

    def __init__(self, text):
        self._text = text

    def readable(self):
        return True

    def read(self, size=-1):
        text, self._text = self._text, ""
        return text


def test_read_features_from_a_stream_that_cannot_rewind():
    X, names = read_features(OneWayStream("a,b\n1,2\n3,4\n"))
    assert names == ["a", "b"] and X.tolist() == [[1, 2], [3, 4]]
    X, _ = read_features(OneWayStream("1,2\n3,\n"))
    np.testing.assert_array_equal(X, [[1, 2], [3, np.nan]])


def test_read_features_refuses_other_sources():
    with pytest.raises(ConfigError, match="expected a file path, '-' or a text stream, received int"):
        read_features(3)


def test_read_features_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"line 3 has a value that is not finite \('-inf'\) in column 'b' \(index 1\)"):
        read_features(write(tmp_path, "a,b\n1,2\n3,-inf\n"))
    with pytest.raises(DataError, match=r"line 3 has 1 fields, expected 2 as on line 1"):
        read_features(write(tmp_path, "1,2\n3,cat\n4\n", "c.csv"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(DataError, match="<stdin> is empty"):
        read_features("-")


def test_read_features_numpy_files(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", X=X, y=np.zeros(3))
    np.savez(tmp_path / "w.npz", features=X)
    np.save(tmp_path / "v.npy", np.arange(3.0))
    np.testing.assert_array_equal(read_features(tmp_path / "x.npy")[0], X)
    np.testing.assert_array_equal(read_features(tmp_path / "x.npz")[0], X)
    with pytest.raises(DataError, match=r"must hold an array 'X' \(or 'x'/'data'\); found \['features'\]"):
        read_features(tmp_path / "w.npz")
    with pytest.raises(ShapeError, match=r"must be 2-D \(examples, features\), received shape \(3,\)"):
        read_features(tmp_path / "v.npy")


# ------------------------------------------------------------------ NPZ and NPY
@pytest.mark.parametrize("x_key, y_key", [("X", "y"), ("x", "Y"), ("data", "target")])
def test_npz_keys(tmp_path, x_key, y_key):
    X = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "d.npz", **{x_key: X, y_key: np.array(["b", "a", "b", "c"])})
    data = load_dataset(tmp_path / "d.npz")
    np.testing.assert_array_equal(data.X, X)
    assert data.classes == ["a", "b", "c"] and data.y.tolist() == [1, 0, 1, 2] and data.name == "d"


def test_npz_multi_output_regression_and_integer_features(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.arange(6).reshape(3, 2), y=np.ones((3, 2)))
    data = load_dataset(tmp_path / "d.npz")
    assert data.task == "regression" and data.y.shape == (3, 2) and data.X.dtype == np.float64


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "k.npz", features=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(DataError, match=r"must hold arrays 'X' and 'y' .*; found \['features', 'labels'\]"):
        load_dataset(tmp_path / "k.npz")
    np.savez(tmp_path / "r.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(ShapeError, match="X has 3 rows but y has 4"):
        load_dataset(tmp_path / "r.npz")
    np.savez(tmp_path / "o.npz", X=np.array([[1, "a"]], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match="holds Python objects"):
        load_dataset(tmp_path / "o.npz")
    np.savez(tmp_path / "n.npz", X=np.array([[1.0, np.nan]]), y=np.zeros(1))
    with pytest.raises(DataError, match="NaN or infinite"):
        load_dataset(tmp_path / "n.npz")
    with pytest.raises(ConfigError, match="target applies to CSV and NPY files only"):
        load_dataset(tmp_path / "n.npz", target=0)
    (tmp_path / "bad.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match="bad.npz is not a readable NumPy file"):
        load_dataset(tmp_path / "bad.npz")


def test_npy_target_column(tmp_path):
    table = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [5.0, 6.0, 1.0]])
    np.save(tmp_path / "t.npy", table)
    data = load_dataset(tmp_path / "t.npy")
    np.testing.assert_array_equal(data.X, table[:, :2])
    assert data.classes == [0, 1] and data.y.tolist() == [0, 1, 1]
    data = load_dataset(str(tmp_path / "t.npy"), target=0, task="regression")
    np.testing.assert_array_equal(data.y, table[:, 0])
    np.testing.assert_array_equal(data.X, table[:, 1:])


def test_npy_errors(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(4.0))
    with pytest.raises(ShapeError, match=r"must hold a 2-D array with feature columns and a target column; .*\(4,\)"):
        load_dataset(tmp_path / "v.npy")
    np.save(tmp_path / "t.npy", np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"target index 2 is out of range .*\(valid: -2 .. 1\)"):
        load_dataset(tmp_path / "t.npy", target=2)
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="bad.npy is not a readable NumPy file"):
        load_dataset(tmp_path / "bad.npy")
