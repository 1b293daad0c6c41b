"""Writes the Parquet evaluation sets tests/parquet.rs runs gavel on, as
pandas and pyarrow write them (Spark writes the same Parquet types: lists of
structs, snappy by default):

    python sets.py DIR

- rag.parquet: DataFrame.to_parquet (snappy): a list<struct<content, doc_uri>>
  retrieved_context, named guideline groups (a struct pandas gives every
  row's names, as nulls where a row lacks one), a null response, a
  categorical, a float with NaN, a UTC timestamp and a non-default index;
  rag.jsonl: the same rows as gavel reads them from JSON.
- chat_zstd.parquet, chat_gzip.parquet: pyarrow tables whose request is a
  chat request (a struct of a list of message structs), in row groups of 7.
- binary.parquet, bad_field.parquet, brotli.parquet: bad input.
"""

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

out = Path(sys.argv[1])

rag_rows = [
    {
        "request_id": "r1",
        "request": "ROW1 What is the difference between reduceByKey and groupByKey?",
        "response": "reduceByKey combines before the shuffle.",
        "expected_response": "reduceByKey aggregates before shuffling.",
        "retrieved_context": [{"content": "reduceByKey merges values before shuffling.", "doc_uri": "doc_1"}],
        "expected_retrieved_context": [{"content": None, "doc_uri": "doc_1"}, {"content": None, "doc_uri": "doc_2"}],
        "guidelines": {"tone": ["Be concise"]},
        "expected_facts": ["reduceByKey combines locally"],
    },
    {
        "request_id": "r2",
        "request": "ROW2 What is MLflow?",
        "response": "MLflow manages the ML lifecycle.",
        "expected_response": None,
        "retrieved_context": [
            {"content": "MLflow is an ML lifecycle platform.", "doc_uri": "doc_3"},
            {"content": "Bananas are yellow.", "doc_uri": "doc_4"},
        ],
        "expected_retrieved_context": None,
        "guidelines": {"english": ["Answer in English"]},
        "expected_facts": None,
    },
    {
        "request_id": "r3",
        "request": "ROW3 Say hello.",
        "response": None,
        "expected_response": None,
        "retrieved_context": None,
        "expected_retrieved_context": None,
        "guidelines": None,
        "expected_facts": None,
    },
]
frame = pd.DataFrame(rag_rows)
frame["topic"] = pd.Categorical(["spark", "mlflow", "spark"])
frame["weight"] = [0.5, float("nan"), 2.0]
frame["asked_at"] = pd.to_datetime(["2024-02-29T01:00:00Z", "2024-03-01T12:30:00.250Z", None], utc=True, format="ISO8601")
frame.index = [10, 11, 12]
frame.to_parquet(out / "rag.parquet")


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


with open(out / "rag.jsonl", "w") as f:
    for row in rag_rows:
        f.write(json.dumps(without_nulls(row)) + "\n")

message = pa.struct([("role", pa.string()), ("content", pa.string())])
chat_schema = pa.schema(
    [
        ("request_id", pa.int64()),
        ("request", pa.struct([("messages", pa.list_(message))])),
        ("response", pa.string()),
    ]
)
chat_rows = [
    {
        "request_id": i,
        "request": {
            "messages": [
                {"role": "system", "content": "You answer questions about Spark."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello, how can I help?"},
                {"role": "user", "content": f"ROW{i}: what is {i} + {i}?"},
            ]
        },
        "response": str(2 * i),
    }
    for i in range(30)
]
chat = pa.Table.from_pylist(chat_rows, schema=chat_schema)
pq.write_table(chat, out / "chat_zstd.parquet", compression="zstd", row_group_size=7)
pq.write_table(chat, out / "chat_gzip.parquet", compression="gzip", row_group_size=7)

binary = pa.table({"request": ["q1", "q2"], "blob": pa.array([None, b"\x00\x01"], pa.binary())})
pq.write_table(binary, out / "binary.parquet")

chunk = pa.struct([("content", pa.int64()), ("doc_uri", pa.string())])
bad_field = pa.table(
    {
        "request": ["q1", "q2"],
        "response": ["a1", "a2"],
        "retrieved_context": pa.array([None, [{"content": 5, "doc_uri": "d"}]], pa.list_(chunk)),
    }
)
pq.write_table(bad_field, out / "bad_field.parquet")

pq.write_table(pa.table({"request": ["q1"]}), out / "brotli.parquet", compression="brotli")
