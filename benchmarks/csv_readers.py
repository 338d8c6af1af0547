"""Read time and peak memory of pyarrow's and pandas' CSV readers on a 200,000-row mixed table.

The table has 6 numeric columns (5 % empty fields), 3 text columns, an integer
column and a text label (11 columns, about 15 MB). Each reader runs in a fresh
process, twice; the peak is the resident-set high-water mark during the read
above the level after importing the library (Linux: ``/proc/self/status``).

    python -m benchmarks.csv_readers
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READERS = {
    "pyarrow, every column as text (layerwise)":
        ("import pyarrow as pa\nfrom pyarrow import csv",
         "csv.read_csv(PATH, convert_options=csv.ConvertOptions(column_types=dict.fromkeys(NAMES, pa.string())))"),
    "pyarrow, its own types": ("from pyarrow import csv", "csv.read_csv(PATH)"),
    "pandas, every column as text": ("import pandas as pd", "pd.read_csv(PATH, dtype=str, keep_default_na=False)"),
    "pandas, its own types": ("import pandas as pd", "pd.read_csv(PATH)"),
}


def write_table(path: Path, m: int = 200_000) -> None:
    rng = np.random.default_rng(0)
    columns = {}
    for j in range(6):
        values = rng.standard_normal(m).round(6).astype(str).astype(object)
        values[rng.random(m) < 0.05] = ""
        columns[f"x{j}"] = values
    for j in range(3):
        columns[f"c{j}"] = rng.choice(["red", "green", "blue", "teal", "plum"], m)
    columns["n"] = rng.integers(0, 100, m).astype(str)
    columns["y"] = rng.choice(["yes", "no"], m)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(",".join(columns) + "\n")
        stream.writelines(",".join(row) + "\n" for row in zip(*columns.values()))


def _status(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as stream:
        return next(int(line.split()[1]) for line in stream if line.startswith(key))


def measure_one(name: str, path: str) -> str:
    setup, read = READERS[name]
    scope = {"PATH": path, "NAMES": open(path, encoding="utf-8").readline().strip().split(",")}
    exec(setup, scope)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as stream:
        stream.write("5")  # reset the high-water mark
    base = _status("VmRSS:")
    began = time.perf_counter()
    exec(read, scope)
    return f"{time.perf_counter() - began:.2f} s, peak +{(_status('VmHWM:') - base) / 1024:.0f} MB"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        write_table(path)
        print(f"{path.stat().st_size / 1e6:.1f} MB, 200,000 rows x 11 columns")
        for name in READERS:
            runs = [subprocess.run([sys.executable, "-m", "benchmarks.csv_readers", name, str(path)],
                                   capture_output=True, text=True, check=True).stdout.strip() for _ in range(2)]
            print(f"{name:<45} {' | '.join(runs)}")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(measure_one(sys.argv[1], sys.argv[2]))
    else:
        main()
