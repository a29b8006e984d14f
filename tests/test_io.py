"""read_table: CSV and Parquet into checked numeric frames."""

from __future__ import annotations

import pandas as pd
import pytest

from descend import read_table
from descend.errors import DataError, InvalidArgument


def _csv(tmp_path, text):
    p = tmp_path / "t.csv"
    p.write_text(text)
    return p


def test_csv_and_parquet_round_trip(tmp_path):
    p = _csv(tmp_path, "a,b,y\n1,2,3\n4,5,6\n")
    X, y = read_table(p, "y")
    assert X.columns.tolist() == ["a", "b"] and y.tolist() == [3.0, 6.0]
    q = tmp_path / "t.parquet"
    pd.read_csv(p).to_parquet(q)
    X2, y2 = read_table(q, "y", features=["b"])
    assert X2.columns.tolist() == ["b"] and y2.tolist() == [3.0, 6.0]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,y\n1,2\n1e400,3\n", "column 'a' contains inf .* row 1"),
        ("a,y\n1,2\n,3\n4,5\n", "column 'a' contains NaN .* row 1"),
        ("a,y\n1,2\nfoo,3\n", "column 'a' is not numeric.*row 1.*'foo'"),
        ("a,y\n1,2\n2,nan\n", "column 'y' contains NaN"),
        ("a,y\n", "no data rows"),
    ],
)
def test_bad_values_name_column_and_rows(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_table(_csv(tmp_path, text), "y")


def test_missing_things_are_named(tmp_path):
    p = _csv(tmp_path, "a,y\n1,2\n")
    with pytest.raises(InvalidArgument, match="no such file"):
        read_table(tmp_path / "nope.csv", "y")
    with pytest.raises(InvalidArgument, match="target: no column 'z'"):
        read_table(p, "z")
    with pytest.raises(InvalidArgument, match="features: no column 'b'"):
        read_table(p, "y", features=["b"])
    with pytest.raises(InvalidArgument, match=r"\.csv or \.parquet"):
        read_table(_txt(tmp_path), "y")


def _txt(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a,y\n1,2\n")
    return p
