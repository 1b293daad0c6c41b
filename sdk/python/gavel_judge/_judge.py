"""Declaring a judge: a decorated function or a subclass of :class:`Judge`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args

from ._model import Assessment, Options, Row

AssessmentType = Literal["answer", "retrieval"]

Input = Literal[
    "request",
    "response",
    "expected_response",
    "expected_facts",
    "retrieved_context",
    "expected_retrieved_context",
    "guidelines",
    "global_guidelines",
    "trace",
]

INPUTS: tuple[str, ...] = get_args(Input)
"""The inputs a judge can require, in the WIT's order."""

Requirement = Union[str, Sequence[str]]
"""One entry of ``requires``: an input's name (``"response"``), or a list of
alternatives of which the row must have at least one
(``["expected_response", "expected_facts"]``)."""

Evaluate = Callable[[Row, Options], Assessment]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Description:
    """What the host needs to know to decide on which rows a judge runs."""

    name: str
    version: str
    description: str
    assessment_type: AssessmentType
    required_inputs: tuple[tuple[str, ...], ...]
    """Every entry must be satisfied; an entry is satisfied when the row has
    any one of its inputs."""
    endpoints: tuple[str, ...]


@dataclass(frozen=True)
class Registered:
    """A judge as declared: its description and how to evaluate a row."""

    description: Description
    evaluate: Evaluate


_registered: list[Registered] = []


def describe(
    *,
    name: str,
    version: str,
    description: str,
    requires: Sequence[Requirement] = (),
    assessment_type: AssessmentType = "answer",
    endpoints: Sequence[str] = (),
) -> Description:
    """Checks a judge's declaration; raises ``ValueError`` (at import, so
    while building) when it is not usable."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"judge name {name!r}: use lowercase letters, digits and `_`, starting with a letter"
        )
    if not isinstance(version, str) or not version:
        raise ValueError(f"judge {name}: version must be a non-empty string, like \"1.0.0\"")
    if assessment_type not in ("answer", "retrieval"):
        raise ValueError(
            f"judge {name}: assessment_type is \"answer\" or \"retrieval\", not {assessment_type!r}"
        )
    if isinstance(requires, str) or isinstance(endpoints, str):
        # A bare string would be read letter by letter.
        raise ValueError(f"judge {name}: requires and endpoints are lists, such as [\"response\"]")
    return Description(
        name=name,
        version=version,
        description=description,
        assessment_type=assessment_type,
        required_inputs=tuple(_requirement(name, entry) for entry in requires),
        endpoints=tuple(endpoints),
    )


def _requirement(judge: str, entry: Requirement) -> tuple[str, ...]:
    alternatives = (entry,) if isinstance(entry, str) else tuple(entry)
    if not alternatives:
        raise ValueError(f"judge {judge}: an entry of requires is empty")
    for input in alternatives:
        if input not in INPUTS:
            raise ValueError(
                f"judge {judge}: unknown input {input!r} in requires; expected one of {', '.join(INPUTS)}"
            )
    return alternatives


F = TypeVar("F", bound=Evaluate)


def judge(
    *,
    name: str,
    version: str,
    description: str,
    requires: Sequence[Requirement] = (),
    assessment_type: AssessmentType = "answer",
    endpoints: Sequence[str] = (),
) -> Callable[[F], F]:
    """Declares the decorated function as the component's judge.

    The function takes the :class:`~gavel_judge.Row` and the judge's options
    (the ``config`` table of its configuration, ``{}`` when there is none)
    and returns an :class:`~gavel_judge.Assessment`, or raises a
    :class:`~gavel_judge.JudgeError`. It is returned unchanged, so tests can
    call it directly::

        @judge(name="polite", version="1.0.0", description="The response is polite.",
               requires=["response"])
        def polite(row: Row, options: Options) -> Assessment:
            return ask_yes_no("Is the response polite?\\n{{response}}")

    ``requires`` lists inputs the row must have (``"request"``, ``"response"``,
    ``"expected_response"``, ``"expected_facts"``, ``"retrieved_context"``,
    ``"expected_retrieved_context"``, ``"guidelines"``, ``"global_guidelines"``,
    ``"trace"``); a list inside it means any one of those. ``endpoints``
    names endpoint aliases the judge asks by name besides its configured one.
    """
    declared = describe(
        name=name,
        version=version,
        description=description,
        requires=requires,
        assessment_type=assessment_type,
        endpoints=endpoints,
    )

    def register(evaluate: F) -> F:
        _registered.append(Registered(declared, evaluate))
        return evaluate

    return register


class Judge:
    """A judge as a class: subclass it, set the class attributes, and
    implement :meth:`evaluate`. A subclass that sets ``name`` is the
    component's judge; one without (a base of your own) is not::

        class Polite(Judge):
            name = "polite"
            version = "1.0.0"
            description = "The response is polite."
            requires = ["response"]

            def evaluate(self, row: Row, options: Options) -> Assessment:
                return ask_yes_no("Is the response polite?\\n{{response}}")

    Each evaluation gets a new instance.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""
    requires: ClassVar[Sequence[Requirement]] = ()
    assessment_type: ClassVar[AssessmentType] = "answer"
    endpoints: ClassVar[Sequence[str]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return
        declared = describe(
            name=cls.name,
            version=getattr(cls, "version", ""),
            description=cls.description,
            requires=cls.requires,
            assessment_type=cls.assessment_type,
            endpoints=cls.endpoints,
        )
        _registered.append(Registered(declared, lambda row, options: cls().evaluate(row, options)))

    def evaluate(self, row: Row, options: Options) -> Assessment:
        """Judges one row; see :func:`judge` for the arguments."""
        raise NotImplementedError(f"{type(self).__name__}.evaluate")


def registered() -> Registered:
    """The one judge the project declared."""
    if len(_registered) != 1:
        names = ", ".join(r.description.name for r in _registered) or "none"
        raise RuntimeError(
            "judge.py must declare exactly one judge, with @judge(...) on a function "
            f"or a subclass of gavel_judge.Judge that sets `name`; found {names}"
        )
    return _registered[0]
