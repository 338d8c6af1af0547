"""Data: the bundled data sets, CSV / NPZ / NPY tables, IDX files and the MNIST download."""
