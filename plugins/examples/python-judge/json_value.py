"""JSON read and written exactly as the Rust SDK's `serde_json` does it.

Python's `json` module differs from `serde_json` in ways that change a
judge's verdict or rationale: it accepts NaN and lone surrogates, has no
depth limit, cannot tell `3` from `3.0` in some cases, and prints floats
differently. This module follows `serde_json` 1.0 (with `preserve_order`):

* null, true, false -> None, True, False; strings -> str; arrays -> list;
  objects -> dict in file order (a repeated key keeps its first place and
  its last value);
* numbers -> `Number`: "pos" (a u64), "neg" (an i64 below zero) or
  "float" (an f64, computed the way serde_json computes it);
* `dumps` writes compact JSON the way `Value::to_string` does.
"""

import math
import re

__all__ = ["Number", "JsonError", "loads", "dumps"]

U64_MAX = (1 << 64) - 1
I32_MAX = (1 << 31) - 1
I32_MIN = -(1 << 31)
MAX_DEPTH = 128  # serde_json's recursion limit: 127 nested arrays/objects
POW10 = [float("1e%d" % i) for i in range(309)]
WHITESPACE = " \t\n\r"
DIGITS = "0123456789"
STRING_RUN = re.compile(r'[^"\\\x00-\x1f]+')
HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsonError(ValueError):
    pass


class Number:
    """A JSON number: kind "pos" (u64), "neg" (negative i64) or "float"."""

    __slots__ = ("kind", "value")

    def __init__(self, kind, value):
        self.kind = kind
        self.value = value

    def as_u64(self):
        return self.value if self.kind == "pos" else None

    def as_f64(self):
        return float(self.value)

    def __repr__(self):
        return "Number(%r, %r)" % (self.kind, self.value)


def loads(text):
    """Parses `text` as one JSON value; raises JsonError where serde_json errs."""
    parser = _Parser(text)
    value = parser.value()
    parser.whitespace()
    if parser.i != len(text):
        raise JsonError("trailing characters")
    return value


def _overflows(a, digit, maximum):
    # serde_json's `overflow!(a * 10 + digit, maximum)`.
    return a >= maximum // 10 and (a > maximum // 10 or digit > maximum % 10)


class _Parser:
    def __init__(self, text):
        self.s = text
        self.i = 0
        self.depth = MAX_DEPTH

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def peek_digit(self):
        c = self.peek()
        return ord(c) - 48 if c != "" and c in DIGITS else None

    def whitespace(self):
        s, i = self.s, self.i
        while i < len(s) and s[i] in WHITESPACE:
            i += 1
        self.i = i

    def value(self):
        self.whitespace()
        c = self.peek()
        if c == "n":
            return self.literal("null", None)
        if c == "t":
            return self.literal("true", True)
        if c == "f":
            return self.literal("false", False)
        if c == "-":
            self.i += 1
            return self.number(False)
        if c != "" and c in DIGITS:
            return self.number(True)
        if c == '"':
            self.i += 1
            return self.string()
        if c == "[":
            return self.array()
        if c == "{":
            return self.object()
        raise JsonError("expected value")

    def literal(self, word, value):
        if not self.s.startswith(word, self.i):
            raise JsonError("expected " + word)
        self.i += len(word)
        return value

    def enter(self):
        self.depth -= 1
        if self.depth == 0:
            raise JsonError("recursion limit exceeded")
        self.i += 1

    def array(self):
        self.enter()
        items = []
        self.whitespace()
        if self.peek() == "]":
            self.i += 1
        else:
            while True:
                items.append(self.value())
                self.whitespace()
                c = self.peek()
                self.i += 1
                if c == "]":
                    break
                if c != ",":
                    raise JsonError("expected , or ]")
        self.depth += 1
        return items

    def object(self):
        self.enter()
        items = {}
        self.whitespace()
        if self.peek() == "}":
            self.i += 1
        else:
            while True:
                self.whitespace()
                if self.peek() != '"':
                    raise JsonError("key must be a string")
                self.i += 1
                key = self.string()
                self.whitespace()
                if self.peek() != ":":
                    raise JsonError("expected :")
                self.i += 1
                items[key] = self.value()
                self.whitespace()
                c = self.peek()
                self.i += 1
                if c == "}":
                    break
                if c != ",":
                    raise JsonError("expected , or }")
        self.depth += 1
        return items

    def string(self):
        s = self.s
        out = []
        while True:
            run = STRING_RUN.match(s, self.i)
            if run:
                out.append(run.group())
                self.i = run.end()
            c = self.peek()
            self.i += 1
            if c == '"':
                return "".join(out)
            if c != "\\":
                raise JsonError("control character or end of input in string")
            c = self.peek()
            self.i += 1
            if c == "u":
                out.append(self.unicode_escape())
            elif c != "" and c in ESCAPES:
                out.append(ESCAPES[c])
            else:
                raise JsonError("invalid escape")

    def hex4(self):
        if not HEX4.match(self.s, self.i):
            raise JsonError("invalid \\u escape")
        self.i += 4
        return int(self.s[self.i - 4 : self.i], 16)

    def unicode_escape(self):
        n = self.hex4()
        if 0xDC00 <= n <= 0xDFFF:
            raise JsonError("lone trailing surrogate")
        if not 0xD800 <= n <= 0xDBFF:
            return chr(n)
        if not self.s.startswith("\\u", self.i):
            raise JsonError("unexpected end of hex escape")
        self.i += 2
        n2 = self.hex4()
        if not 0xDC00 <= n2 <= 0xDFFF:
            raise JsonError("lone leading surrogate")
        return chr((((n - 0xD800) << 10) | (n2 - 0xDC00)) + 0x10000)

    # Numbers, step by step as serde_json reads them (without its
    # `float_roundtrip` feature, so floats come out the same, last bit too).

    def number(self, positive):
        c = self.peek()
        self.i += 1
        if c == "0":
            if self.peek_digit() is not None:
                raise JsonError("invalid number")
            return self.after_integer(positive, 0)
        if c == "" or c not in "123456789":
            raise JsonError("invalid number")
        significand = ord(c) - 48
        while True:
            digit = self.peek_digit()
            if digit is None:
                return self.after_integer(positive, significand)
            if _overflows(significand, digit, U64_MAX):
                return Number("float", self.long_integer(positive, significand))
            self.i += 1
            significand = significand * 10 + digit

    def after_integer(self, positive, significand):
        c = self.peek()
        if c == ".":
            return Number("float", self.decimal(positive, significand, 0))
        if c in ("e", "E"):
            return Number("float", self.exponent(positive, significand, 0))
        if positive:
            return Number("pos", significand)
        if significand == 0 or significand > (1 << 63):
            return Number("float", -float(significand))
        return Number("neg", -significand)

    def long_integer(self, positive, significand):
        exponent = 0
        while True:
            c = self.peek()
            if c != "" and c in DIGITS:
                self.i += 1
                exponent += 1
            elif c == ".":
                return self.decimal(positive, significand, exponent)
            elif c in ("e", "E"):
                return self.exponent(positive, significand, exponent)
            else:
                return _from_parts(positive, significand, exponent)

    def decimal(self, positive, significand, exponent_before):
        self.i += 1
        after = 0
        while True:
            digit = self.peek_digit()
            if digit is None:
                break
            if _overflows(significand, digit, U64_MAX):
                while self.peek_digit() is not None:
                    self.i += 1
                return self.after_decimal(positive, significand, exponent_before + after)
            self.i += 1
            significand = significand * 10 + digit
            after -= 1
        if after == 0:
            raise JsonError("invalid number")
        return self.after_decimal(positive, significand, exponent_before + after)

    def after_decimal(self, positive, significand, exponent):
        if self.peek() in ("e", "E"):
            return self.exponent(positive, significand, exponent)
        return _from_parts(positive, significand, exponent)

    def exponent(self, positive, significand, starting):
        self.i += 1
        positive_exp = True
        if self.peek() == "+":
            self.i += 1
        elif self.peek() == "-":
            self.i += 1
            positive_exp = False
        exp = self.peek_digit()
        if exp is None:
            raise JsonError("invalid number")
        self.i += 1
        while True:
            digit = self.peek_digit()
            if digit is None:
                break
            self.i += 1
            if _overflows(exp, digit, I32_MAX):
                if significand != 0 and positive_exp:
                    raise JsonError("number out of range")
                while self.peek_digit() is not None:
                    self.i += 1
                return 0.0 if positive else -0.0
            exp = exp * 10 + digit
        final = starting + exp if positive_exp else starting - exp
        return _from_parts(positive, significand, max(I32_MIN, min(I32_MAX, final)))


def _from_parts(positive, significand, exponent):
    f = float(significand)
    while True:
        if abs(exponent) < len(POW10):
            if exponent >= 0:
                f *= POW10[exponent]
                if math.isinf(f):
                    raise JsonError("number out of range")
            else:
                f /= POW10[-exponent]
            break
        if f == 0.0:
            break
        if exponent >= 0:
            raise JsonError("number out of range")
        f /= 1e308
        exponent += 308
    return f if positive else -f


# Writing.

_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_NAMED = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _escape(match):
    c = match.group()
    return _NAMED.get(c) or "\\u%04x" % ord(c)


def quote(text):
    return '"' + _ESCAPE.sub(_escape, text) + '"'


def dumps(value):
    """Compact JSON, as serde_json's `Value::to_string` writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Number):
        return format_f64(value.value) if value.kind == "float" else str(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(quote(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    raise TypeError("not a JSON value: %r" % (value,))


def format_f64(f):
    """A finite f64 the way serde_json writes it: shortest digits, plain
    notation for exponents -5..=15 ("100.0", "0.00001"), else "1.5e+16"."""
    if f == 0:
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    sign = "-" if f < 0 else ""
    mantissa, _, exp = repr(abs(f)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    e = len(whole) + (int(exp) if exp else 0) - (len(all_digits) - len(digits)) - 1
    digits = digits.rstrip("0") or "0"
    n = len(digits)
    if -5 <= e <= 15:
        if n - 1 <= e:
            text = digits + "0" * (e - n + 1) + ".0"
        elif e >= 0:
            text = digits[: e + 1] + "." + digits[e + 1 :]
        else:
            text = "0." + "0" * (-e - 1) + digits
    else:
        text = digits[0] + ("." + digits[1:] if n > 1 else "") + "e" + ("-" if e < 0 else "+") + str(abs(e))
    return sign + text
