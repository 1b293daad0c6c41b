"""__NAME__: a gavel judge. `gavel build` makes __NAME__.wasm; try it on the
test row with `gavel judge --plugin __NAME__.wasm --row row.json`."""

from gavel_judge import Assessment, Options, Row, ask_yes_no, judge, no


@judge(
    name="__NAME__",
    version="0.1.0",
    description="The response answers the request.",
    requires=["request", "response"],
)
def evaluate(row: Row, options: Options) -> Assessment:
    # Options come from `config = { ... }` under the judge's table in gavel.toml.
    max_words = options.get("max_words")
    words = len((row.response or "").split())
    if max_words is not None and words > max_words:
        # Too long: no need to ask the LLM.
        return no(f"{words} words, over the limit of {max_words}.")
    # The host renders {{request}} and {{response}} from the row, asks the
    # judge LLM (with any few-shot examples) and reads its verdict.
    return ask_yes_no("Does the response answer the request?\n{{request}}\n{{response}}")
