"""Is the response concise? Too long by word count fails without an LLM
call; otherwise the judge LLM decides. Does exactly what the Rust example
(`plugins/examples/rust-judge`) does; `ask.py` and `answer.py` do here what
the Rust SDK does for it."""

from wit_world import exports
from wit_world.exports import judge
from wit_world.imports import types

import answer
import json_value
from ask import ask_yes_no

CRITERION = (
    "Is the response concise: does it answer the request "
    "without padding, repetition or unrequested detail?\n{{request}}\n{{response}}"
)


class Judge(exports.Judge):
    def describe(self) -> judge.Description:
        return judge.Description(
            name="conciseness",
            version="1.0.0",
            description="The response answers without padding.",
            assessment_type=judge.AssessmentType.ANSWER,
            required_inputs=[[judge.Input.REQUEST], [judge.Input.RESPONSE]],
            endpoints=[],
        )

    def evaluate(self, row: types.Row, config: types.JudgeConfig) -> types.Assessment:
        # Return the assessment for Ok; raise Err(judge.JudgeError_...) for Err.
        max_words = _max_words(config.options)
        words = answer.count_words(row.response or "")
        if words > max_words:
            return types.Assessment(
                verdict=types.Verdict_No(),
                rationale=f"{words} words, over the limit of {max_words}.",
                chunks=[],
            )
        return ask_yes_no(config, CRITERION)


def _max_words(options: str) -> int:
    """`options["max_words"]` when it is a whole number >= 0, else 100."""
    try:
        value = json_value.loads(options)
    except (json_value.JsonError, RecursionError):
        return 100
    if isinstance(value, dict) and isinstance(value.get("max_words"), json_value.Number):
        max_words = value["max_words"].as_u64()
        if max_words is not None:
            return max_words
    return 100
