"""Why a row could not be judged. Raise one of these from a judge; the host
records it as the judgment's error and moves on to the next row. Any other
exception is recorded as :class:`Failed` with its type and message."""

from __future__ import annotations


class JudgeError(Exception):
    """The row could not be judged. Raised as is, it is recorded as
    :class:`Failed`; raise a subclass to say why."""

    @property
    def message(self) -> str:
        """The message the host records."""
        return str(self)


class MissingInput(JudgeError):
    """The row lacks something the judge needs: ``MissingInput("expected_response")``."""


class InvalidConfig(JudgeError):
    """The judge's options (or a criterion template) are not usable."""


class Failed(JudgeError):
    """Anything else."""


class UnparsableAnswer(JudgeError):
    """The LLM's answer could not be read as a verdict, even after the host
    asked it once more; the message holds both answers."""


class LlmError(JudgeError):
    """An LLM request failed and the judge could not go on. Raised as one of
    its subclasses."""


class NotAllowed(LlmError):
    """The endpoint alias is not granted to this judge; the message says how
    to grant it."""


class BudgetExceeded(LlmError):
    """This evaluation already made the number of LLM calls it may make."""

    def __init__(self, calls: int) -> None:
        super().__init__(f"LLM call budget exceeded ({calls} calls per evaluation)")
        self.calls = calls
        """The evaluation's budget."""


class LlmTimeout(LlmError):
    """The endpoint did not answer in time."""

    def __init__(self) -> None:
        super().__init__("LLM call timed out")


class Upstream(LlmError):
    """The endpoint failed (HTTP error, refused connection, malformed answer)
    after the host's retries."""
