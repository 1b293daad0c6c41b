"""The probe judge: exercises every SDK call, one per mode in its options."""

from gavel_judge import (
    Assessment, Failed, InvalidConfig, MissingInput, Options, Row,
    ask_score, ask_yes_no, judge, log, no, rate_chunks, score, yes,
)

YES_NO = "Is the response helpful?\n{{request}}\n{{response}}"
CHUNK = "Is this chunk relevant to the request?\n{{request}}\n{{retrieved_context}}"


@judge(name="probe", version="1.0.0", description="Exercises every SDK call.",
       requires=["request", "response"])
def probe(row: Row, options: Options) -> Assessment:
    match options:
        case {"mode": "yes_no"}:
            return ask_yes_no(YES_NO)
        case {"mode": "score"}:
            return ask_score(YES_NO)
        case {"mode": "chunks"}:
            return rate_chunks(CHUNK, "yes_no", "any_yes")
        case {"mode": "chunk_scores"}:
            return rate_chunks(CHUNK, "one_to_five", "all_yes")
        case {"mode": "fixed", "verdict": "yes"}:
            return yes("Fixed.")
        case {"mode": "fixed", "verdict": "no"}:
            return no("Fixed.")
        case {"mode": "fixed", "verdict": int(n)}:
            return score(n, "Fixed.")
        case {"mode": "fail"}:
            raise Failed("asked to fail")
        case {"mode": "missing"}:
            raise MissingInput("expected_response")
        case {"mode": "log"}:
            log("probe says hi")
            return yes("Logged.")
        case {"mode": "spin"}:
            while True:
                pass
    raise InvalidConfig(f"unknown mode: {options.get('mode', '')}")
