"""The Python API's overhead against the CLI: the same 1,000 rows, the same
judge, the same mock judge LLM (tests/python/conftest.py's TestLlm, an
OpenAI-compatible server on 127.0.0.1 answering after DELAY seconds), the
same concurrency; the response cache off.

    target/tools/py-venv/bin/python host/python/bench/api_overhead.py [ROWS] [DELAY]

Prints the wall time of `gavel eval` and of `gavel.evaluate` on a
DataFrame, a list of dicts and the JSONL file, best of three each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(WORKSPACE / "tests" / "python"))

from conftest import TestLlm  # noqa: E402

import gavel  # noqa: E402


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    llm = TestLlm()
    llm.delay = delay
    gavel_bin = WORKSPACE / os.environ.get("GAVEL_BIN", "target/debug/gavel")
    data = [{"request_id": f"r{i}", "request": f"Question {i}?", "response": f"Answer {i}."} for i in range(rows)]
    work = Path(tempfile.mkdtemp(prefix="gavel-bench-"))
    path = work / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data))
    common = dict(judges=["safety"], judge_base_url=llm.base_url, cache=False, history=False, progress=False)

    def best(label: str, run) -> None:
        times = []
        for i in range(3):
            started = time.perf_counter()
            run(work / f"{label}-{i}")
            times.append(time.perf_counter() - started)
        print(f"{label:<10} {min(times):6.2f} s  ({rows / min(times):7.0f} rows/s)")

    def cli(out: Path) -> None:
        subprocess.run(
            [str(gavel_bin), "eval", str(path), "--judges", "safety", "--judge-base-url", llm.base_url,
             "--no-cache", "--no-history", "--out", str(out)],
            check=True, capture_output=True,
        )

    print(f"{rows} rows, one judge, mock latency {delay * 1000:.0f} ms")
    best("cli", cli)
    best("path", lambda out: gavel.evaluate(path, out=out, **common))
    best("list", lambda out: gavel.evaluate(data, out=out, **common))
    try:
        import pandas as pd

        frame = pd.DataFrame(data)
        best("dataframe", lambda out: gavel.evaluate(frame, out=out, **common))
    except ImportError:
        pass
    llm.close()


if __name__ == "__main__":
    main()
