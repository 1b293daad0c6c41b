"""gavel from Python: evaluate LLM applications with sandboxed WebAssembly
judges, from a notebook, a script or a Spark job.

    import gavel
    result = gavel.evaluate(eval_df, agent=my_agent)
    result.metrics["response/overall_assessment/rating/percentage"]
    result.tables["eval_results"]        # a pandas DataFrame, one row per input row

The run itself is gavel's Rust library, run with the GIL released: the
same judges, results, report.html, run history and MLflow logging as
``gavel eval``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _convert, _gavel
from ._gavel import GavelError, InputError, RunError
from ._progress import Bar

__all__ = [
    "Assessment",
    "ChunkAssessment",
    "EvalResult",
    "GavelError",
    "InputError",
    "Interrupted",
    "RunError",
    "evaluate",
    "judge",
]
__version__: str = _gavel.__version__

PathLike = Union[str, "os.PathLike[str]"]
Agent = Union[Callable[[Dict[str, Any]], Any], str]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or an interrupt in a notebook) stopped the run; the rows
    finished before it are kept in ``result.run_dir``."""

    def __init__(self, message: str, result: "EvalResult") -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class EvalResult:
    """A finished run: its metrics, its results and where they are."""

    #: Every metric, by the names of metrics.json (e.g.
    #: ``response/overall_assessment/rating/percentage``).
    metrics: Dict[str, Any]
    #: The run directory: results.jsonl, metrics.json, run.json, report.html.
    run_dir: Path
    run_id: str
    #: ``finished``, ``interrupted`` or ``endpoint_down``.
    status: str
    elapsed_seconds: float
    #: The result rows' file (JSON lines, in input order).
    results_file: Path = Path()
    #: The MLflow run's URL, when logged.
    mlflow_url: Optional[str] = None
    _tables: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows(self) -> List[Dict[str, Any]]:
        """The result rows as dicts, in input order (no pandas needed)."""
        return _convert.read_jsonl(self.results_file)

    @property
    def tables(self) -> Dict[str, Any]:
        """``{"eval_results": DataFrame}``: one row per input row, in order,
        with the exact result columns (as MLflow's ``result.tables``)."""
        if "eval_results" not in self._tables:
            import pandas as pd

            rows = self.rows
            columns: Dict[str, None] = {}
            for row in rows:
                columns.update(dict.fromkeys(row))
            self._tables["eval_results"] = pd.DataFrame.from_records(rows, columns=list(columns))
        return self._tables

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"


def _config_arguments(config: Union[None, PathLike, Mapping[str, Any]]) -> Dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return {"config_json": _convert.dumps(config)}
    return {"config_path": os.fspath(config)}


def _agent_arguments(agent: Optional[Agent]) -> Dict[str, Any]:
    if agent is None:
        return {}
    if callable(agent):
        name = getattr(agent, "__qualname__", None) or type(agent).__name__
        return {"agent_function": agent, "agent_name": name}
    if isinstance(agent, str):
        if agent.startswith(("http://", "https://")):
            return {"agent_url": agent}
        return {"agent_command": agent}
    raise TypeError("agent must be a callable, a URL (http://...) or a command line")


def evaluate(
    data: Union[Any, PathLike],
    *,
    config: Union[None, PathLike, Mapping[str, Any]] = None,
    judges: Optional[Sequence[str]] = None,
    agent: Optional[Agent] = None,
    out: Optional[PathLike] = None,
    run_name: Optional[str] = None,
    guidelines: Optional[Sequence[str]] = None,
    judge_base_url: Optional[str] = None,
    judge_model: Optional[str] = None,
    agent_concurrency: Optional[int] = None,
    agent_timeout: Optional[float] = None,
    skip_invalid: bool = False,
    csv: bool = False,
    cache: bool = True,
    history: bool = True,
    mlflow: Union[None, bool, str] = None,
    mlflow_experiment: Optional[str] = None,
    mlflow_run_id: Optional[str] = None,
    mlflow_parent_run_id: Optional[str] = None,
    progress: Union[bool, Callable[[int, int], None]] = True,
) -> EvalResult:
    """Evaluates ``data`` as ``gavel eval`` does and returns the run.

    data: a pandas DataFrame, a list of dicts, or a path to a .jsonl, .json,
        .csv or .parquet file, with the columns gavel reads (``request``,
        ``response``, ``expected_response``, ``retrieved_context``,
        ``guidelines``, ...).
    config: a gavel.toml path, or a dict with the same keys; without it,
        ./gavel.toml when there is one.
    judges: run these judges and metrics on every row instead of the
        default selection (e.g. ``["correctness", "safety", "exact_match"]``).
    agent: the application, called for every row without a response: a
        callable, as ``mlflow.evaluate``'s ``model=``, taking the request in
        chat form ``{"messages": [{"role": "user", "content": ...}]}`` and
        returning a string, an OpenAI-style response or a dict with
        ``response`` (and ``retrieved_context``, ...), called from worker
        threads up to ``agent_concurrency`` (8) at a time; what it raises
        becomes that row's ``agent/error_message``. Or a URL or a command,
        as ``gavel eval --agent``/``--agent-cmd``.
    out: the run directory [default: gavel-runs/<run id>].
    mlflow: log the run to MLflow: a tracking URI, or True for
        ``MLFLOW_TRACKING_URI``.
    mlflow_experiment: the MLflow experiment of a new run (created if
        missing) [default: "gavel"; under a parent run, the parent's].
    mlflow_run_id: log into this existing MLflow run instead of creating one
        (e.g. ``mlflow.active_run().info.run_id``); it keeps its name, status
        and end time.
    mlflow_parent_run_id: create the MLflow run nested under this one.
    progress: draw a progress bar (tqdm when installed), or a callable
        ``progress(finished_rows, total_rows)``.

    Raises InputError for bad input or configuration (nothing evaluated),
    RunError when the run could not finish, and Interrupted (a
    KeyboardInterrupt) on Ctrl-C, keeping finished rows.
    """
    tracking_uri: Optional[str] = None
    if mlflow is True:
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not tracking_uri:
            raise InputError("mlflow=True needs MLFLOW_TRACKING_URI; or pass mlflow=URI")
    elif isinstance(mlflow, str):
        tracking_uri = mlflow

    scratch: Optional[str] = None
    if isinstance(data, (str, os.PathLike)):
        data_path = os.fspath(data)
    else:
        scratch = tempfile.mkdtemp(prefix="gavel-input-")
        data_path = os.path.join(scratch, "data.jsonl")
        _convert.write_jsonl(data, Path(data_path))

    bar: Optional[Bar] = None
    callback: Optional[Callable[[int, int], None]]
    if progress is True:
        bar = Bar()
        callback = bar
    elif callable(progress):
        callback = progress
    else:
        callback = None
    kept_input = False
    try:
        text = _gavel.evaluate(
            data_path,
            out=os.fspath(out) if out is not None else None,
            judges=list(judges) if judges is not None else None,
            guidelines=list(guidelines) if guidelines else None,
            run_name=run_name,
            judge_base_url=judge_base_url,
            judge_model=judge_model,
            agent_concurrency=agent_concurrency,
            agent_timeout=agent_timeout,
            skip_invalid=skip_invalid,
            csv=csv,
            cache=cache,
            history=history,
            mlflow_tracking_uri=tracking_uri,
            mlflow_experiment=mlflow_experiment,
            mlflow_run_id=mlflow_run_id,
            mlflow_parent_run_id=mlflow_parent_run_id,
            progress=callback,
            **_config_arguments(config),
            **_agent_arguments(agent),
        )
        run = json.loads(text)
        # A run that did not finish can be resumed from its input, which
        # the message names: keep it then.
        kept_input = run["unfinished"] is not None
    finally:
        if bar is not None:
            bar.close()
        if scratch is not None and not kept_input:
            shutil.rmtree(scratch, ignore_errors=True)
    result = EvalResult(
        metrics=run["metrics"],
        run_dir=Path(run["run_dir"]),
        run_id=run["run_id"],
        status=run["status"],
        elapsed_seconds=run["elapsed_seconds"],
        results_file=Path(run["results"]),
        mlflow_url=run["mlflow_url"],
    )
    unfinished = run["unfinished"]
    if run["status"] == "interrupted":
        raise Interrupted(unfinished, result)
    if unfinished:
        error = RunError(unfinished)
        error.result = result  # type: ignore[attr-defined]
        raise error
    return result


@dataclass(frozen=True)
class ChunkAssessment:
    rating: Optional[str] = None
    score: Optional[int] = None
    rationale: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class Assessment:
    """One judgment, as ``gavel judge --json`` prints it."""

    judge: str
    #: ``"yes"``/``"no"``; None when the judge failed (see ``error``).
    rating: Optional[str]
    rationale: Optional[str]
    #: The 1-5 score, for judges that score.
    score: Optional[int] = None
    threshold: Optional[int] = None
    #: Per retrieved chunk, for judges that rate chunks.
    chunks: List[ChunkAssessment] = field(default_factory=list)
    #: Chunks rated yes over chunks rated.
    precision: Optional[float] = None
    error: Optional[str] = None
    usage: Dict[str, Any] = field(default_factory=dict)
    elapsed_seconds: float = 0.0


def judge(
    name: str,
    *,
    request: Any = None,
    response: Any = None,
    expected_response: Optional[str] = None,
    expected_facts: Optional[Sequence[str]] = None,
    retrieved_context: Optional[Sequence[Any]] = None,
    guidelines: Union[None, Sequence[str], Mapping[str, Sequence[str]]] = None,
    config: Union[None, PathLike, Mapping[str, Any]] = None,
    judge_base_url: Optional[str] = None,
    judge_model: Optional[str] = None,
    cache: bool = True,
    **fields: Any,
) -> Union[Assessment, List[Assessment]]:
    """Runs one judge on one case, as ``gavel judge NAME`` does.

    Returns its Assessment (a list, one per named group, for guideline
    judges given named guidelines). A judge that fails returns an
    Assessment with ``error`` set; bad input raises InputError.
    """
    row: Dict[str, Any] = dict(fields)
    for key, value in (
        ("request", request),
        ("response", response),
        ("expected_response", expected_response),
        ("expected_facts", expected_facts),
        ("retrieved_context", retrieved_context),
        ("guidelines", guidelines),
    ):
        if value is not None:
            row[key] = value
    text = _gavel.judge(
        name,
        _convert.dumps(row),
        judge_base_url=judge_base_url,
        judge_model=judge_model,
        cache=cache,
        **_config_arguments(config),
    )
    assessments = []
    for outcome in json.loads(text):
        chunks = [ChunkAssessment(**chunk) for chunk in outcome.get("chunks", [])]
        assessments.append(
            Assessment(
                judge=outcome["judge"],
                rating=outcome.get("rating"),
                rationale=outcome.get("rationale"),
                score=outcome.get("score"),
                threshold=outcome.get("threshold"),
                chunks=chunks,
                precision=outcome.get("precision"),
                error=outcome.get("error"),
                usage=outcome.get("usage", {}),
                elapsed_seconds=outcome.get("elapsed_seconds", 0.0),
            )
        )
    return assessments[0] if len(assessments) == 1 else assessments
