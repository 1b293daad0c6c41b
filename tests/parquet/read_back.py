"""Reads a run directory's eval_results.parquet back with pyarrow and pandas
and prints, as JSON, what tests/parquet.rs checks:

    python read_back.py RUN_DIR

- types: each column's Arrow type, as pyarrow shows it;
- dtypes: each column's pandas dtype;
- rows: the rows (pyarrow's to_pylist) with null struct fields left out,
  since a Parquet struct has every key any row has;
- lists: for each column of lists of strings, pandas' values as lists.
"""

import json
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

path = sys.argv[1] + "/eval_results.parquet"
table = pq.read_table(path)
frame = pd.read_parquet(path)


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


lists = {
    field.name: [None if v is None else [str(x) for x in v] for v in frame[field.name]]
    for field in table.schema
    if pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type)
}
print(
    json.dumps(
        {
            "types": {field.name: str(field.type) for field in table.schema},
            "dtypes": {name: str(dtype) for name, dtype in frame.dtypes.items()},
            "rows": [without_nulls(row) for row in table.to_pylist()],
            "lists": lists,
        }
    )
)
