"""Reading a judge LLM's answer: a port of the Rust SDK's `sdk/src/answer.rs`.

Judges ask for `{"rationale": ..., "result": "yes"|"no"}` or
`{"rationale": ..., "score": 1-5}`, but models wrap JSON in code fences, put
prose around it, use Python literals, single quotes, trailing commas, other
key names, or answer `Score: 4` in plain text. `parse` reads all of those the
way the Rust SDK does; an answer it cannot read yields None, never a guessed
verdict.

Character classes are Rust's (see `rust_chars.py`); lowercasing is done one
character at a time, as Rust's `char::to_lowercase` does.
"""

import re

import json_value
from json_value import Number
from rust_chars import WHITESPACE, is_alphabetic, is_alphanumeric

__all__ = ["Answer", "parse", "rust_trim", "count_words"]

_WORD = re.compile("[^" + re.escape(WHITESPACE) + "]+")

RATIONALE_KEYS = (
    "rationale", "reason", "reasoning", "justification", "explanation",
    "rationales", "analysis", "comment",
)
RESULT_KEYS = (
    "result", "rating", "verdict", "answer", "judgment", "judgement",
    "decision", "pass", "passed", "label",
)
SCORE_KEYS = ("score", "rating", "grade")

# Bounds the work done on pathological answers (thousands of braces).
MAX_CANDIDATES = 64


class Answer:
    """What the judge LLM answered: `result` True for yes, or a 1-5 `score`."""

    __slots__ = ("rationale", "result", "score")

    def __init__(self, rationale, result, score):
        self.rationale = rationale
        self.result = result
        self.score = score

    def __repr__(self):
        return "Answer(%r, result=%r, score=%r)" % (self.rationale, self.result, self.score)


def rust_trim(text):
    return text.strip(WHITESPACE)


def rust_trim_start(text):
    return text.lstrip(WHITESPACE)


def count_words(text):
    """`text.split_whitespace().count()`."""
    return sum(1 for _ in _WORD.finditer(text))


def _lowercase(text):
    return "".join(c.lower() for c in text)


def _trim_start_while(text, predicate):
    i = 0
    while i < len(text) and predicate(text[i]):
        i += 1
    return text[i:]


def _take_while(text, predicate):
    i = 0
    while i < len(text) and predicate(text[i]):
        i += 1
    return text[:i]


def parse(text):
    """Reads a judge answer; None when no verdict can be found."""
    text = rust_trim(text)
    for candidate in _json_candidates(text):
        value = _parse_object(candidate)
        if value is _NOTHING:
            continue
        answer = _from_json(value, 0)
        if answer is not None:
            return answer
    answer = _from_lines(text)
    if answer is not None:
        return answer
    return _from_leading_word(text)


_NOTHING = object()
_BRACE = re.compile(r"\{")
_SIGNIFICANT = re.compile(r"[{}\"'\\]")


def _json_candidates(text):
    """Slices of `text` that may be JSON objects, outermost first: each `{`
    with its balanced `}`, strings taken into account."""
    for n, match in enumerate(_BRACE.finditer(text)):
        if n == MAX_CANDIDATES:
            return
        start = match.start()
        end = _balanced_end(text, start)
        if end is not None:
            yield text[start:end]


def _balanced_end(text, start):
    depth = 0
    quote = None
    i = start
    while True:
        match = _SIGNIFICANT.search(text, i)
        if match is None:
            return None
        i = match.end()
        c = match.group()
        if quote is not None:
            if c == "\\":
                i += 1  # the escaped character, whatever it is
            elif c == quote:
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i


def _parse_object(candidate):
    try:
        return json_value.loads(candidate)
    except (json_value.JsonError, RecursionError):
        pass
    try:
        return json_value.loads(_repair_json(candidate))
    except (json_value.JsonError, RecursionError):
        return _NOTHING


def _next_non_whitespace(chars, i):
    while i < len(chars):
        if chars[i] not in WHITESPACE:
            return chars[i]
        i += 1
    return None


def _repair_json(text):
    """Turns the near-JSON models write into JSON: single-quoted strings,
    Python `True`/`False`/`None`, unquoted keys, trailing commas."""
    chars = text
    out = []
    i = 0
    n = len(chars)
    while i < n:
        c = chars[i]
        if c == '"' or c == "'":
            out.append('"')
            i += 1
            while i < n and chars[i] != c:
                ch = chars[i]
                if ch == "\\" and i + 1 < n:
                    # `\'` is not a JSON escape; keep every other one.
                    if chars[i + 1] != "'":
                        out.append("\\")
                    out.append(chars[i + 1])
                    i += 2
                    continue
                if ch == '"':
                    out.append('\\"')
                elif ch == "\n":
                    out.append("\\n")
                else:
                    out.append(ch)
                i += 1
            out.append('"')
            i += 1
        elif c == ",":
            if _next_non_whitespace(chars, i + 1) not in ("}", "]"):
                out.append(",")
            i += 1
        elif is_alphabetic(c) or c == "_":
            start = i
            while i < n and (is_alphanumeric(chars[i]) or chars[i] == "_"):
                i += 1
            word = chars[start:i]
            if word in ("True", "true"):
                out.append("true")
            elif word in ("False", "false"):
                out.append("false")
            elif word in ("None", "null"):
                out.append("null")
            elif _next_non_whitespace(chars, i) == ":":
                out.append('"' + word + '"')
            else:
                out.append(word)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _from_json(value, depth):
    """Reads the verdict out of a JSON value, looking one level into nested
    objects and lists (`{"evaluation": {...}}`, `[{...}]`)."""
    if isinstance(value, dict):
        answer = _from_map(value)
        if answer is None and depth < 2:
            for item in value.values():
                answer = _from_json(item, depth + 1)
                if answer is not None:
                    break
        return answer
    if isinstance(value, list) and depth < 2:
        for item in value:
            answer = _from_json(item, depth + 1)
            if answer is not None:
                return answer
    return None


def _from_map(obj):
    def field(keys):
        for key, value in obj.items():
            if _normalize_key(key) in keys:
                return value
        return _NOTHING

    def apply(value, function):
        return None if value is _NOTHING else function(value)

    score = apply(field(SCORE_KEYS), _score_of_value)
    result = apply(field(RESULT_KEYS), _result_of_value)
    if result is None and score is None:
        # `"result": 4` is a score under another name.
        score = apply(field(RESULT_KEYS), _score_of_value)
        result = apply(field(SCORE_KEYS), _result_of_value)
    if result is None and score is None:
        return None
    rationale = field(RATIONALE_KEYS)
    rationale = "" if rationale is _NOTHING else _text_of_value(rationale)
    return Answer(rationale, result, score)


def _normalize_key(key):
    return _lowercase("".join(c for c in key if is_alphanumeric(c)))


def _text_of_value(value):
    if isinstance(value, str):
        return rust_trim(value)
    if isinstance(value, list):
        return " ".join(_text_of_value(item) for item in value)
    if value is None:
        return ""
    return json_value.dumps(value)


def _result_of_value(value):
    if value is True or value is False:
        return value
    if isinstance(value, str):
        return _yes_no(value)
    return None


def _score_of_value(value):
    if isinstance(value, Number):
        return _score_of_number(value.as_f64())
    if isinstance(value, str):
        return _score_of_text(value)
    return None


def _score_of_number(n):
    if 1.0 <= n <= 5.0 and n == int(n):
        return int(n)
    return None


def _yes_no(text):
    """`yes`, `No.`, `**PASS**`, `"true"`, `Yes, because ...`."""
    rest = _trim_start_while(text, lambda c: not is_alphanumeric(c))
    word = _lowercase(_take_while(rest, is_alphanumeric))
    if word in ("yes", "y", "true", "pass", "passed"):
        return True
    if word in ("no", "n", "false", "fail", "failed"):
        return False
    return None


def _is_ascii_digit(c):
    return "0" <= c <= "9"


def _parse_f64(text):
    """Rust's `str::parse::<f64>` on a string of ASCII digits, '.' and '-'."""
    if not re.fullmatch(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", text):
        return None
    return float(text)


def _score_of_text(text):
    """`4`, `4.0`, `4/5`, `4 / 5`, `4 out of 5`, `**4**`. A score on another
    scale (`8/10`) is not read as 1-5."""
    text = _trim_start_while(text, lambda c: not _is_ascii_digit(c) and c != "-")
    number = _take_while(text, lambda c: _is_ascii_digit(c) or c == "." or c == "-")
    value = _parse_f64(number.rstrip("."))
    if value is None:
        return None
    score = _score_of_number(value)
    if score is None:
        return None
    rest = rust_trim_start(text[len(number) :])
    if rest.startswith("/"):
        scale = rest[1:]
    elif rest.startswith("out of"):
        scale = rest[len("out of") :]
    else:
        return score
    scale = _take_while(rust_trim_start(scale), _is_ascii_digit)
    return score if scale == "5" else None


def _lines(text):
    """Rust's `str::lines`: split at \\n, drop a \\r before it."""
    pieces = text.split("\n")
    last = pieces.pop()  # after the last newline: no line ending of its own
    lines = [piece[:-1] if piece.endswith("\r") else piece for piece in pieces]
    if last != "":
        lines.append(last)
    return lines


def _from_lines(text):
    """Plain-text answers: `Score: 4`, `**Result:** no`, `Rationale: ...` (the
    rationale may run over several lines). Lines that are not a key become the
    rationale when no `Rationale:` line is given."""
    result = None
    score = None
    rationale = None
    prose = []
    in_rationale = False
    for line in _lines(text):
        stripped = rust_trim(line).lstrip("#*->` ")
        pair = _key_value(stripped)
        if pair is not None:
            key, value = pair
            in_rationale = False
            value = rust_trim(value).strip("*` ")
            if key in SCORE_KEYS and score is None:
                s = _score_of_text(value)
                if s is not None:
                    score = s
                    continue
            if key in RESULT_KEYS and result is None:
                r = _yes_no(value)
                if r is not None:
                    result = r
                    continue
            if key in RATIONALE_KEYS:
                rationale = value
                in_rationale = True
                continue
        if rationale is not None and in_rationale:
            rationale += "\n" + rust_trim(line)
        else:
            prose.append(rust_trim(line))
    if result is None and score is None:
        return None
    if rationale is None:
        rationale = "\n".join(prose)
    return Answer(rust_trim(rationale), result, score)


def _key_value(line):
    """`key: value` or `key = value`, with markdown around the key removed."""
    match = re.search("[:=]", line)
    if match is None:
        return None
    split = match.start()
    key = _normalize_key(line[:split])
    if key == "" or len(key.encode("utf-8")) > 20:
        return None
    return key, line[split + 1 :]


def _from_leading_word(text):
    """`Yes. The response ...`, `no`, or a bare `4`."""
    unquoted = text.strip("\"'`*")
    score = _score_of_text(unquoted)
    if score is not None and all(_is_ascii_digit(c) or c == "." for c in rust_trim(unquoted)):
        return Answer("", None, score)
    result = _yes_no(unquoted)
    if result is None:
        return None
    body = _trim_start_while(unquoted, lambda c: not is_alphanumeric(c))
    word = _take_while(body, is_alphanumeric)
    rationale = _trim_start_while(
        body[len(word) :], lambda c: ("!" <= c <= "~" and not c.isalnum()) or c in WHITESPACE
    )
    return Answer(rust_trim(rationale), result, None)
