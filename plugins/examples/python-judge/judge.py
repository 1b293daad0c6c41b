"""Is the response concise? Too long by word count fails without an LLM
call; otherwise the judge LLM decides. Does what ../rust-judge does."""

from gavel_judge import Assessment, Options, Row, ask_yes_no, judge, no

CRITERION = (
    "Is the response concise: does it answer the request "
    "without padding, repetition or unrequested detail?\n{{request}}\n{{response}}"
)


@judge(
    name="conciseness",
    version="1.0.0",
    description="The response answers without padding.",
    requires=["request", "response"],
)
def conciseness(row: Row, options: Options) -> Assessment:
    max_words = options.get("max_words", 100)
    words = len((row.response or "").split())
    if words > max_words:
        return no(f"{words} words, over the limit of {max_words}.")
    return ask_yes_no(CRITERION)
