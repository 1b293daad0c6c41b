"""gavel.spark on Spark local[2] over many rows against an instant judge
LLM (tests/python/conftest.py's TestLlm, an OpenAI-compatible server on
127.0.0.1 answering at once); the response cache off.

    target/tools/py-venv/bin/python host/python/bench/spark_rows.py [ROWS] [--no-llm] [--no-baseline]

Two runs over the same ROWS (100,000) rows in 2 partitions:
  host   exact_match and token_count only: gavel's host, no LLM calls;
  llm    the safety judge: one LLM call per row (the mock server, a Python
         ThreadingHTTPServer in a process of its own, is the limit: a few
         hundred requests a second).
Each prints its wall time (gavel.spark.evaluate from call to return: row
checks, judging, the merged run on the driver, the results DataFrame) as
rows/s, and the peak resident memory (VmHWM in /proc/PID/status) of every
Python worker process that ran a task (in local mode the executor is the
driver's JVM; its tasks run gavel in these workers) and of the JVM. The
baseline is gavel.evaluate on one machine over the same rows (host run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import gavel
import gavel.spark

WORKSPACE = Path(__file__).resolve().parents[3]
PARTITIONS = 2
#: Runs tests/python/conftest.py's TestLlm until its stdin closes; prints
#: its URL, then its request count and peak in flight.
SERVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from conftest import TestLlm
llm = TestLlm()
print(llm.base_url, flush=True)
sys.stdin.read()
print(json.dumps({"requests": len(llm.requests), "peak": llm.peak}), flush=True)
"""


class MockLlm:
    """The instant judge LLM in a process of its own, so that serving it
    does not compete with the driver for this process's GIL."""

    def __enter__(self) -> "MockLlm":
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(WORKSPACE / "tests" / "python")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        self.stats: Dict[str, Any] = {}
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self.process.communicate("", timeout=60)
        self.stats = json.loads(out.strip().splitlines()[-1])


def descendants(root: int) -> List[int]:
    """Every process below ``root``, from /proc."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def peak_rss_mib(pid: int) -> Optional[float]:
    """The process's peak resident set (VmHWM), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class PeakMemory:
    """Samples the peak RSS of this process's Spark processes (the JVM and
    the Python workers) until stopped: a worker that exits keeps its last
    reading."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.workers: Dict[int, float] = {}
        self.jvm: Dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in descendants(os.getpid()):
            line = command_line(pid)
            peak = peak_rss_mib(pid)
            if peak is None:
                continue
            if "pyspark.daemon" in line or "pyspark.worker" in line:
                self.workers[pid] = max(peak, self.workers.get(pid, 0.0))
            elif "java" in line.split(" ", 1)[0]:
                self.jvm[pid] = max(peak, self.jvm.get(pid, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "PeakMemory":
        # Workers are reused from run to run: their peaks start again here
        # (writing 5 to clear_refs resets VmHWM).
        for pid in descendants(os.getpid()):
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as clear:
                    clear.write("5")
            except OSError:
                pass
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def timed(label: str, rows: int, run: Callable[[], object], memory: Optional[PeakMemory] = None) -> None:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    line = f"{label:<22} {elapsed:7.1f} s  {rows / elapsed:8.0f} rows/s"
    if memory is not None:
        workers = sorted(memory.workers.values(), reverse=True)
        line += "  peak RSS per Python worker: " + ", ".join(f"{w:.0f}" for w in workers) + " MiB"
        line += f"; JVM {max(memory.jvm.values(), default=0):.0f} MiB"
    print(line, flush=True)


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = int(arguments[0]) if arguments else 100_000
    with_llm = "--no-llm" not in sys.argv
    baseline = "--no-baseline" not in sys.argv
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master(f"local[{PARTITIONS}]")
        .appName("gavel-bench")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    n = F.col("id")
    frame = spark.range(0, rows, 1, PARTITIONS).select(
        F.concat(F.lit("What is "), n.cast("string"), F.lit(" squared?")).alias("request"),
        F.concat(F.lit("It is "), (n * n).cast("string"), F.lit(".")).alias("response"),
        F.when(n % 2 == 0, F.concat(F.lit("It is "), (n * n).cast("string"), F.lit(".")))
        .otherwise(F.lit("Something else."))
        .alias("expected_response"),
    )
    work = Path(tempfile.mkdtemp(prefix="gavel-bench-spark-"))
    common: Dict[str, Any] = dict(cache=False, history=False)
    print(f"{rows} rows, Spark local[{PARTITIONS}], {PARTITIONS} partitions, {os.cpu_count()} cores", flush=True)
    try:
        # Starts the JVM's Python workers and caches the compiled judges.
        gavel.spark.evaluate(frame.limit(10), judges=["exact_match"], out=work / "warm", **common)
        host: Dict[str, Any] = dict(judges=["exact_match", "token_count"], **common)
        with PeakMemory() as memory:
            timed("spark host", rows, lambda: gavel.spark.evaluate(frame, out=work / "host", **host), memory)
        if baseline:
            data = [row.asDict() for row in frame.toLocalIterator()]
            timed("single machine host", rows,
                  lambda: gavel.evaluate(data, out=work / "single", progress=False, **host))
        if with_llm:
            with MockLlm() as llm:
                llm_run: Dict[str, Any] = dict(judges=["safety"], judge_base_url=llm.base_url, **common)
                with PeakMemory() as memory:
                    timed("spark llm (safety)", rows,
                          lambda: gavel.spark.evaluate(frame, out=work / "llm", **llm_run), memory)
            print(f"  LLM requests served: {llm.stats['requests']}, at most {llm.stats['peak']} at once", flush=True)
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
