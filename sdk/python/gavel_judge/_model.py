"""The data a judge sees (a row) and the answer it gives (an assessment)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

Verdict = Union[Literal["yes", "no"], int]
"""``"yes"`` (good quality), ``"no"``, or a score from 1 to 5 that the host
turns into yes/no with the judge's threshold (yes when above it)."""

Role = Literal["system", "user", "assistant", "tool"]

Options = dict[str, Any]
"""A judge's options: the ``config`` table of its configuration, parsed with
``json`` (``{}`` when there is none)."""


@dataclass(kw_only=True)
class Message:
    """One message of a conversation."""

    role: Role
    content: str


@dataclass(kw_only=True)
class Chunk:
    """One retrieved (or expected) document chunk. Either field may be
    missing; expected chunks often have only ``doc_uri``."""

    content: str | None = None
    doc_uri: str | None = None


@dataclass(kw_only=True)
class GuidelineGroup:
    """A group of guidelines; ``name`` is set for named groups."""

    rules: list[str] = field(default_factory=list)
    name: str | None = None


@dataclass(kw_only=True)
class Row:
    """One row of the evaluation set, normalised by the host. An empty list
    or ``None`` means the row does not have that input.

    Build one in tests with keyword arguments:
    ``Row(request="What is 2+2?", response="4")``.
    """

    request: str = ""
    """The request text; for a conversation, its last user message."""
    response: str | None = None
    expected_response: str | None = None
    expected_facts: list[str] = field(default_factory=list)
    retrieved_context: list[Chunk] = field(default_factory=list)
    expected_retrieved_context: list[Chunk] = field(default_factory=list)
    guidelines: list[GuidelineGroup] = field(default_factory=list)
    """The row's own guidelines. A judge that requires ``guidelines`` is
    called once per group, with only that group here."""
    global_guidelines: list[GuidelineGroup] = field(default_factory=list)
    """Guidelines for every row, narrowed to one group per call for judges
    that require them."""
    conversation: list[Message] = field(default_factory=list)
    """The whole conversation for a chat request; one user message otherwise."""
    trace: str | None = None
    """The row's MLflow trace as JSON text, when it has one."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Every other field of the input row."""
    request_id: str = ""


@dataclass(kw_only=True)
class ChunkAssessment:
    """The verdict on one retrieved chunk."""

    verdict: Verdict
    rationale: str


@dataclass
class Assessment:
    """A judge's verdict and why. Make one with :func:`yes`, :func:`no` or
    :func:`score`, or get one from :func:`~gavel_judge.ask_yes_no` and the
    other ``ask`` functions."""

    verdict: Verdict
    rationale: str
    chunks: list[ChunkAssessment | str] = field(default_factory=list)
    """Retrieval judges that rate chunks one by one: one entry per retrieved
    chunk, in order; a ``str`` is the error that kept that chunk from being
    rated."""


def yes(rationale: str) -> Assessment:
    """The criterion is met."""
    return Assessment("yes", rationale)


def no(rationale: str) -> Assessment:
    """The criterion is not met."""
    return Assessment("no", rationale)


def score(value: int, rationale: str) -> Assessment:
    """A score from 1 (not met at all) to 5 (fully met); the host turns it
    into yes/no with the judge's threshold and rejects scores outside 1-5."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a score is an int from 1 to 5, not {value!r}")
    return Assessment(value, rationale)


@dataclass(kw_only=True)
class Completion:
    """The answer to :func:`~gavel_judge.complete`."""

    content: str
    input_tokens: int
    output_tokens: int
