"""Conversions between the SDK's types and the bindings componentize-py
generates from the WIT (module ``wit_world``). Those bindings exist only
while building a component, so nothing imports this module until a judge
runs inside one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from componentize_py_types import Err, Ok
from wit_world.exports import judge as wit_judge
from wit_world.imports import ask as wit_ask
from wit_world.imports import llm as wit_llm
from wit_world.imports import log as wit_log
from wit_world.imports import prompt as wit_prompt
from wit_world.imports import types as wit_types

from . import _errors
from ._judge import Description
from ._model import (
    Assessment,
    Chunk,
    ChunkAssessment,
    Completion,
    GuidelineGroup,
    Message,
    Row,
    Verdict,
)

__all__ = ["Err", "wit_ask", "wit_judge", "wit_llm", "wit_log", "wit_prompt", "wit_types"]

_ROLES = {
    wit_types.Role.SYSTEM: "system",
    wit_types.Role.USER: "user",
    wit_types.Role.ASSISTANT: "assistant",
    wit_types.Role.TOOL: "tool",
}
_WIT_ROLES = {name: role for role, name in _ROLES.items()}

_INPUTS = {
    "request": wit_judge.Input.REQUEST,
    "response": wit_judge.Input.RESPONSE,
    "expected_response": wit_judge.Input.EXPECTED_RESPONSE,
    "expected_facts": wit_judge.Input.EXPECTED_FACTS,
    "retrieved_context": wit_judge.Input.RETRIEVED_CONTEXT,
    "expected_retrieved_context": wit_judge.Input.EXPECTED_RETRIEVED_CONTEXT,
    "guidelines": wit_judge.Input.GUIDELINES,
    "global_guidelines": wit_judge.Input.GLOBAL_GUIDELINES,
    "trace": wit_judge.Input.TRACE,
}

SCALES = {"yes_no": wit_ask.Scale.YES_NO, "one_to_five": wit_ask.Scale.ONE_TO_FIVE}
OVERALLS = {"any_yes": wit_ask.Overall.ANY_YES, "all_yes": wit_ask.Overall.ALL_YES}
LEVELS = {
    "trace": wit_log.Level.TRACE,
    "debug": wit_log.Level.DEBUG,
    "info": wit_log.Level.INFO,
    "warn": wit_log.Level.WARN,
    "error": wit_log.Level.ERROR,
}


def description(declared: Description) -> wit_judge.Description:
    kind = (
        wit_judge.AssessmentType.ANSWER
        if declared.assessment_type == "answer"
        else wit_judge.AssessmentType.RETRIEVAL
    )
    return wit_judge.Description(
        name=declared.name,
        version=declared.version,
        description=declared.description,
        assessment_type=kind,
        required_inputs=[[_INPUTS[i] for i in entry] for entry in declared.required_inputs],
        endpoints=list(declared.endpoints),
    )


def row(row: wit_types.Row) -> Row:
    try:
        extra = json.loads(row.extra)
    except ValueError:
        extra = {}
    return Row(
        request_id=row.request_id,
        request=row.request,
        conversation=[Message(role=_ROLES[m.role], content=m.content) for m in row.conversation],  # type: ignore[arg-type]
        response=row.response,
        expected_response=row.expected_response,
        expected_facts=list(row.expected_facts),
        retrieved_context=[_chunk(c) for c in row.retrieved_context],
        expected_retrieved_context=[_chunk(c) for c in row.expected_retrieved_context],
        guidelines=[_group(g) for g in row.guidelines],
        global_guidelines=[_group(g) for g in row.global_guidelines],
        trace=row.trace,
        extra=extra if isinstance(extra, dict) else {},
    )


def _chunk(chunk: wit_types.Chunk) -> Chunk:
    return Chunk(content=chunk.content, doc_uri=chunk.doc_uri)


def _group(group: wit_types.GuidelineGroup) -> GuidelineGroup:
    return GuidelineGroup(name=group.name, rules=list(group.rules))


def verdict(value: Verdict) -> wit_types.Verdict:
    if value == "yes":
        return wit_types.Verdict_Yes()
    if value == "no":
        return wit_types.Verdict_No()
    if isinstance(value, int) and not isinstance(value, bool):
        # The host rejects scores outside 1-5 with its own message; what does
        # not even fit the WIT's u8 is stopped here.
        if 0 <= value <= 255:
            return wit_types.Verdict_Score(value)
        raise _errors.Failed(f"score {value} is out of range: a score is from 1 to 5")
    raise _errors.Failed(f'invalid verdict {value!r}: expected "yes", "no" or a score from 1 to 5')


def verdict_from(value: wit_types.Verdict) -> Verdict:
    if isinstance(value, wit_types.Verdict_Yes):
        return "yes"
    if isinstance(value, wit_types.Verdict_No):
        return "no"
    return value.value


def assessment(value: Any) -> wit_types.Assessment:
    if not isinstance(value, Assessment):
        raise _errors.Failed(
            f"the judge returned {type(value).__name__}, not an Assessment (use yes(), no() or score())"
        )
    chunks: list[Any] = []
    for chunk in value.chunks:
        if isinstance(chunk, str):
            chunks.append(Err(chunk))
        else:
            chunks.append(
                Ok(wit_types.ChunkAssessment(verdict=verdict(chunk.verdict), rationale=chunk.rationale))
            )
    return wit_types.Assessment(verdict=verdict(value.verdict), rationale=value.rationale, chunks=chunks)


def assessment_from(value: wit_types.Assessment) -> Assessment:
    chunks: list[ChunkAssessment | str] = []
    for chunk in value.chunks:
        if isinstance(chunk, Ok):
            chunks.append(
                ChunkAssessment(verdict=verdict_from(chunk.value.verdict), rationale=chunk.value.rationale)
            )
        else:
            chunks.append(chunk.value)
    return Assessment(verdict_from(value.verdict), value.rationale, chunks)


def question(
    criterion: str, scale: str, overrides: Mapping[str, str] | None, endpoint: str | None
) -> wit_ask.Question:
    return wit_ask.Question(
        criterion=criterion,
        scale=SCALES[scale],
        overrides=variables(overrides),
        endpoint=endpoint,
    )


def variables(overrides: Mapping[str, str] | None) -> list[wit_prompt.Variable]:
    return [wit_prompt.Variable(name=k, value=v) for k, v in (overrides or {}).items()]


def messages(messages: Sequence[Message]) -> list[wit_types.Message]:
    return [wit_types.Message(role=_WIT_ROLES[m.role], content=m.content) for m in messages]


def completion(value: wit_llm.Completion) -> Completion:
    return Completion(
        content=value.content,
        input_tokens=value.usage.input_tokens,
        output_tokens=value.usage.output_tokens,
    )


def ask_error(error: Any) -> _errors.JudgeError:
    """The SDK's exception for an ``ask-error`` (or ``prompt.render``'s message)."""
    if isinstance(error, wit_ask.AskError_MissingInput):
        return _errors.MissingInput(error.value)
    if isinstance(error, wit_ask.AskError_InvalidConfig):
        return _errors.InvalidConfig(error.value)
    if isinstance(error, wit_ask.AskError_Llm):
        return llm_error(error.value)
    if isinstance(error, wit_ask.AskError_UnparsableAnswer):
        return _errors.UnparsableAnswer(error.value)
    return _errors.Failed(str(error))


def llm_error(error: Any) -> _errors.LlmError:
    if isinstance(error, wit_llm.LlmError_NotAllowed):
        return _errors.NotAllowed(error.value)
    if isinstance(error, wit_llm.LlmError_BudgetExceeded):
        return _errors.BudgetExceeded(error.value)
    if isinstance(error, wit_llm.LlmError_Timeout):
        return _errors.LlmTimeout()
    return _errors.Upstream(error.value)


def judge_error(error: _errors.JudgeError) -> wit_judge.JudgeError:
    if isinstance(error, _errors.MissingInput):
        return wit_judge.JudgeError_MissingInput(error.message)
    if isinstance(error, _errors.InvalidConfig):
        return wit_judge.JudgeError_InvalidConfig(error.message)
    if isinstance(error, _errors.UnparsableAnswer):
        return wit_judge.JudgeError_UnparsableAnswer(error.message)
    if isinstance(error, _errors.BudgetExceeded):
        return wit_judge.JudgeError_Llm(wit_llm.LlmError_BudgetExceeded(error.calls))
    if isinstance(error, _errors.LlmTimeout):
        return wit_judge.JudgeError_Llm(wit_llm.LlmError_Timeout())
    if isinstance(error, _errors.NotAllowed):
        return wit_judge.JudgeError_Llm(wit_llm.LlmError_NotAllowed(error.message))
    if isinstance(error, _errors.LlmError):
        return wit_judge.JudgeError_Llm(wit_llm.LlmError_Upstream(error.message))
    return wit_judge.JudgeError_Failed(error.message)
