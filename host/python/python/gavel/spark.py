"""gavel on Spark: judge a Spark DataFrame on the executors.

    import gavel.spark
    result = gavel.spark.evaluate(spark_df, judges=["correctness", "safety"])
    result.metrics["response/overall_assessment/rating/percentage"]
    result.results        # a Spark DataFrame: one row per input row, eval_results' columns
    result.run_dir        # the run directory on the driver: report.html, metrics.json, ...

Each task (``mapInArrow`` over one partition) runs a gavel host over its
rows, as ``gavel.evaluate`` does on one machine. The endpoints' limits stay
global, as a provider enforces them: each endpoint's ``max_concurrency``
and ``requests_per_minute`` are divided by the number of tasks that run at
once (rounded down; that number is lowered, by coalescing partitions, when
a limit is smaller than it, so every task gets at least 1). The metrics are
computed on the driver from every result row in input order, exactly as a
single run computes them, so they equal a single machine's run on the same
rows; so do the result rows.

Needs pyspark 4 and pyarrow (``pip install 'gavel[spark]'``), and gavel
installed on the executors. Classic Spark (not Spark Connect).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

try:
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyspark import TaskContext
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "gavel.spark needs pyspark (4.x) and pyarrow: pip install 'gavel[spark]'"
    ) from missing

from . import _convert, _gavel
from . import evaluate as _evaluate
from ._gavel import InputError, RunError

__all__ = ["EndpointLimit", "Limits", "SparkResult", "evaluate"]

PathLike = Union[str, "os.PathLike[str]"]
Config = Union[None, PathLike, Mapping[str, Any]]

#: An endpoint's ``max_concurrency`` when its table sets none
#: (host/runtime/src/llm/endpoint.rs, ``defaults::max_concurrency``).
DEFAULT_MAX_CONCURRENCY = 16
#: An agent's ``max_concurrency`` when nothing sets it (AgentSpec::resolve).
DEFAULT_AGENT_CONCURRENCY = 8
#: The ``judge`` endpoint without an ``[endpoints.judge]`` table
#: (``Endpoint::openai_default``).
JUDGE_ENDPOINT = "judge"
OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_MODEL = "gpt-4o-mini"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
#: Read when no configuration is given, as ``gavel eval`` does.
DEFAULT_CONFIG_FILE = "gavel.toml"
#: What messages about a row call the data.
DATA_NAME = "DataFrame"
#: Environment variables a task takes from the driver: the compiled
#: components and LLM responses are cached there.
TASK_ENVIRONMENT = ("GAVEL_CACHE_DIR",)
#: A task hands its result lines back in batches of at most this many rows
#: or bytes.
BATCH_ROWS = 2048
BATCH_BYTES = 32 << 20
#: Where a run's error says how to resume it.
RESUME_HINT = " The run stopped with "
#: Invalid rows listed in an error (as the command line lists them).
SHOWN_ERRORS = 20

#: What a judging task yields: each result line with its row's index in the
#: input; and, with a negative index (-1 - partition), its run's run.json.
LINES_SCHEMA = pa.schema([("index", pa.int64()), ("line", pa.string())])
LINES_DDL = "index long, line string"
#: What a counting task yields, once per partition.
COUNTS_SCHEMA = pa.schema([("partition", pa.int64()), ("rows", pa.int64()), ("invalid", pa.string())])
COUNTS_DDL = "partition long, rows long, invalid string"


@dataclass(frozen=True)
class EndpointLimit:
    """An endpoint's limits: requests in flight, and per minute (0: none)."""

    max_concurrency: int
    requests_per_minute: int = 0


@dataclass(frozen=True)
class Limits:
    """How the global limits were split across the tasks."""

    #: How many tasks run at once at most, and so share each limit.
    tasks_at_once: int
    #: How many partitions (tasks) the DataFrame was judged in.
    partitions: int
    #: Each endpoint's limits as configured: what the provider enforces.
    endpoints: Dict[str, EndpointLimit]
    #: Each endpoint's limits in one task.
    task_endpoints: Dict[str, EndpointLimit]
    #: An HTTP agent's ``max_concurrency``, global and per task (None for
    #: a command or callable agent, which runs in each task).
    agent_concurrency: Optional[int] = None
    task_agent_concurrency: Optional[int] = None


@dataclass(frozen=True)
class SparkResult:
    """A finished Spark run: its metrics, its results and where they are."""

    #: One row per input row, in input order (the DataFrame's partition
    #: order), with the result columns of eval_results.jsonl in their order.
    #: Materialized (a local checkpoint): using it never judges again.
    results: DataFrame
    #: Every metric, by the names of metrics.json.
    metrics: Dict[str, Any]
    #: The run directory on the driver: eval_results.jsonl (input order),
    #: metrics.json, run.json, report.html.
    run_dir: Path
    run_id: str
    elapsed_seconds: float
    limits: Limits
    status: str = "finished"

    @property
    def results_file(self) -> Path:
        return self.run_dir / "eval_results.jsonl"

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"

    @property
    def rows(self) -> List[Dict[str, Any]]:
        """The result rows as dicts, in input order, read on the driver."""
        return _convert.read_jsonl(self.results_file)


@dataclass(frozen=True)
class _TaskPlan:
    """What every judging task needs; pickled into the tasks' closure."""

    #: Keyword arguments of ``gavel.evaluate`` (the configuration as a dict
    #: with the per-task limits, the judges, the agent, ...).
    evaluate: Dict[str, Any]
    #: Environment variables to set in the task's process.
    environment: Dict[str, str]
    #: Each partition's number of rows and index of its first row.
    counts: Dict[int, int] = field(default_factory=dict)
    offsets: Dict[int, int] = field(default_factory=dict)


# Configuration ------------------------------------------------------------


def _read_toml(path: Path) -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9 and 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError as missing:
            raise InputError(
                f"{path}: reading gavel.toml for Spark needs Python 3.11, or tomli; "
                "or pass the configuration as a dict"
            ) from missing
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: {error}") from error


def _absolute(value: Any, base: Path) -> Any:
    """A relative file path in the configuration, made absolute against
    ``base`` (tasks read the configuration from another directory); a
    registry reference is left as it is."""
    if not isinstance(value, str) or value.startswith("oci://") or os.path.isabs(value):
        return value
    return str(base / value)


def _with_absolute_paths(table: Dict[str, Any], base: Path) -> Dict[str, Any]:
    """``table`` with the files it names (plugin components, few-shot
    examples) as absolute paths."""
    judges = table.get("judges")
    if isinstance(judges, dict):
        for settings in judges.values():
            if isinstance(settings, dict):
                for key in ("plugin", "examples"):
                    if key in settings:
                        settings[key] = _absolute(settings[key], base)
    eval_table = table.get("eval")
    if isinstance(eval_table, dict) and "examples" in eval_table:
        eval_table["examples"] = _absolute(eval_table["examples"], base)
    return table


def _config_table(config: Config) -> Dict[str, Any]:
    """The configuration as data (JSON-ready, relative paths made
    absolute), read on the driver: the tasks get the data. Without one,
    ./gavel.toml when there is one."""
    if config is None:
        if not os.path.exists(DEFAULT_CONFIG_FILE):
            return {}
        config = DEFAULT_CONFIG_FILE
    if isinstance(config, Mapping):
        return _with_absolute_paths(json.loads(_convert.dumps(config)), Path.cwd())
    path = Path(os.path.abspath(os.fspath(config)))
    # TOML dates become RFC 3339 text, as JSON has no dates.
    return _with_absolute_paths(json.loads(_convert.dumps(_read_toml(path))), path.parent)


def _is_openai_api(url: str) -> bool:
    """Whether ``url`` is OpenAI's own API, where the default key belongs
    (as ``is_openai_api`` in host/src/evaluation/config.rs)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.hostname == "api.openai.com"
        and port in (None, 443)
        and not parts.username
    )


def _endpoint_tables(
    table: Mapping[str, Any], judge_base_url: Optional[str], judge_model: Optional[str]
) -> Dict[str, Dict[str, Any]]:
    """Every endpoint a run can call, as tables: the configuration's, and
    ``judge`` as the run resolves it when the configuration has no table
    for it (OpenAI's API, or ``judge_base_url``, which takes OpenAI's key
    only to OpenAI). ``judge_base_url``/``judge_model`` are still passed to
    the tasks; over this table they resolve as over none."""
    endpoints = {alias: dict(settings) for alias, settings in (table.get("endpoints") or {}).items()}
    if JUDGE_ENDPOINT not in endpoints:
        judge: Dict[str, Any] = {
            "base_url": judge_base_url or OPENAI_BASE_URL,
            "model": judge_model or OPENAI_MODEL,
        }
        if judge_base_url is None or _is_openai_api(judge_base_url):
            judge["api_key_env"] = OPENAI_KEY_ENV
        endpoints[JUDGE_ENDPOINT] = judge
    return endpoints


def _endpoint_limit(settings: Mapping[str, Any]) -> EndpointLimit:
    return EndpointLimit(
        max_concurrency=int(settings.get("max_concurrency", DEFAULT_MAX_CONCURRENCY)),
        requests_per_minute=int(settings.get("requests_per_minute", 0)),
    )


# Limits -------------------------------------------------------------------


def _slots(spark: SparkSession) -> int:
    """How many tasks Spark runs at once: the cores it schedules on (the
    default parallelism, or executors x cores under dynamic allocation when
    that is larger) over the cores a task takes."""
    context = spark.sparkContext
    conf = context.getConf()
    cores = context.defaultParallelism
    if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        executors = conf.get("spark.dynamicAllocation.maxExecutors")
        executor_cores = conf.get("spark.executor.cores")
        if executors and executor_cores and executors.isdigit() and executor_cores.isdigit():
            cores = max(cores, int(executors) * int(executor_cores))
    task_cpus = int(conf.get("spark.task.cpus", "1") or "1")
    return max(1, cores // max(1, task_cpus))


def _split_limits(
    endpoints: Mapping[str, EndpointLimit],
    agent_concurrency: Optional[int],
    partitions: int,
    slots: int,
) -> Limits:
    """Divides each global limit by the number of tasks that run at once:
    the partitions or the slots, whichever is fewer, and never more than
    the smallest limit, so that every task gets at least 1 and the tasks
    together never exceed a limit."""
    smallest = [limit.max_concurrency for limit in endpoints.values()]
    smallest += [limit.requests_per_minute for limit in endpoints.values() if limit.requests_per_minute > 0]
    if agent_concurrency is not None:
        smallest.append(agent_concurrency)
    tasks = max(1, min([max(1, partitions), slots] + smallest))
    per_task = {
        alias: EndpointLimit(
            max_concurrency=limit.max_concurrency // tasks,
            requests_per_minute=limit.requests_per_minute // tasks,
        )
        for alias, limit in endpoints.items()
    }
    return Limits(
        tasks_at_once=tasks,
        partitions=partitions,
        endpoints=dict(endpoints),
        task_endpoints=per_task,
        agent_concurrency=agent_concurrency,
        task_agent_concurrency=None if agent_concurrency is None else agent_concurrency // tasks,
    )


def _task_config(
    table: Mapping[str, Any], endpoint_tables: Mapping[str, Dict[str, Any]], limits: Limits
) -> Dict[str, Any]:
    """The configuration each task runs with: every endpoint with its
    per-task limits."""
    task_table = dict(table)
    endpoints = {}
    for alias, settings in endpoint_tables.items():
        limit = limits.task_endpoints[alias]
        settings = dict(settings, max_concurrency=limit.max_concurrency)
        if limit.requests_per_minute > 0:
            settings["requests_per_minute"] = limit.requests_per_minute
        endpoints[alias] = settings
    task_table["endpoints"] = endpoints
    return task_table


def _http_agent_concurrency(
    agent: Any, table: Mapping[str, Any], agent_concurrency: Optional[int]
) -> Optional[int]:
    """The global ``max_concurrency`` of an HTTP agent (a service with a
    capacity, like an endpoint); None for a command or a callable, which
    runs inside each task."""
    agent_table = table.get("agent") or {}
    if isinstance(agent, str):
        is_http = agent.startswith(("http://", "https://"))
    else:
        is_http = agent is None and bool(agent_table.get("url")) and not agent_table.get("command")
    if not is_http:
        return None
    return int(agent_concurrency or agent_table.get("max_concurrency") or DEFAULT_AGENT_CONCURRENCY)


# Rows ---------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A value of a Spark row as gavel reads it: structs and maps as
    objects without their null fields (Spark gives every row every field),
    arrays as lists, decimals as numbers, dates as RFC 3339 text."""
    if isinstance(value, dict):
        fields = ((str(k), _json_value(v)) for k, v in value.items())
        return {k: v for k, v in fields if v is not None}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        raise InputError("binary columns cannot be judged; cast them to strings first")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return _convert._plain(value)


def _write_partition(batches: Iterator["pa.RecordBatch"], path: Path, first_index: Optional[int]) -> int:
    """Writes the rows of a partition's batches to ``path`` as JSON lines,
    null fields left out (as ``gavel.evaluate`` writes a DataFrame). With
    ``first_index``, a row without a ``request_id`` gets its index in the
    whole DataFrame, the id a single run over all rows gives it. Returns
    the number of rows."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for batch in batches:
            for row in batch.to_pylist(maps_as_pydicts="strict"):
                fields = _json_value(row)
                if first_index is not None and fields.get("request_id") is None:
                    fields["request_id"] = str(first_index + count)
                out.write(json.dumps(fields, ensure_ascii=False, allow_nan=False))
                out.write("\n")
                count += 1
    return count


def _partition_id() -> int:
    """The partition the running task works on."""
    context = TaskContext.get()
    if context is None:
        raise RuntimeError("not in a Spark task")
    return context.partitionId()


def _set_environment(environment: Mapping[str, str]) -> None:
    for name, value in environment.items():
        os.environ[name] = value


def _count_partition(validate: bool, batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
    """A partition's number of rows, and (with ``validate``) its invalid
    rows as the run would find them: ``[{line, field, message}]``, ``line``
    1-based within the partition."""
    partition = _partition_id()
    invalid: List[Dict[str, Any]] = []
    if validate:
        scratch = Path(tempfile.mkdtemp(prefix="gavel-spark-check-"))
        try:
            data = scratch / "data.jsonl"
            rows = _write_partition(batches, data, None)
            if rows:
                invalid = json.loads(_gavel.check_rows(str(data)))["invalid"]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    else:
        rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_pylist(
        [{"partition": partition, "rows": rows, "invalid": json.dumps(invalid)}], schema=COUNTS_SCHEMA
    )


def _relocated(line: str, data: str, first_index: int) -> str:
    """A result line whose ``error_message`` (an invalid row's) names the
    task's data file and line: it names the row in the DataFrame instead
    (1-based, as lines are)."""
    row = json.loads(line)
    message = row.get("error_message")
    located = re.match(re.escape(data) + r", line (\d+)", message) if isinstance(message, str) else None
    if located is None:
        return line
    row_number = first_index + int(located.group(1))
    row["error_message"] = f"{DATA_NAME}, row {row_number}{message[located.end():]}"
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def _lines_batch(indices: List[int], lines: List[str]) -> "pa.RecordBatch":
    columns = [pa.array(indices, pa.int64()), pa.array(lines, pa.string())]
    return pa.RecordBatch.from_arrays(columns, schema=LINES_SCHEMA)


def _line_batches(results: Path, data: str, first_index: int, expected: int) -> Iterator["pa.RecordBatch"]:
    """A task's result lines with their rows' indices, in batches."""
    indices: List[int] = []
    lines: List[str] = []
    size = 0
    count = 0
    with open(results, encoding="utf-8") as file:
        for line in file:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if data in line:
                line = _relocated(line, data, first_index)
            indices.append(first_index + count)
            lines.append(line)
            count += 1
            size += len(line)
            if len(lines) >= BATCH_ROWS or size >= BATCH_BYTES:
                yield _lines_batch(indices, lines)
                indices, lines, size = [], [], 0
    if lines:
        yield _lines_batch(indices, lines)
    if count != expected:
        raise RunError(f"the run of {expected} rows wrote {count} results")


def _judge_partition(plan: _TaskPlan, batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
    """Runs gavel over one partition: its rows, written as JSON lines, are
    evaluated in a scratch run directory with the per-task limits; yields
    their result lines (in order, with their indices in the DataFrame) and
    then the run's run.json."""
    partition = _partition_id()
    first_index = plan.offsets.get(partition, 0)
    expected = plan.counts.get(partition, 0)
    scratch = Path(tempfile.mkdtemp(prefix="gavel-spark-"))
    try:
        data = scratch / "data.jsonl"
        rows = _write_partition(batches, data, first_index)
        if rows != expected:
            raise RunError(
                f"partition {partition} of the DataFrame had {expected} rows when counted and {rows} "
                "when judged: the DataFrame is not deterministic; cache or checkpoint it first "
                "(df.localCheckpoint())"
            )
        if rows == 0:
            return
        _set_environment(plan.environment)
        try:
            result = _evaluate(
                data, out=scratch / "run", history=False, progress=False, mlflow=None, **plan.evaluate
            )
        except RunError as error:
            # How to resume the task's scratch run is no use: it is removed.
            message = str(error).split(RESUME_HINT, 1)[0].rstrip()
            raise RunError(f"{message} (partition {partition} of the DataFrame)") from None
        yield from _line_batches(result.results_file, str(data), first_index, rows)
        run = (result.run_dir / "run.json").read_text(encoding="utf-8")
        yield pa.RecordBatch.from_pylist([{"index": -1 - partition, "line": run}], schema=LINES_SCHEMA)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# The driver ---------------------------------------------------------------


def _utc_timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _new_run_id() -> str:
    """A run id as gavel makes them: UTC time and 16 random bits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{secrets.randbits(16):04x}"


def _invalid_rows_message(errors: List[Tuple[int, Dict[str, Any]]]) -> str:
    """As the command line reports invalid rows, naming them by row in the
    DataFrame."""
    errors.sort(key=lambda error: error[0])
    described = []
    for row, error in errors[:SHOWN_ERRORS]:
        text = f"  {DATA_NAME}, row {row}"
        if error.get("field"):
            text += f", field `{error['field']}`"
        described.append(f"{text}: {error['message']}")
    if len(errors) > SHOWN_ERRORS:
        described.append(f"  ... and {len(errors) - SHOWN_ERRORS} more")
    count = len(errors)
    return (
        f"{count} invalid row{'' if count == 1 else 's'} (nothing was evaluated; skip_invalid=True "
        "records them as error rows instead):\n" + "\n".join(described)
    )


def _count_rows(df: DataFrame, validate: bool) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Each partition's number of rows and first row's index; raises
    InputError for invalid rows when ``validate``."""
    counted = df.mapInArrow(functools.partial(_count_partition, validate), COUNTS_DDL).collect()
    counts = {int(row.partition): int(row.rows) for row in counted}
    offsets: Dict[int, int] = {}
    total = 0
    for partition in sorted(counts):
        offsets[partition] = total
        total += counts[partition]
    errors = [
        (offsets[int(row.partition)] + (error.get("line") or 1), error)
        for row in counted
        for error in json.loads(row.invalid)
    ]
    if errors:
        raise InputError(_invalid_rows_message(errors))
    return counts, offsets


def _preflight(scratch: Path, arguments: Mapping[str, Any]) -> Dict[str, Any]:
    """Sets the run up on the driver, over no rows, with the arguments as
    given: a bad configuration, judge name, agent or missing API key fails
    here, with ``gavel.evaluate``'s message, before any task starts; the
    compiled judges are cached (executors on this machine share the
    cache). Returns its run.json, the merged run's starting point."""
    result = _evaluate([], out=scratch / "preflight", history=False, progress=False, mlflow=None, **arguments)
    run: Dict[str, Any] = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    return run


def _sum_sessions(task_runs: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The tasks' sessions as one: their counts (LLM calls, tokens, rows)
    added up."""
    total: Dict[str, Any] = {}
    for run in task_runs:
        sessions = run.get("sessions") or [{}]
        for key, value in sessions[-1].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "elapsed_seconds":
                total[key] = total.get(key, 0) + value
    return total


def _merged_run(
    preflight: Dict[str, Any],
    task_runs: Sequence[Mapping[str, Any]],
    *,
    run_id: str,
    started_at: str,
    elapsed_seconds: float,
    rows: int,
    limits: Limits,
) -> Dict[str, Any]:
    """run.json of the merged run: the set-up of the preflight run (name,
    configuration, judges, endpoints, agent), the rows and LLM usage of
    every task, and how the run was split."""
    run = dict(preflight)
    endpoints = {alias: dict(value) for alias, value in (run.get("endpoints") or {}).items()}
    for task_run in task_runs:
        for alias, value in (task_run.get("endpoints") or {}).items():
            if "structured_output" in value and alias in endpoints:
                endpoints[alias].setdefault("structured_output", value["structured_output"])
    session = {
        "started_at": started_at,
        "finished_at": _utc_timestamp(),
        "elapsed_seconds": elapsed_seconds,
        "status": "finished",
        **_sum_sessions(task_runs),
        "rows_finished": rows,
    }
    run.update(
        run_id=run_id,
        started_at=started_at,
        dataset=f"{DATA_NAME} (Spark, {limits.partitions} partitions)",
        dataset_sha256=None,
        rows=rows,
        endpoints=endpoints,
        sessions=[session],
        status="finished",
        finished_rows=rows,
        invalid_rows=sum(int(task_run.get("invalid_rows") or 0) for task_run in task_runs),
        spark={
            "partitions": limits.partitions,
            "tasks_at_once": limits.tasks_at_once,
            "task_endpoints": {
                alias: {"max_concurrency": limit.max_concurrency, "requests_per_minute": limit.requests_per_minute}
                for alias, limit in limits.task_endpoints.items()
            },
            "task_agent_concurrency": limits.task_agent_concurrency,
            "task_runs": [task_run.get("run_id") for task_run in task_runs],
        },
    )
    return run


def _write_results(lines: DataFrame, path: Path) -> Tuple[int, List[Dict[str, Any]]]:
    """Streams the tasks' result lines to ``path`` in input order (one
    partition at a time); returns the number of rows and the tasks'
    run.json."""
    task_runs: List[Dict[str, Any]] = []
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for index, line in lines.toLocalIterator(prefetchPartitions=True):
            if index < 0:
                task_runs.append(json.loads(line))
                continue
            if index != count:
                raise RunError(f"result {count + 1} came back as row {index + 1}: the results are out of order")
            out.write(line)
            out.write("\n")
            count += 1
    return count, task_runs


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _results_frame(spark: SparkSession, lines: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The result lines as a typed DataFrame (Spark's JSON schema
    inference over every line; nested fields stay nested), with the
    columns of eval_results.jsonl in their order, materialized."""
    if not columns:
        return spark.createDataFrame([], StructType([]))
    strings = lines.where(F.col("index") >= 0).select("line").rdd.map(lambda row: row[0])
    frame = spark.read.json(strings, mode="FAILFAST")
    return frame.select([F.col(_quoted(column)) for column in columns]).localCheckpoint(eager=True)


#: How a task's gavel error ends the traceback Spark hands back.
_TASK_ERROR = re.compile(r"^_gavel\.(InputError|RunError|GavelError): ", re.MULTILINE)


def _judged_lines(df: DataFrame, plan: _TaskPlan) -> DataFrame:
    """Runs the tasks; their result lines, checkpointed: judged once, the
    lineage cut, so nothing that reads them (the driver, the results
    DataFrame) runs a judge again. A task's gavel error is raised as
    itself, with its message, as on one machine."""
    from pyspark.errors import PythonException

    try:
        return df.mapInArrow(functools.partial(_judge_partition, plan), LINES_DDL).localCheckpoint(eager=True)
    except PythonException as error:
        text = str(error)
        found = list(_TASK_ERROR.finditer(text))
        if not found:
            raise
        kind = {"InputError": InputError, "RunError": RunError}.get(found[-1].group(1), _gavel.GavelError)
        raise kind(text[found[-1].end() :].rstrip()) from error


def _check_picklable(agent: Any) -> None:
    from pyspark import cloudpickle

    try:
        cloudpickle.dumps(agent)  # type: ignore[no-untyped-call]
    except Exception as error:
        raise TypeError(
            f"a callable agent runs in the Spark tasks, so it must be picklable; this one is not: {error}"
        ) from error


def evaluate(
    df: DataFrame,
    *,
    config: Config = None,
    judges: Optional[Sequence[str]] = None,
    agent: Any = None,
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
    tasks_at_once: Optional[int] = None,
) -> SparkResult:
    """Evaluates the rows of the Spark DataFrame ``df`` on the executors, as
    ``gavel.evaluate`` evaluates them on one machine, and returns the run.

    The arguments are ``gavel.evaluate``'s. ``config`` (a gavel.toml path or
    a dict; else ./gavel.toml when there is one) is read on the driver and
    shipped to the tasks with its files' paths made absolute (they must be
    readable on the executors). ``agent`` is a URL, a command, or a
    picklable callable (it runs in the tasks).

    Each endpoint's ``max_concurrency`` and ``requests_per_minute`` (and an
    HTTP agent's ``max_concurrency``) are global: each task gets the limit
    divided by ``tasks_at_once`` (rounded down), the number of tasks Spark
    runs at once (default: its parallelism over ``spark.task.cpus``; give
    it when executors come and go). When a limit is smaller than that, the
    DataFrame is coalesced to that many partitions so each task gets 1.

    Rows without a ``request_id`` get their index in the DataFrame, as a
    single run gives it. The metrics are computed on the driver from every
    result row in input order: they equal a single run's, by name and value.
    The merged run directory (``out``, default gavel-runs/<run id>) holds
    eval_results.jsonl, metrics.json, run.json and report.html; it is
    recorded in the run history when ``history``.

    ``df`` must give the same rows each time it is computed (it is read
    twice: to count and check the rows, then to judge them); cache or
    checkpoint it otherwise. Raises InputError for bad input (nothing is
    evaluated) and RunError, or Spark's error naming gavel's, when a task's
    run could not finish.
    """
    started = time.monotonic()
    started_at = _utc_timestamp()
    run_id = _new_run_id()
    spark = df.sparkSession
    if spark.sparkContext.getConf().get("spark.speculation", "false").lower() == "true":
        warnings.warn(
            "spark.speculation is on: a slow task may be run twice at once, sending its LLM calls "
            "twice and exceeding the endpoints' limits",
            stacklevel=2,
        )
    if tasks_at_once is not None and tasks_at_once < 1:
        raise InputError("tasks_at_once must be at least 1")
    if callable(agent):
        _check_picklable(agent)
    run_dir = Path(out) if out is not None else Path("gavel-runs") / run_id
    if (run_dir / "eval_results.jsonl").exists():
        raise InputError(f"{run_dir} already holds the results of a run; choose another out")

    arguments: Dict[str, Any] = dict(
        judges=list(judges) if judges is not None else None,
        agent=agent,
        run_name=run_name,
        guidelines=list(guidelines) if guidelines else None,
        judge_base_url=judge_base_url,
        judge_model=judge_model,
        agent_concurrency=agent_concurrency,
        agent_timeout=agent_timeout,
        skip_invalid=skip_invalid,
        cache=cache,
    )
    scratch = Path(tempfile.mkdtemp(prefix="gavel-spark-driver-"))
    try:
        preflight = _preflight(scratch, dict(arguments, config=config))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    table = _config_table(config)
    endpoint_tables = _endpoint_tables(table, judge_base_url, judge_model)
    endpoints = {alias: _endpoint_limit(settings) for alias, settings in endpoint_tables.items()}
    partitions = df.rdd.getNumPartitions()
    slots = tasks_at_once if tasks_at_once is not None else _slots(spark)
    limits = _split_limits(
        endpoints, _http_agent_concurrency(agent, table, agent_concurrency), partitions, slots
    )
    if limits.tasks_at_once < min(partitions, slots):
        # A limit smaller than the tasks Spark would run: fewer, larger tasks.
        df = df.coalesce(limits.tasks_at_once)
        partitions = limits.tasks_at_once
        limits = _split_limits(endpoints, limits.agent_concurrency, partitions, slots)

    counts, offsets = _count_rows(df, validate=not skip_invalid)
    task_arguments = dict(arguments, config=_task_config(table, endpoint_tables, limits))
    if limits.task_agent_concurrency is not None:
        task_arguments["agent_concurrency"] = limits.task_agent_concurrency
    plan = _TaskPlan(
        evaluate=task_arguments,
        environment={name: os.environ[name] for name in TASK_ENVIRONMENT if os.environ.get(name)},
        counts=counts,
        offsets=offsets,
    )
    lines = _judged_lines(df, plan)

    run_dir.mkdir(parents=True, exist_ok=True)
    rows, task_runs = _write_results(lines, run_dir / "eval_results.jsonl")
    if rows != sum(counts.values()):
        raise RunError(f"{sum(counts.values())} rows were judged but {rows} results came back")
    run = _merged_run(
        preflight,
        task_runs,
        run_id=run_id,
        started_at=started_at,
        elapsed_seconds=time.monotonic() - started,
        rows=rows,
        limits=limits,
    )
    (run_dir / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = json.loads(_gavel.finish_run(str(run_dir), csv=csv, history=history))
    results = _results_frame(spark, lines, summary["columns"])
    return SparkResult(
        results=results,
        metrics=summary["metrics"],
        run_dir=run_dir,
        run_id=run_id,
        elapsed_seconds=time.monotonic() - started,
        limits=limits,
    )
