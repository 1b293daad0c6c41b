"""The extension module; use the functions of ``gavel`` instead."""

from typing import Any, Callable, List, Optional

__version__: str

class GavelError(Exception): ...
class InputError(GavelError): ...
class RunError(GavelError): ...

def evaluate(
    data: str,
    *,
    out: Optional[str] = ...,
    config_path: Optional[str] = ...,
    config_json: Optional[str] = ...,
    judges: Optional[List[str]] = ...,
    guidelines: Optional[List[str]] = ...,
    agent_function: Optional[Callable[[Any], Any]] = ...,
    agent_name: Optional[str] = ...,
    agent_url: Optional[str] = ...,
    agent_command: Optional[str] = ...,
    agent_concurrency: Optional[int] = ...,
    agent_timeout: Optional[float] = ...,
    run_name: Optional[str] = ...,
    judge_base_url: Optional[str] = ...,
    judge_model: Optional[str] = ...,
    skip_invalid: bool = ...,
    csv: bool = ...,
    cache: bool = ...,
    history: bool = ...,
    mlflow_tracking_uri: Optional[str] = ...,
    mlflow_experiment: Optional[str] = ...,
    mlflow_run_id: Optional[str] = ...,
    mlflow_parent_run_id: Optional[str] = ...,
    progress: Optional[Callable[[int, int], None]] = ...,
) -> str: ...
def judge(
    name: str,
    row: str,
    *,
    config_path: Optional[str] = ...,
    config_json: Optional[str] = ...,
    judge_base_url: Optional[str] = ...,
    judge_model: Optional[str] = ...,
    cache: bool = ...,
) -> str: ...
def metrics_of(results: str) -> str: ...
def check_rows(data: str) -> str: ...
def finish_run(run_dir: str, *, csv: bool = ..., history: bool = ...) -> str: ...
