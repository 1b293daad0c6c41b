"""Write gavel judge plugins in Python.

A judge is one decorated function (or a subclass of :class:`Judge`) in a
project's ``judge.py``; ``gavel build`` turns the project into a
WebAssembly component with componentize-py. The host renders prompts and
calls the LLM on the judge's behalf: a judge never sees the network, files
or secrets::

    from gavel_judge import Assessment, Options, Row, ask_yes_no, judge, no

    @judge(name="conciseness", version="1.0.0",
           description="The response answers without padding.",
           requires=["request", "response"])
    def conciseness(row: Row, options: Options) -> Assessment:
        if len((row.response or "").split()) > options.get("max_words", 100):
            return no("Too long.")
        return ask_yes_no("Is the response concise?\\n{{request}}\\n{{response}}")

The package is pure Python (standard library only) and imports anywhere, so
judges can be type-checked and unit-tested with plain Python; the host's
functions (``ask_yes_no`` and the rest) work only inside a component.
"""

from ._errors import (
    BudgetExceeded,
    Failed,
    InvalidConfig,
    JudgeError,
    LlmError,
    LlmTimeout,
    MissingInput,
    NotAllowed,
    UnparsableAnswer,
    Upstream,
)
from ._host import (
    Level,
    Overall,
    Scale,
    ask_score,
    ask_yes_no,
    complete,
    log,
    rate_chunks,
    render,
)
from ._judge import AssessmentType, Description, Input, Judge, Requirement, judge
from ._model import (
    Assessment,
    Chunk,
    ChunkAssessment,
    Completion,
    GuidelineGroup,
    Message,
    Options,
    Role,
    Row,
    Verdict,
    no,
    score,
    yes,
)

__all__ = [
    "Assessment",
    "AssessmentType",
    "BudgetExceeded",
    "Chunk",
    "ChunkAssessment",
    "Completion",
    "Description",
    "Failed",
    "GuidelineGroup",
    "Input",
    "InvalidConfig",
    "Judge",
    "JudgeError",
    "Level",
    "LlmError",
    "LlmTimeout",
    "Message",
    "MissingInput",
    "NotAllowed",
    "Options",
    "Overall",
    "Requirement",
    "Role",
    "Row",
    "Scale",
    "UnparsableAnswer",
    "Upstream",
    "Verdict",
    "ask_score",
    "ask_yes_no",
    "complete",
    "judge",
    "log",
    "no",
    "rate_chunks",
    "render",
    "score",
    "yes",
]
