"""The component's entry point: the module componentize-py builds from
(``gavel build`` names it). It imports the project's ``judge.py``, which
declares the judge, and exports the WIT ``judge`` interface for it.

Everything here runs while building (the import, checked once) or inside
the component; ``import gavel_judge`` never imports this module.
"""

from __future__ import annotations

import importlib
import json
import os
import traceback
from typing import Any

from wit_world import exports

from . import _errors, _host, _judge, _wit

_project = importlib.import_module("judge")
_JUDGE = _judge.registered()
_PROJECT_DIR = os.path.dirname(os.path.abspath(_project.__file__ or ""))


class Judge(exports.Judge):
    """The export componentize-py looks for: a class named after the WIT
    interface, in the entry module."""

    def describe(self) -> _wit.wit_judge.Description:
        return _wit.description(_JUDGE.description)

    def evaluate(self, row: _wit.wit_types.Row, config: _wit.wit_types.JudgeConfig) -> _wit.wit_types.Assessment:
        try:
            _host._endpoint = config.endpoint
            assessment = _JUDGE.evaluate(_wit.row(row), _options(config.options))
            return _wit.assessment(assessment)
        except _errors.JudgeError as error:
            raise _wit.Err(_wit.judge_error(error)) from None
        except Exception as error:
            raise _wit.Err(_wit.wit_judge.JudgeError_Failed(_unexpected(error))) from None
        finally:
            _host._endpoint = None


def _options(text: str) -> dict[str, Any]:
    try:
        options = json.loads(text)
    except ValueError as error:
        raise _errors.InvalidConfig(f"options are not JSON: {error}") from None
    if not isinstance(options, dict):
        raise _errors.InvalidConfig("options must be a JSON object")
    return options


def _unexpected(error: Exception) -> str:
    """``Type: message (judge.py, line N)``, the line being the last one of
    the project's code the exception passed through. The whole traceback
    goes to the log at debug level."""
    _host.log("".join(traceback.format_exception(error)), "debug")
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if os.path.dirname(os.path.abspath(frame.filename)) == _PROJECT_DIR
    ]
    if frames:
        frame = frames[-1]
        message += f" ({os.path.basename(frame.filename)}, line {frame.lineno})"
    return message
