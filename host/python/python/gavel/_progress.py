"""The progress bar of a running evaluation: tqdm's (a widget in notebooks)
when tqdm is installed, else one line on stderr."""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional


class Bar:
    def __init__(self) -> None:
        self._bar: Any = None
        self._line = False
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

            self._tqdm: Optional[Callable[..., object]] = tqdm
        except ImportError:
            self._tqdm = None

    def __call__(self, finished: int, total: int) -> None:
        if total == 0:
            return
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=total, unit="row", desc="gavel")
            self._bar.total = total
            self._bar.n = finished
            self._bar.refresh()
        elif sys.stderr.isatty():
            sys.stderr.write(f"\rgavel: {finished}/{total} rows")
            sys.stderr.flush()
            self._line = True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._line:
            sys.stderr.write("\n")
