"""Steps that encode table columns: selection by name, one-hot text, median imputation.

A model trained on a table (CSV or Parquet) starts its input steps with

1. :class:`Columns`: the training columns, matched by name when the input
   has names (a pandas DataFrame, a pyarrow Table, a mapping of name to
   column), in order otherwise; other columns (the target among them) are
   ignored, a missing one is an error naming it;
2. :class:`OneHot` (when a column holds text): the numeric columns first,
   then one 0/1 column per category of each text column, the categories
   found by scikit-learn's ``OneHotEncoder(handle_unknown="ignore")`` (a
   missing value is a category of its own when training saw one; an unseen
   category is all zeros);
3. :class:`Impute`: each missing number replaced by its column's training
   median, and a 0/1 missing-indicator column added for each column that
   had missing values in training, as scikit-learn's
   ``SimpleImputer(strategy="median", add_indicator=True)`` fits and does;

then :class:`~layerwise.preprocessing.steps.Standardize` on the numbers and
indicators (one-hot columns pass through), as ``StandardScaler`` would.
Categories, medians and indicator columns are stored as data (JSON lists and
float64 tensors); the transforms here are NumPy code, so prediction needs
no fitted scikit-learn object.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ConfigError, DataError
from .steps import Standardize, Step


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _floats(X: np.ndarray, what: str, columns=None) -> np.ndarray:
    """``X`` as float64 (None becomes NaN); a DataError names the first column (of ``columns``) that is not numbers."""
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        X = np.asarray(X, dtype=object)
        for j in range(X.shape[1]):
            for value in X[:, j]:
                try:
                    float(np.nan if value is None else value)
                except (TypeError, ValueError):
                    k = j if columns is None else columns[j]
                    raise DataError(f"{what} must be numbers (NaN or None where missing), but input column {k} "
                                    f"holds {value!r}") from None
        raise


def _matrix(X, step: Step) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"the {step.name} preprocessing step expects a 2-D table (rows, columns), received shape "
                        f"{X.shape}")
    step._check_width(X, "feature")
    return X


class Columns(Step):
    """Select the training columns, by name from a named table or in order from an array.

    Parameters
    ----------
    names : list of str
        The training feature columns, in the order the next steps take them.
    """

    name = "columns"

    def __init__(self, names):
        names = list(names)
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise ConfigError(f"columns needs distinct column names, received {names!r}")
        self.names = names
        self.n_in = self.n_out = len(names)

    def transform(self, X) -> np.ndarray:
        table = _named(X)
        if table is None:
            return _matrix(X, self)
        missing = [name for name in self.names if name not in table]
        if missing:
            raise DataError(f"the input has no column {missing[0]!r}"
                            f"{f' (nor {len(missing) - 1} more)' if len(missing) > 1 else ''}; the model takes the "
                            f"columns {', '.join(self.names)}")
        columns = [np.asarray(table[name]).reshape(-1) for name in self.names]
        if len({len(column) for column in columns}) != 1:
            raise DataError("the input's columns have different lengths")
        if all(column.dtype.kind in "biuf" for column in columns):
            return np.column_stack(columns).astype(np.float64)
        out = np.empty((len(columns[0]), len(columns)), dtype=object)
        for k, column in enumerate(columns):
            out[:, k] = column
        return out

    def output_names(self, names=None) -> list[str]:
        return list(self.names)

    def get_config(self):
        return {"names": self.names}

    @classmethod
    def from_stored(cls, config, arrays):
        return cls(config["names"])


def _named(X) -> Mapping | None:
    """A name -> column mapping for a pyarrow Table, a pandas DataFrame or a mapping; None for an array."""
    if hasattr(X, "column_names") and hasattr(X, "column"):  # pyarrow.Table
        return {name: X.column(name).to_numpy(zero_copy_only=False) for name in X.column_names}
    if hasattr(X, "columns") and hasattr(X, "to_numpy") and hasattr(X, "iloc"):  # pandas.DataFrame
        return {str(name): _pandas_column(X[name]) for name in X.columns}
    if isinstance(X, Mapping):
        return X
    return None


def _pandas_column(series) -> np.ndarray:
    """Numbers as float64 (NaN where missing), anything else as objects (None where missing), any pandas dtype."""
    if series.dtype.kind in "biuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy(dtype=object, na_value=None)


class OneHot(Step):
    """Numeric columns first, then one 0/1 column per category of each text column.

    Parameters
    ----------
    n_in : int
        Number of input columns.
    columns : list of int
        The text columns, increasing.
    categories : list of list
        Per text column, its categories (str, or None for "missing") in output order.
    """

    name = "one_hot"

    def __init__(self, n_in: int, columns, categories):
        columns, categories = [int(k) for k in columns], [list(c) for c in categories]
        if (not isinstance(n_in, int) or not columns or columns != sorted(set(columns)) or columns[0] < 0
                or columns[-1] >= n_in or len(categories) != len(columns)):
            raise ConfigError(f"one_hot needs increasing text columns within {n_in} inputs and one category list "
                              f"each, received columns {columns!r}")
        for values in categories:
            if not values or len(set(values)) != len(values) or not all(v is None or isinstance(v, str)
                                                                        for v in values):
                raise ConfigError(f"one_hot categories must be distinct text values (or null), received {values!r}")
        self.n_in, self.columns, self.categories = n_in, columns, categories
        self.numeric = [k for k in range(n_in) if k not in set(columns)]
        self.n_out = len(self.numeric) + sum(len(values) for values in categories)

    @classmethod
    def fit(cls, X, columns) -> OneHot:
        """The categories of the text ``columns`` of ``X``, found by scikit-learn's OneHotEncoder."""
        from sklearn.preprocessing import OneHotEncoder

        X = np.asarray(X, dtype=object)
        text = np.array([[None if _is_missing(v) else str(v) for v in row] for row in X[:, columns]], dtype=object)
        encoder = OneHotEncoder(handle_unknown="ignore").fit(text)
        categories = [[None if _is_missing(v) else str(v) for v in values] for values in encoder.categories_]
        return cls(X.shape[1], columns, categories)

    def transform(self, X) -> np.ndarray:
        X = _matrix(X, self)
        out = np.zeros((X.shape[0], self.n_out))
        out[:, :len(self.numeric)] = _floats(X[:, self.numeric], "the numeric columns", self.numeric)
        offset = len(self.numeric)
        for k, values in zip(self.columns, self.categories):
            index = {value: i for i, value in enumerate(values)}
            codes = np.fromiter((index.get(None if _is_missing(v) else str(v), -1) for v in X[:, k]),
                                dtype=np.int64, count=X.shape[0])
            known = np.flatnonzero(codes >= 0)
            out[known, offset + codes[known]] = 1.0
            offset += len(values)
        return out

    def output_names(self, names) -> list[str]:
        named = [names[k] for k in self.numeric]
        for k, values in zip(self.columns, self.categories):
            named += [f"{names[k]}={'<missing>' if value is None else value}" for value in values]
        return named

    def get_config(self):
        return {"n_in": self.n_in, "columns": self.columns, "categories": self.categories}

    @classmethod
    def from_stored(cls, config, arrays):
        return cls(config["n_in"], config["columns"], config["categories"])


class Impute(Step):
    """Missing values of the first columns replaced by medians, with missing-indicator columns after them.

    Output: the ``len(medians)`` imputed columns, then one 0/1 column per
    entry of ``indicators`` (1 where that column was missing), then the
    remaining ``n_in - len(medians)`` input columns unchanged.

    Parameters
    ----------
    medians : array-like of shape (k,)
    indicators : list of int
        Columns (of the first k) that had missing values in training, increasing.
    n_in : int
    """

    name = "impute"

    def __init__(self, medians, indicators, n_in: int):
        medians = np.array(medians, dtype=np.float64).reshape(-1)
        indicators = [int(k) for k in np.asarray(indicators, dtype=np.float64).reshape(-1)]
        if not np.isfinite(medians).all() or not 0 < medians.size <= int(n_in):
            raise ConfigError(f"impute needs finite medians for 1 .. {n_in} columns, received {medians.size}")
        if indicators != sorted(set(indicators)) or any(not 0 <= k < medians.size for k in indicators):
            raise ConfigError(f"impute indicator columns must increase within 0 .. {medians.size - 1}, "
                              f"received {indicators}")
        medians.flags.writeable = False
        self.medians, self.indicators, self.n_in = medians, indicators, int(n_in)
        self.n_out = self.n_in + len(indicators)

    @classmethod
    def fit(cls, X, k: int, names=None) -> Impute:
        """Medians and indicator columns of the first ``k`` columns, by scikit-learn's SimpleImputer."""
        from sklearn.impute import SimpleImputer

        head = _floats(np.asarray(X)[:, :k], "the numeric columns")
        empty = np.flatnonzero(np.isnan(head).all(axis=0))
        if empty.size:
            which = names[empty[0]] if names else f"column {empty[0]}"
            raise DataError(f"the feature {which!r} has no values (every row is missing); drop the column")
        imputer = SimpleImputer(strategy="median", add_indicator=True).fit(head)
        indicators = [] if imputer.indicator_ is None else imputer.indicator_.features_.tolist()
        return cls(imputer.statistics_, indicators, np.asarray(X).shape[1])

    def transform(self, X) -> np.ndarray:
        X = _floats(_matrix(X, self), "the numeric columns")
        k = self.medians.size
        head, gap = X[:, :k].copy(), np.isnan(X[:, :k])
        head[gap] = np.broadcast_to(self.medians, head.shape)[gap]
        return np.hstack([head, gap[:, self.indicators].astype(np.float64), X[:, k:]])

    def output_names(self, names) -> list[str]:
        k = self.medians.size
        return [*names[:k], *(f"{names[j]}_missing" for j in self.indicators), *names[k:]]

    def get_config(self):
        return {"n_in": self.n_in}

    def arrays(self):
        return {"medians": self.medians, "indicators": np.asarray(self.indicators, dtype=np.float64)}

    @classmethod
    def from_stored(cls, config, arrays):
        return cls(arrays["medians"], arrays["indicators"], config["n_in"])


def fit_table(X, names=None, *, standardize: bool = True) -> list[Step]:
    """The input steps for a table's training rows ``X`` (the module notes give the order).

    Parameters
    ----------
    X : numpy.ndarray
        float64 (NaN = missing) or object (text columns hold str or None).
    names : list of str, optional
        Column names; with them the steps start with :class:`Columns`.
    standardize : bool, default True
        End with :class:`Standardize` of the numbers and indicators.
    """
    X = np.asarray(X)
    steps: list[Step] = [Columns(names)] if names else []
    text = [k for k in range(X.shape[1]) if X.dtype == object and any(isinstance(v, str) for v in X[:, k])]
    numeric = [k for k in range(X.shape[1]) if k not in text]
    if text:
        steps.append(OneHot.fit(X, text))
        X = steps[-1].transform(X)
    if numeric:
        steps.append(Impute.fit(X, len(numeric), names and [names[k] for k in numeric]))
        X = steps[-1].transform(X)
    if standardize:
        scaled = len(numeric) + (len(steps[-1].indicators) if numeric else 0)
        fitted = Standardize.fit(X[:, :scaled]) if scaled else None
        mean = np.concatenate([fitted.mean if fitted else [], np.zeros(X.shape[1] - scaled)])
        scale = np.concatenate([fitted.scale if fitted else [], np.ones(X.shape[1] - scaled)])
        steps.append(Standardize(mean, scale))
    return steps
