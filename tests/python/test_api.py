"""gavel's Python API against a real judge LLM on 127.0.0.1: DataFrames,
lists and files in, the CLI's results out; callable agents; gavel.judge;
errors; Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import gavel
from conftest import WORKSPACE, verdict

SAFETY = "response/llm_judged/safety/rating/percentage"
CORRECTNESS = "response/llm_judged/correctness/rating/percentage"
OVERALL = "response/overall_assessment/rating/percentage"

ROWS = [
    {"request_id": "r1", "request": "What is 2+2?", "response": "4", "expected_response": "4"},
    {"request_id": "r2", "request": "Capital of France?", "response": "Lyon", "expected_response": "Paris"},
    {"request_id": "r3", "request": "Say hi", "response": "Hi!"},
]


def wrong_about_lyon(body):
    prompt = json.dumps(body["messages"])
    return verdict("no", "Lyon is not the capital.") if "Lyon" in prompt else verdict("yes", "Fine.")


def test_a_dataframe_in_gives_the_metrics_and_result_table_out(llm, tmp_path):
    llm.script = wrong_about_lyon
    result = gavel.evaluate(
        pd.DataFrame(ROWS),
        judges=["safety", "correctness"],
        judge_base_url=llm.base_url,
        out=tmp_path / "run",
        run_name="from-pandas",
        cache=False,
        progress=False,
    )
    assert result.status == "finished"
    assert result.metrics[SAFETY] == pytest.approx(2 / 3)
    assert result.metrics[CORRECTNESS] == pytest.approx(0.5)  # r3 has no expected response
    table = result.tables["eval_results"]
    assert list(table["request_id"]) == ["r1", "r2", "r3"]
    assert list(table["response/llm_judged/correctness/rating"][:2]) == ["yes", "no"]
    assert pd.isna(table["response/llm_judged/correctness/rating"][2])
    assert "response/llm_judged/safety/rationale" in table.columns
    assert (result.run_dir / "report.html").exists()
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["name"] == "from-pandas"
    assert json.loads((result.run_dir / "metrics.json").read_text()) == result.metrics


def test_lists_files_and_dataframes_give_the_same_results_as_the_cli(llm, tmp_path):
    llm.script = wrong_about_lyon
    data = tmp_path / "set.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    common = dict(judges=["safety", "correctness"], judge_base_url=llm.base_url, progress=False)
    from_list = gavel.evaluate(ROWS, out=tmp_path / "list", **common)
    from_path = gavel.evaluate(data, out=tmp_path / "path", **common)
    gavel_bin = WORKSPACE / os.environ.get("GAVEL_BIN", "target/debug/gavel")
    cli = subprocess.run(
        [str(gavel_bin), "eval", str(data), "--judges", "safety,correctness", "--out", str(tmp_path / "cli"),
         "--judge-base-url", llm.base_url],
        capture_output=True, text=True,
    )
    assert cli.returncode == 0, cli.stderr
    cli_metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    timing = ("latency", "seconds")
    def comparable(metrics):
        return {k: v for k, v in metrics.items() if not any(t in k for t in timing)}
    assert comparable(from_list.metrics) == comparable(from_path.metrics) == comparable(cli_metrics)
    def judged(rows):
        return [{k: v for k, v in row.items() if "llm_judged" in k and "rating" in k} for row in rows]
    cli_rows = [json.loads(line) for line in (tmp_path / "cli" / "eval_results.jsonl").read_text().splitlines()]
    assert judged(from_list.rows) == judged(from_path.rows) == judged(cli_rows)


def test_a_callable_agent_answers_rows_concurrently_and_its_exceptions_mark_rows(llm, tmp_path):
    in_flight, peak, lock = [0], [0], threading.Lock()

    def agent(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            time.sleep(0.3)  # a slow application
            question = request["messages"][-1]["content"]
            if question == "boom":
                raise ValueError("the application broke")
            if question == "dict please":
                return {"response": "From a dict.", "retrieved_context": [{"content": "A chunk.", "doc_uri": "d1"}]}
            return f"An answer to: {question}"
        finally:
            with lock:
                in_flight[0] -= 1

    rows = [{"request_id": f"r{i}", "request": f"question {i}"} for i in range(8)]
    rows += [
        {"request_id": "r-boom", "request": "boom"},
        # A chat request, as the reference's evaluation sets hold them.
        {"request_id": "r-dict", "request": {"messages": [{"role": "user", "content": "dict please"}]}},
    ]
    started = time.monotonic()
    result = gavel.evaluate(
        rows, agent=agent, agent_concurrency=4, judges=["safety"], judge_base_url=llm.base_url,
        out=tmp_path / "run", progress=False,
    )
    elapsed = time.monotonic() - started
    assert peak[0] == 4, "called from worker threads, up to agent_concurrency at a time"
    assert elapsed < 10 * 0.3, f"{elapsed:.1f} s: the calls did not overlap"
    by_id = {row["request_id"]: row for row in result.rows}
    assert by_id["r3"]["response"] == "An answer to: question 3"
    assert by_id["r-dict"]["response"] == "From a dict."
    assert by_id["r-dict"]["retrieved_context"][0]["doc_uri"] == "d1"
    assert by_id["r-boom"]["agent/error_message"] == "ValueError: the application broke"
    assert "response/llm_judged/safety/rating" not in by_id["r-boom"]
    assert result.metrics[SAFETY] == 1.0
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["agent"]["function"].endswith("agent")


def test_judge_returns_an_assessment(llm):
    llm.script = lambda body: verdict("no", "It claims the moon is cheese.")
    assessment = gavel.judge(
        "correctness", request="What is the moon made of?", response="Cheese.",
        expected_response="Rock.", judge_base_url=llm.base_url, cache=False,
    )
    assert isinstance(assessment, gavel.Assessment)
    assert (assessment.judge, assessment.rating, assessment.error) == ("correctness", "no", None)
    assert assessment.rationale == "It claims the moon is cheese."

    llm.script = lambda body: verdict("yes", "Relevant.")
    chunks = gavel.judge(
        "chunk_relevance", request="Moon?", retrieved_context=[{"content": "The moon is rock."}, {"content": "Rock."}],
        judge_base_url=llm.base_url, cache=False,
    )
    assert [c.rating for c in chunks.chunks] == ["yes", "yes"]
    assert chunks.precision == 1.0

    with pytest.raises(gavel.InputError, match="judge 'correctness' needs more inputs: pass .*expected_response="):
        gavel.judge("correctness", request="q", response="a", judge_base_url=llm.base_url)
    with pytest.raises(gavel.InputError, match="no judge named 'nonsense'"):
        gavel.judge("nonsense", request="q", response="a", judge_base_url=llm.base_url)


def test_bad_input_raises_with_the_clis_messages(llm, tmp_path):
    data = tmp_path / "broken.jsonl"
    data.write_text('{"request": "fine", "response": "ok"}\n{"request": 3}\n')
    with pytest.raises(gavel.InputError, match=r"broken\.jsonl.*line 2"):
        gavel.evaluate(data, judge_base_url=llm.base_url, progress=False)
    with pytest.raises(gavel.InputError, match="unknown field `judgez`"):
        gavel.evaluate(ROWS, config={"judgez": {}}, judge_base_url=llm.base_url, progress=False)
    with pytest.raises(gavel.InputError, match="no judge or metric named 'nonsense'|nonsense"):
        gavel.evaluate(ROWS, judges=["nonsense"], judge_base_url=llm.base_url, progress=False)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        gavel.evaluate(42, judge_base_url=llm.base_url)
    with pytest.raises(gavel.RunError, match="every judgment failed"):
        llm.script = lambda body: "not a verdict at all"
        gavel.evaluate(ROWS, judges=["safety"], judge_base_url=llm.base_url, cache=False, progress=False)
    assert issubclass(gavel.InputError, gavel.GavelError)


def test_a_config_dict_defines_prompt_judges(llm, tmp_path):
    llm.script = lambda body: json.dumps({"rationale": "Polite enough.", "result": 4})
    config = {"judges": {"polite": {"prompt": "Is this polite, 1-5? {{response}}", "threshold": 3}}}
    result = gavel.evaluate(ROWS, config=config, judges=["polite"], judge_base_url=llm.base_url,
                            cache=False, progress=False)
    assert result.metrics["response/llm_judged/polite/rating/percentage"] == 1.0
    assert list(result.tables["eval_results"]["response/llm_judged/polite/score"]) == [4, 4, 4]


def test_ctrl_c_stops_the_run_keeping_finished_rows(llm, tmp_path):
    # Python's own Ctrl-C handler, as in a terminal or a notebook (a process
    # started in the background, as CI may be, inherits SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_stops_the_run(llm, tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_stops_the_run(llm, tmp_path):
    llm.delay = 0.5
    rows = [{"request_id": f"r{i}", "request": f"q{i}", "response": "a"} for i in range(400)]
    seen = []
    threading.Timer(2.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(gavel.Interrupted) as stopped:
        gavel.evaluate(rows, judges=["safety"], judge_base_url=llm.base_url, out=tmp_path / "run",
                       cache=False, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert "they are kept" in str(stopped.value)
    # The message says how to continue, from an input that still exists.
    resume = str(stopped.value).split("Continue with: ")[1].split()
    assert Path(resume[2]).exists()
    result = stopped.value.result
    assert result.status == "interrupted"
    kept = result.rows
    assert 0 < len(kept) < 400
    assert all(row["response/llm_judged/safety/rating"] == "yes" for row in kept)
    assert seen and seen[-1][1] == 400, "progress was reported with the total"


def test_the_notebook_example_runs(llm, tmp_path):
    """examples/notebook.py, as a script, against the test judge server."""
    env = dict(os.environ, JUDGE_BASE_URL=llm.base_url)
    ran = subprocess.run(
        [sys.executable, str(WORKSPACE / "examples" / "notebook.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert "report:" in ran.stdout
    runs = list((tmp_path / "gavel-runs").iterdir())
    assert len(runs) == 2


def test_a_callable_past_its_timeout_marks_its_row_once(llm, tmp_path):
    calls = []

    def stuck(request):
        calls.append(request)
        time.sleep(1.5)
        return "too late"

    with pytest.raises(gavel.RunError, match="the agent failed on every row") as failed:
        gavel.evaluate(
            [{"request_id": "slow", "request": "q"}], agent=stuck, agent_timeout=0.3, judges=["safety"],
            judge_base_url=llm.base_url, out=tmp_path / "run", progress=False,
        )
    row = failed.value.result.rows[0]
    assert "gave no answer within 0.3 s" in row["agent/error_message"]
    assert "stuck" in row["agent/error_message"]
    assert len(calls) == 1, "a function past its timeout is not called again"
