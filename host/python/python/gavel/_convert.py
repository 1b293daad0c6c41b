"""Python values to and from the JSON gavel reads and writes."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping


def _plain(value: Any) -> Any:
    """A JSON-ready copy of ``value``: numpy and pandas scalars and arrays
    become Python ones, and missing values (NaN, NaT, None) become null."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (os.PathLike,)):
        return os.fspath(value)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return _plain(tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return _plain(item())
    isoformat = getattr(value, "isoformat", None)  # datetimes, pandas Timestamps
    if callable(isoformat):
        try:
            return isoformat()
        except ValueError:  # NaT
            return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def dumps(value: Any) -> str:
    """JSON for ``value`` (used for an agent function's answers too)."""
    return json.dumps(_plain(value), ensure_ascii=False, allow_nan=False)


def records(data: Any) -> Iterable[Mapping[str, Any]]:
    """The rows of a pandas DataFrame or a sequence of mappings."""
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and hasattr(data, "columns"):
        frame_rows: Iterable[Mapping[str, Any]] = to_dict(orient="records")
        return frame_rows
    if isinstance(data, (str, bytes, Mapping)) or not hasattr(data, "__iter__"):
        raise TypeError(
            "data must be a pandas DataFrame, a list of dicts, or a path to a "
            f".jsonl, .json, .csv or .parquet file, not {type(data).__name__}"
        )
    sequence: Iterable[Mapping[str, Any]] = data
    return sequence


def write_jsonl(data: Any, path: Path) -> int:
    """Writes the rows of ``data`` to ``path``, one JSON object per line.
    Missing values in a DataFrame (NaN) are left out, as absent fields."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, row in enumerate(records(data)):
            if not isinstance(row, Mapping):
                raise TypeError(f"row {i + 1} is a {type(row).__name__}, not a mapping of fields")
            fields = {str(k): _plain(v) for k, v in row.items()}
            fields = {k: v for k, v in fields.items() if v is not None}
            out.write(json.dumps(fields, ensure_ascii=False, allow_nan=False))
            out.write("\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
