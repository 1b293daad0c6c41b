"""gavel.spark in local mode (local[2]) against the test judge LLM on
127.0.0.1: the same metrics and rows as a single run and as the CLI, the
input order and request ids across partitions, global limits held across
tasks, invalid rows, an HTTP agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any, Dict, List

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from pyspark.sql import SparkSession  # noqa: E402

import gavel  # noqa: E402
import gavel.spark  # noqa: E402
from conftest import WORKSPACE, TestLlm, verdict  # noqa: E402

JUDGES = ["safety", "correctness", "chunk_relevance", "polite", "exact_match", "token_count"]


@pytest.fixture(scope="module")
def spark():
    # The executors' Python is this one, with gavel installed (PySpark
    # reads it when the session starts).
    previous = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("gavel-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if previous is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = previous


def without_nulls(value: Any) -> Any:
    """A result value with null fields left out: Spark gives every row
    every column, a result line only those it has."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def present(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def rag_rows() -> List[Dict[str, Any]]:
    """Rows with and without request ids, ground truth and nested chunks."""
    rows = []
    for i in range(12):
        row: Dict[str, Any] = {
            "request_id": f"q{i}" if i % 3 else None,
            "request": f"Where is the Louvre? ({i})",
            "response": "Lyon" if i % 4 == 0 else "Paris",
            "expected_response": "Paris" if i % 2 else None,
            "retrieved_context": [
                {"content": f"The Louvre is in Paris ({i}).", "doc_uri": f"docs/{i}.md"},
                {"content": "Lyon is a city."} if i % 5 else {"content": "Lyon is a city.", "doc_uri": "docs/lyon.md"},
            ],
        }
        rows.append(row)
    return rows


def wrong_about_lyon(body: Dict[str, Any]) -> str:
    prompt = json.dumps(body["messages"])
    if "polite" in prompt:
        return json.dumps({"rationale": "Polite enough.", "result": 2 if "Lyon" in prompt else 4})
    return verdict("no", "Lyon is wrong.") if "Lyon" in prompt else verdict("yes", "Fine.")


def test_metrics_and_rows_equal_a_single_run_and_the_cli(spark, llm, tmp_path):
    llm.script = wrong_about_lyon
    # A gavel.toml with a file beside it: the tasks run elsewhere.
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "examples.jsonl").write_text(
        json.dumps({"request": "2+2?", "response": "4", "expected_response": "4", "rating": "yes",
                    "rationale": "Right."}) + "\n"
    )
    config = tmp_path / "conf" / "gavel.toml"
    config.write_text(
        '[judges.correctness]\nexamples = "examples.jsonl"\n\n'
        '[judges.polite]\nprompt = "Is this polite, 1-5? {{response}}"\nthreshold = 3\n'
    )
    rows = rag_rows()
    data = tmp_path / "set.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in present(rows)))
    common = dict(config=config, judges=JUDGES, judge_base_url=llm.base_url)

    result = gavel.spark.evaluate(spark.createDataFrame(rows), out=tmp_path / "spark", run_name="on-spark", **common)
    single = gavel.evaluate(present(rows), out=tmp_path / "single", progress=False, **common)
    gavel_bin = WORKSPACE / os.environ.get("GAVEL_BIN", "target/debug/gavel")
    cli = subprocess.run(
        [str(gavel_bin), "eval", str(data), "--config", str(config), "--judges", ",".join(JUDGES),
         "--out", str(tmp_path / "cli"), "--judge-base-url", llm.base_url],
        capture_output=True, text=True,
    )
    assert cli.returncode == 0, cli.stderr
    cli_metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    cli_rows = [json.loads(line) for line in (tmp_path / "cli" / "eval_results.jsonl").read_text().splitlines()]

    assert result.metrics == single.metrics == cli_metrics
    assert result.metrics["response/llm_judged/safety/rating/percentage"] == pytest.approx(9 / 12)
    assert result.metrics["response/llm_judged/polite/rating/percentage"] == pytest.approx(9 / 12)
    assert result.rows == single.rows
    def judged(rows):
        return [{k: v for k, v in row.items() if "judged" in k or k == "request_id"} for row in rows]
    assert judged(result.rows) == judged(cli_rows)
    assert [row["request_id"] for row in result.rows][:4] == ["0", "q1", "q2", "3"]

    # The Spark DataFrame: the result lines, typed, nested chunks kept.
    table = result.results
    assert table.columns == list(dict.fromkeys(k for row in single.rows for k in row))
    collected = [row.asDict(recursive=True) for row in table.collect()]
    assert [without_nulls(row) for row in collected] == [without_nulls(row) for row in single.rows]
    assert collected[0]["retrieved_context"][0]["doc_uri"] == "docs/0.md"
    assert dict(table.dtypes)["retrieval/llm_judged/chunk_relevance/precision"] == "double"

    # The merged run directory reads as any run's.
    assert json.loads((result.run_dir / "metrics.json").read_text()) == result.metrics
    run = json.loads((result.run_dir / "run.json").read_text())
    assert (run["name"], run["rows"], run["status"]) == ("on-spark", 12, "finished")
    assert run["config"] == str(config)
    assert run["sessions"][0]["llm_calls_sent"] + run["sessions"][0]["llm_calls_cached"] == sum(
        v for k, v in result.metrics.items() if k.endswith("/llm_call_count") and k != "judge/llm_call_count"
    )
    assert result.report.exists()


def test_the_endpoint_limit_is_global_across_tasks(spark, llm, tmp_path):
    llm.delay = 0.25
    rows = [{"request_id": f"r{i}", "request": f"q{i}", "response": "a"} for i in range(24)]
    df = spark.createDataFrame(rows)
    assert df.rdd.getNumPartitions() == 2
    # judge_base_url moves the endpoint; its limit stays.
    config = {"endpoints": {"judge": {"base_url": "http://unused.invalid/v1", "model": "m", "max_concurrency": 4}}}
    result = gavel.spark.evaluate(
        df, config=config, judges=["safety"], judge_base_url=llm.base_url, cache=False, out=tmp_path / "run",
        history=False,
    )
    assert len(llm.requests) == 24
    # Both tasks ran at once (each alone allows 2), together within 4; each
    # with the whole limit would have had 8 in flight.
    assert 2 < llm.peak <= 4
    assert (result.limits.tasks_at_once, result.limits.task_endpoints["judge"].max_concurrency) == (2, 2)
    assert result.metrics["response/llm_judged/safety/rating/percentage"] == 1.0


def test_a_limit_below_the_parallelism_runs_fewer_tasks(spark, llm, tmp_path):
    llm.delay = 0.05
    rows = [{"request": f"q{i}", "response": "a"} for i in range(6)]
    config = {"endpoints": {"judge": {"base_url": llm.base_url, "model": "m", "max_concurrency": 1}}}
    result = gavel.spark.evaluate(
        spark.createDataFrame(rows), config=config, judges=["safety"], cache=False, out=tmp_path / "run",
    )
    assert (result.limits.partitions, result.limits.tasks_at_once) == (1, 1)
    assert llm.peak == 1
    assert [row["request_id"] for row in result.rows] == [str(i) for i in range(6)]


def test_results_keep_the_input_order_and_ids_across_partitions(spark, tmp_path):
    rows = [
        {"n": i, "request": f"q{i}", "response": "a" if i % 2 else "b", "expected_response": "a",
         "request_id": f"id-{i}" if i % 5 == 0 else None}
        for i in range(40)
    ]
    schema = "n long, request string, response string, expected_response string, request_id string"
    df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 4), schema)
    result = gavel.spark.evaluate(df, judges=["exact_match"], out=tmp_path / "run", history=False)
    single = gavel.evaluate(present(rows), judges=["exact_match"], out=tmp_path / "single", progress=False)
    expected_ids = [f"id-{i}" if i % 5 == 0 else str(i) for i in range(40)]
    assert result.limits.partitions == 4
    collected = result.results.select("n", "request_id").collect()
    assert [row["request_id"] for row in collected] == expected_ids
    assert [row["n"] for row in collected] == list(range(40))
    assert result.rows == single.rows
    assert result.metrics == single.metrics
    assert result.metrics["response/exact_match/rating/percentage"] == 0.5


def test_invalid_rows_stop_the_run_before_any_call_or_become_error_rows(spark, llm, tmp_path):
    rows = [{"request_id": f"r{i}", "request": None if i == 7 else f"q{i}", "response": "a"} for i in range(10)]
    df = spark.createDataFrame(rows, "request_id string, request string, response string")
    stopped = r"1 invalid row \(nothing was evaluated.*\n  DataFrame, row 8, field `request`: is required"
    with pytest.raises(gavel.InputError, match=stopped):
        gavel.spark.evaluate(df, judges=["safety"], judge_base_url=llm.base_url, out=tmp_path / "stopped")
    assert llm.requests == []
    result = gavel.spark.evaluate(
        df, judges=["safety"], judge_base_url=llm.base_url, skip_invalid=True, out=tmp_path / "run"
    )
    single = gavel.evaluate(
        present(rows), judges=["safety"], judge_base_url=llm.base_url, skip_invalid=True, progress=False,
        out=tmp_path / "single",
    )
    assert result.metrics == single.metrics
    assert result.rows[7]["error_message"] == "DataFrame, row 8, field `request`: is required"
    assert single.rows[7]["error_message"].endswith(", line 8, field `request`: is required")
    assert json.loads((result.run_dir / "run.json").read_text())["invalid_rows"] == 1


def test_an_http_agent_answers_within_its_global_limit(spark, llm, tmp_path):
    agent = TestLlm()
    try:
        agent.delay = 0.2
        agent.script = lambda body: f"An answer to {body['messages'][-1]['content']}."
        rows = [{"request_id": f"r{i}", "request": f"question {i}"} for i in range(8)]
        common = dict(agent=agent.base_url + "/chat/completions", agent_concurrency=2, judges=["safety"],
                      judge_base_url=llm.base_url)
        result = gavel.spark.evaluate(spark.createDataFrame(rows), out=tmp_path / "run", **common)
        assert result.limits.task_agent_concurrency == 1
        assert agent.peak <= 2
        single = gavel.evaluate(rows, out=tmp_path / "single", progress=False, **common)
    finally:
        agent.close()
    assert result.rows[3]["response"] == "An answer to question 3."
    def untimed(values):
        return {k: v for k, v in values.items() if "latency" not in k}
    assert [untimed(row) for row in result.rows] == [untimed(row) for row in single.rows]
    assert untimed(result.metrics) == untimed(single.metrics)


def test_a_task_that_cannot_finish_raises_gavels_error(spark, tmp_path):
    config = {"endpoints": {"judge": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "max_retries": 0,
                                      "failures_before_stop": 1}}}
    rows = [{"request": f"q{i}", "response": "a"} for i in range(4)]
    with pytest.raises(gavel.RunError, match=r"endpoint 'judge' .* is down: .*\(partition \d of the DataFrame\)$"):
        gavel.spark.evaluate(spark.createDataFrame(rows), config=config, judges=["safety"], cache=False,
                             out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_callable_agent_must_be_picklable(spark, tmp_path):
    lock = threading.Lock()

    def agent(request):
        with lock:
            return "An answer."

    rows = [{"request": "q"}]
    with pytest.raises(TypeError, match="must be picklable"):
        gavel.spark.evaluate(spark.createDataFrame(rows), agent=agent, judges=["token_count"], out=tmp_path / "run")
