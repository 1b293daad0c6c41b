"""What a judge asks of the host: a verdict from the judge LLM, a log line,
a rendered prompt, a raw completion. Each function is one call of a host
import; the host does the prompting, the answer parsing and the limits."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Literal

from ._errors import InvalidConfig
from ._model import Assessment, Completion, Message

Scale = Literal["yes_no", "one_to_five"]
"""``"yes_no"``: yes (the criterion is met) or no. ``"one_to_five"``: a score
from 1 (not met at all) to 5 (fully met), turned into yes/no by the host with
the judge's threshold."""

Overall = Literal["any_yes", "all_yes"]
"""How per-chunk verdicts make the overall one: ``"any_yes"`` is yes when at
least one chunk is rated yes, ``"all_yes"`` only when every chunk is."""

Level = Literal["trace", "debug", "info", "warn", "error"]

_endpoint: str | None = None
"""The configured endpoint alias of the evaluation under way (set by the
component's entry point), the default for :func:`complete`."""


def _inside() -> None:
    """Raises ``RuntimeError`` outside a component. The bindings exist only
    inside one; importing them lazily lets ``import gavel_judge`` work
    anywhere (type checking, unit tests)."""
    try:
        import wit_world  # noqa: F401
    except ModuleNotFoundError:
        raise RuntimeError(
            "gavel_judge: the host's functions are available only inside a judge "
            "component (built with `gavel build`, run with `gavel judge --plugin`)"
        ) from None


def ask_yes_no(
    criterion: str,
    *,
    overrides: Mapping[str, str] | None = None,
    endpoint: str | None = None,
) -> Assessment:
    """Asks the judge LLM whether the row meets ``criterion``, a Handlebars
    template rendered by the host against the row
    (``"Is the response polite?\\n{{response}}"``), and returns its verdict.

    The host adds the configured few-shot examples, asks for structured
    output, asks once more when the answer cannot be read, and counts the
    calls against the evaluation's budget. ``overrides`` add or replace
    template variables; ``endpoint`` asks another granted alias than the
    judge's configured one. Raises a :class:`~gavel_judge.JudgeError`
    (``MissingInput``, ``InvalidConfig``, an ``LlmError``,
    ``UnparsableAnswer``), which a judge usually lets propagate.
    """
    return _ask(criterion, "yes_no", overrides, endpoint)


def ask_score(
    criterion: str,
    *,
    overrides: Mapping[str, str] | None = None,
    endpoint: str | None = None,
) -> Assessment:
    """Like :func:`ask_yes_no`, on a 1-5 scale; the host applies the
    judge's threshold."""
    return _ask(criterion, "one_to_five", overrides, endpoint)


def _ask(
    criterion: str, scale: Scale, overrides: Mapping[str, str] | None, endpoint: str | None
) -> Assessment:
    _inside()
    from . import _wit

    try:
        answer = _wit.wit_ask.ask(_wit.question(criterion, scale, overrides, endpoint))
    except _wit.Err as error:
        raise _wit.ask_error(error.value) from None
    return Assessment(_wit.verdict_from(answer.verdict), answer.rationale)


def rate_chunks(
    criterion: str,
    scale: Scale = "yes_no",
    overall: Overall = "any_yes",
    *,
    overrides: Mapping[str, str] | None = None,
    endpoint: str | None = None,
) -> Assessment:
    """Asks ``criterion`` once per retrieved chunk (the chunk is
    ``{{retrieved_context}}``) and returns the overall verdict with one
    entry per chunk in ``chunks``. A chunk that cannot be rated is recorded
    with its error; this raises only when no chunk could be rated, or the
    row has no retrieved context."""
    _inside()
    from . import _wit

    if scale not in _wit.SCALES or overall not in _wit.OVERALLS:
        raise ValueError(
            f"rate_chunks: scale is yes_no or one_to_five, overall any_yes or all_yes; "
            f"got {scale!r}, {overall!r}"
        )
    try:
        rated = _wit.wit_ask.rate_chunks(
            _wit.question(criterion, scale, overrides, endpoint), _wit.OVERALLS[overall]
        )
    except _wit.Err as error:
        raise _wit.ask_error(error.value) from None
    return _wit.assessment_from(rated.assessment)


def log(message: str, level: Level = "info") -> None:
    """Writes ``message`` to the host's log, tagged with the judge's name
    (the host caps the volume per evaluation). Outside a component, writes
    to standard error."""
    try:
        _inside()
    except RuntimeError:
        print(f"[{level}] {message}", file=sys.stderr)
        return
    from . import _wit

    _wit.wit_log.log(_wit.LEVELS[level], message)


def render(template: str, overrides: Mapping[str, str] | None = None) -> str:
    """Renders a Handlebars template against the row as ``ask_yes_no`` does:
    each value fenced in tags named after its variable. Raises
    :class:`~gavel_judge.InvalidConfig` when the template is not usable."""
    _inside()
    from . import _wit

    try:
        return _wit.wit_prompt.render(template, _wit.variables(overrides))
    except _wit.Err as error:
        raise InvalidConfig(str(error.value)) from None


def complete(
    messages: str | Sequence[Message],
    *,
    endpoint: str | None = None,
    json_schema: str | None = None,
    max_output_tokens: int | None = None,
) -> Completion:
    """One chat completion, for judges that prompt the LLM themselves (most
    need only :func:`ask_yes_no`). ``messages`` is a user message's text or a
    list of :class:`~gavel_judge.Message`; ``endpoint`` defaults to the
    judge's configured alias. Raises an :class:`~gavel_judge.LlmError`."""
    _inside()
    from . import _wit

    if isinstance(messages, str):
        messages = [Message(role="user", content=messages)]
    alias = endpoint if endpoint is not None else _endpoint
    if alias is None:
        raise RuntimeError("gavel_judge.complete: call it while evaluating a row")
    request = _wit.wit_llm.CompletionRequest(
        endpoint=alias,
        messages=_wit.messages(messages),
        json_schema=json_schema,
        max_output_tokens=max_output_tokens,
    )
    try:
        return _wit.completion(_wit.wit_llm.complete(request))
    except _wit.Err as error:
        raise _wit.llm_error(error.value) from None
