"""The SDK outside a component: declaring judges, verdicts, and the clear
errors the host's functions raise there. Run with
`python -m unittest discover sdk/python/tests`."""

from __future__ import annotations

import contextlib
import io
import unittest
from typing import Any

import gavel_judge
from gavel_judge import Assessment, Chunk, Judge, Options, Row, judge, no, score, yes
from gavel_judge import _judge


class Declaring(unittest.TestCase):
    def setUp(self) -> None:
        _judge._registered.clear()

    def test_a_decorated_function_is_registered_and_returned_unchanged(self) -> None:
        @judge(name="short", version="1.0.0", description="Short.",
               requires=["request", ["expected_response", "expected_facts"]])
        def short(row: Row, options: Options) -> Assessment:
            return yes("fine") if len(row.response or "") < options["max"] else no("long")

        self.assertEqual(short(Row(response="hi"), {"max": 5}), Assessment("yes", "fine"))
        declared = _judge.registered().description
        self.assertEqual(declared.name, "short")
        self.assertEqual(declared.assessment_type, "answer")
        self.assertEqual(
            declared.required_inputs, (("request",), ("expected_response", "expected_facts"))
        )
        self.assertEqual(declared.endpoints, ())

    def test_a_subclass_with_a_name_is_the_judge(self) -> None:
        class Base(Judge):
            def shared(self) -> str:
                return "shared"

        class Relevant(Base):
            name = "relevant"
            version = "2.0.0"
            assessment_type = "retrieval"
            requires = ["retrieved_context"]
            endpoints = ["big"]

            def evaluate(self, row: Row, options: Options) -> Assessment:
                return yes(self.shared())

        registered = _judge.registered()
        self.assertEqual(registered.description.name, "relevant")
        self.assertEqual(registered.description.endpoints, ("big",))
        self.assertEqual(registered.evaluate(Row(), {}).rationale, "shared")

    def test_declarations_are_checked_when_made(self) -> None:
        cases: list[dict[str, Any]] = [
            {"name": "Bad-Name"},
            {"version": ""},
            {"requires": ["respons"]},
            {"requires": [[]]},
            {"requires": "response"},
            {"assessment_type": "chunks"},
        ]
        for bad in cases:
            arguments: dict[str, Any] = dict(name="ok", version="1.0.0", description="")
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                judge(**(arguments | bad))

    def test_a_project_declares_exactly_one_judge(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "found none"):
            _judge.registered()
        for name in ("one", "two"):
            judge(name=name, version="1", description="")(lambda row, options: yes(""))
        with self.assertRaisesRegex(RuntimeError, "found one, two"):
            _judge.registered()


class Outside(unittest.TestCase):
    def test_rows_and_verdicts_are_plain_data(self) -> None:
        row = Row(request="q", retrieved_context=[Chunk(content="c", doc_uri="u")])
        self.assertIsNone(row.response)
        self.assertEqual(row.extra, {})
        self.assertEqual(row.retrieved_context[0].doc_uri, "u")
        self.assertEqual(score(4, "good"), Assessment(4, "good"))
        with self.assertRaises(TypeError):
            score(True, "a bool is not a score")

    def test_the_host_functions_say_where_they_work(self) -> None:
        for call in (
            lambda: gavel_judge.ask_yes_no("x"),
            lambda: gavel_judge.ask_score("x"),
            lambda: gavel_judge.rate_chunks("x"),
            lambda: gavel_judge.render("x"),
            lambda: gavel_judge.complete("x"),
        ):
            with self.assertRaisesRegex(RuntimeError, "only inside a judge component"):
                call()

    def test_log_writes_to_stderr(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            gavel_judge.log("hello", "warn")
        self.assertEqual(stderr.getvalue(), "[warn] hello\n")

    def test_errors_carry_their_message(self) -> None:
        self.assertEqual(gavel_judge.MissingInput("expected_response").message, "expected_response")
        self.assertEqual(gavel_judge.BudgetExceeded(3).calls, 3)
        self.assertIsInstance(gavel_judge.LlmTimeout(), gavel_judge.LlmError)


if __name__ == "__main__":
    unittest.main()
