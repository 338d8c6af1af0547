"""Tables with text and missing values: read from CSV and Parquet, encoded as scikit-learn would, used by name.

References are scikit-learn's ColumnTransformer (SimpleImputer(median, add_indicator) + StandardScaler on the
numbers, OneHotEncoder(handle_unknown="ignore") on the text), its MLPClassifier, and onnxruntime.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import layerwise as lw
from layerwise import cli
from layerwise.cli.data import split_indices
from layerwise.data.datasets import load_dataset, read_features
from layerwise.errors import DataError
from layerwise.preprocessing import Preprocessing, fit_table

NUMERIC, TEXT = ["age", "income", "rooms"], ["city", "plan"]


def make_table(m: int, seed: int) -> pd.DataFrame:
    """Numbers with ~10% missing, two text columns (one with missing values), a label that needs both kinds."""
    rng = np.random.default_rng(seed)
    age, income = rng.normal(40, 12, m).round(2), rng.lognormal(3, 0.6, m).round(3)
    rooms = rng.integers(1, 7, m).astype(float)
    city = rng.choice(["Oslo", "Paris", "Rome", "Lima"], m).astype(object)
    plan = rng.choice(["basic", "plus", "pro"], m).astype(object)
    score = (age - 40) / 12 + np.where(city == "Paris", 1.5, 0) - np.where(plan == "basic", 1.0, 0) + 0.3 * rooms - 1
    label = np.where(score + 0.3 * rng.standard_normal(m) > 0, "buy", "skip")
    for values in (age, income):
        values[rng.random(m) < 0.1] = np.nan
    plan[rng.random(m) < 0.08] = None
    return pd.DataFrame({"age": age, "city": city, "income": income, "plan": plan, "rooms": rooms, "label": label})


def reference_transformer() -> ColumnTransformer:
    numbers = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())])
    return ColumnTransformer([("numbers", numbers, NUMERIC),
                              ("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), TEXT)])


def write_csv(frame: pd.DataFrame, path) -> None:
    """Missing values as empty fields, written by the csv module (independent of both readers)."""
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(frame.columns)
        for row in frame.itertuples(index=False):
            writer.writerow(["" if value is None or (isinstance(value, float) and np.isnan(value)) else
                             f"{value:.10g}" if isinstance(value, float) else value for value in row])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    train = make_table(500, seed=1)
    new = make_table(60, seed=2)
    new.loc[::7, "city"] = "Berlin"  # unseen at training
    write_csv(train, folder / "train.csv")
    train.to_parquet(folder / "train.parquet")
    shuffled = new[["rooms", "label", "plan", "income", "city", "age"]].assign(note="x")
    write_csv(shuffled, folder / "new.csv")
    shuffled.to_parquet(folder / "new.parquet")
    return folder, train, new


def test_csv_and_parquet_read_the_same_table(files):
    folder, train, _ = files
    a, b = load_dataset(folder / "train.csv"), load_dataset(folder / "train.parquet")
    assert a.feature_names == b.feature_names == ["age", "city", "income", "plan", "rooms"]
    assert a.classes == b.classes == ["buy", "skip"] and np.array_equal(a.y, b.y)
    for k, name in enumerate(a.feature_names):
        if name in TEXT:
            expected = [None if isinstance(value, float) else value for value in train[name]]  # pandas: NaN
            assert a.X[:, k].tolist() == b.X[:, k].tolist() == expected
        else:
            np.testing.assert_array_equal(a.X[:, k].astype(float), b.X[:, k].astype(float))
            np.testing.assert_allclose(a.X[:, k].astype(float), train[name], rtol=1e-9)


def test_fast_reader_and_line_by_line_reader_agree_on_a_mixed_table(files, tmp_path):
    folder, _, _ = files
    text = (folder / "train.csv").read_text().splitlines()
    (tmp_path / "spaced.csv").write_text("\n".join(text[:5] + ["   "] + text[5:]) + "\n")  # pyarrow refuses it
    a, b = load_dataset(folder / "train.csv"), load_dataset(tmp_path / "spaced.csv")
    assert a.X.shape == b.X.shape and np.array_equal(a.y, b.y)
    assert [str(v) for v in a.X.ravel()] == [str(v) for v in b.X.ravel()]


def test_encoded_matrix_equals_scikit_learns_column_transformer(files):
    folder, train, new = files
    data = load_dataset(folder / "train.csv")
    steps = Preprocessing(inputs=fit_table(data.X, data.feature_names))
    reference = reference_transformer().fit(train)
    np.testing.assert_allclose(steps.transform_inputs(data.X), reference.transform(train), rtol=1e-12, atol=1e-12)
    X_new, names = read_features(folder / "new.csv")
    rows = {name: X_new[:, names.index(name)] for name in names}
    np.testing.assert_allclose(steps.transform_inputs(rows), reference.transform(new), rtol=1e-12, atol=1e-12)
    assert steps.encoded_names()[-4:] == ["plan=basic", "plan=plus", "plan=pro", "plan=<missing>"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # its default 200 iterations
def test_accuracy_is_comparable_to_mlpclassifier_on_the_same_pipeline(files, tmp_path, capsys):
    folder, train, _ = files
    assert cli.main(["train", "--data", str(folder / "train.csv"), "--hidden", "32", "--seed", "0",
                     "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    model = lw.load(tmp_path / "run" / "model.safetensors")
    data = load_dataset(folder / "train.csv")
    fit, test = split_indices(data.y, "classification", 0.25, 0)  # the command's default split and seed
    frame = train.drop(columns="label")
    ours = np.mean(model.predict(frame.iloc[test]) == train["label"].to_numpy()[test])
    scores = []
    for seed in range(3):
        mlp = make_pipeline(reference_transformer(), MLPClassifier(hidden_layer_sizes=(32,), random_state=seed))
        mlp.fit(frame.iloc[fit], train["label"].iloc[fit])
        scores.append(mlp.score(frame.iloc[test], train["label"].iloc[test]))
    assert ours >= np.mean(scores) - 0.05, (ours, scores)


@pytest.fixture(scope="module")
def table_run(files, tmp_path_factory):
    folder, _, _ = files
    out = tmp_path_factory.mktemp("table_run") / "run"
    assert cli.main(["train", "--data", str(folder / "train.parquet"), "--hidden", "16", "--epochs", "40",
                     "--out", str(out), "--quiet"]) == 0
    return out / "model.safetensors"


def test_cli_predict_library_and_onnx_agree_on_reordered_columns_with_unseen_categories(files, table_run, tmp_path,
                                                                                        capsys):
    import onnxruntime

    folder, _, new = files
    frame = new.drop(columns="label")
    assert cli.main(["predict", str(table_run), str(folder / "new.csv"), "--proba",
                     "--output", str(tmp_path / "p.csv")]) == 0
    assert "ignoring the column(s) note" in capsys.readouterr().err  # the target column goes unmentioned
    printed = pd.read_csv(tmp_path / "p.csv")
    model = lw.load(table_run)
    P = model.predict_proba(frame)
    np.testing.assert_allclose(printed[["proba_buy", "proba_skip"]], P, rtol=1e-5, atol=1e-6)
    assert printed["prediction"].tolist() == model.predict(frame).tolist()
    np.testing.assert_array_equal(model.predict_proba(frame[frame.columns[::-1]]), P)  # reordered: identical
    assert cli.main(["predict", str(table_run), str(folder / "new.parquet"), "--proba",
                     "--output", str(tmp_path / "q.csv")]) == 0
    assert pd.read_csv(tmp_path / "q.csv").equals(printed)
    assert cli.main(["export", str(table_run), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert ("inputs X (batch, 3): age, income, rooms (NaN where missing); X_text (batch, 2): city, plan"
            in capsys.readouterr().out)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    X = frame[["age", "income", "rooms"]].to_numpy(np.float32)
    X_text = frame[["city", "plan"]].fillna("").to_numpy(object)
    assert np.isnan(X).any() and (X_text == "").any() and (X_text == "Berlin").any()
    np.testing.assert_allclose(session.run(["Y"], {"X": X, "X_text": X_text})[0], P, rtol=1e-4, atol=1e-5)


def test_missing_column_is_an_error_naming_it(files, table_run, tmp_path, capsys):
    folder, _, new = files
    write_csv(new.drop(columns=["income"]), tmp_path / "short.csv")
    assert cli.main(["predict", str(table_run), str(tmp_path / "short.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no column 'income', which the model was trained on" in err[0]
    with pytest.raises(DataError, match="the input has no column 'income'"):
        lw.load(table_run).predict(new.drop(columns=["income"]))


def test_evaluate_matches_columns_by_name_and_finds_the_target_by_its_training_name(files, table_run, tmp_path,
                                                                                    capsys):
    folder, _, new = files
    write_csv(new[["label", "rooms", "plan", "income", "city", "age"]], tmp_path / "shuffled.csv")
    write_csv(new, tmp_path / "ordered.csv")
    reports = []
    for name in ("shuffled.csv", "ordered.csv"):
        assert cli.main(["evaluate", str(table_run), "--data", str(tmp_path / name), "--no-plot", "--json"]) == 0
        reports.append(capsys.readouterr().out.split('"data"')[0])
    assert reports[0] == reports[1]


def test_info_names_the_columns_and_the_encoding(table_run, capsys):
    assert cli.main(["info", str(table_run)]) == 0
    out = capsys.readouterr().out
    assert "columns (matched by name): age, city, income, plan, rooms" in out
    assert ("encoded 5 column(s) into 13 inputs: one-hot city (4 categories), plan (4 categories); missing values "
            "imputed (median, with an indicator column) in age, income") in out



def test_info_of_a_table_model_shows_what_loading_it_describes(table_run):
    from layerwise.cli.info import model_description, recorded_description
    from layerwise.cli.model import load_model

    recorded = recorded_description(table_run)
    assert recorded is not None and recorded == model_description(load_model(table_run))
    assert recorded["columns"] == ["age", "city", "income", "plan", "rooms"]

@pytest.mark.parametrize("step, config, arrays, message", [
    ("one_hot", {"n_in": 2, "columns": [1], "categories": [["a", "a"]]}, {}, "distinct text values"),
    ("one_hot", {"n_in": 2, "columns": [3], "categories": [["a"]]}, {}, "increasing text columns within 2"),
    ("one_hot", {"n_in": 2, "columns": [1], "categories": 7}, {}, "malformed"),
    ("impute", {"n_in": 2}, {"medians": np.array([np.nan]), "indicators": np.zeros(0)}, "finite medians"),
    ("impute", {"n_in": 2}, {"medians": np.ones(2), "indicators": np.array([5.0])}, "indicator columns"),
    ("impute", {}, {"medians": np.ones(2), "indicators": np.zeros(0)}, "missing its array or setting 'n_in'"),
    ("columns", {"names": ["a", "a"]}, {}, "distinct column names"),
])
def test_malformed_stored_encoding_steps_are_refused(step, config, arrays, message):
    from layerwise.errors import ConfigError
    from layerwise.preprocessing import step_from_stored

    with pytest.raises(ConfigError, match=message):
        step_from_stored({**config, "type": step}, arrays)


def test_encoding_steps_survive_the_model_file(files, tmp_path):
    folder, _, new = files
    data = load_dataset(folder / "train.csv")
    steps = fit_table(data.X, data.feature_names)
    net = lw.Network([lw.Dense(4, "relu"), lw.Dense(2, "softmax")], input_dim=steps[-1].n_out, seed=0)
    net.classes, net.preprocessing = data.classes, Preprocessing(inputs=steps)
    net.save(tmp_path / "m.safetensors")
    frame = new.drop(columns="label")
    np.testing.assert_array_equal(lw.load(tmp_path / "m.safetensors").predict_proba(frame), net.predict_proba(frame))


def test_onnx_of_a_float64_numeric_table_imputes_exactly(files):
    import onnxruntime

    folder, train, new = files
    numbers = train[NUMERIC].to_numpy()
    steps = fit_table(numbers, NUMERIC)
    net = lw.Network([lw.Dense(8, "tanh"), lw.Dense(2, "softmax")], input_dim=steps[-1].n_out, seed=3,
                     dtype="float64")
    net.preprocessing = Preprocessing(inputs=steps)
    model = lw.to_onnx(net)
    assert [i.name for i in model.graph.input] == ["X"]
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X = new[NUMERIC].to_numpy()
    assert np.isnan(X).any()
    np.testing.assert_allclose(session.run(["Y"], {"X": X})[0], net.predict_proba(X), rtol=1e-12, atol=1e-14)


def test_text_where_the_model_was_trained_on_numbers_is_an_error_naming_the_column(files, table_run, tmp_path,
                                                                                   capsys):
    _, _, new = files
    frame = new.drop(columns="label").astype({"age": object})
    frame.loc[3, "age"] = "old"
    write_csv(frame, tmp_path / "text_age.csv")
    assert cli.main(["predict", str(table_run), str(tmp_path / "text_age.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'age' holds text such as 'old', but the model was trained on numbers" in err[0]
    with pytest.raises(DataError, match="input column 0 holds 'old'"):
        lw.load(table_run).predict(frame)


def test_pandas_nullable_and_arrow_backed_columns_predict_as_the_plain_ones(files, table_run):
    _, _, new = files
    frame = new.drop(columns="label")
    model = lw.load(table_run)
    expected = model.predict_proba(frame)
    nullable = frame.astype({"rooms": "Int64", "age": "Float64", "city": "string", "plan": "string"})
    assert nullable["plan"].isna().any()
    np.testing.assert_array_equal(model.predict_proba(nullable), expected)
    import pyarrow as pa

    np.testing.assert_array_equal(model.predict_proba(pa.Table.from_pandas(frame)), expected)
    np.testing.assert_array_equal(model.predict_proba({name: frame[name].to_numpy() for name in frame}), expected)
