"""Shared by the Python API tests: a real OpenAI-compatible judge LLM on
127.0.0.1 (a scripted HTTP server), and gavel's caches kept in the
workspace's target directory."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

WORKSPACE = Path(__file__).resolve().parents[2]
os.environ.setdefault("GAVEL_CACHE_DIR", str(WORKSPACE / "target" / "test-cache"))
os.environ.pop("OPENAI_API_KEY", None)


def verdict(result: str, rationale: str) -> str:
    return json.dumps({"rationale": rationale, "result": result})


class TestLlm:
    """Answers every chat completion with ``script(body)`` after ``delay``
    seconds; records the requests and the peak number in flight."""

    def __init__(self) -> None:
        self.script: Callable[[Dict[str, Any]], str] = lambda body: verdict("yes", "Fine.")
        self.delay = 0.0
        self.requests: List[Dict[str, Any]] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        llm = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real servers: a connection per call would make
            # the server, not gavel, what a benchmark measures.
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with llm._lock:
                    llm.requests.append(body)
                    llm.in_flight += 1
                    llm.peak = max(llm.peak, llm.in_flight)
                try:
                    time.sleep(llm.delay)
                    content = llm.script(body)
                finally:
                    with llm._lock:
                        llm.in_flight -= 1
                reply = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def llm():
    server = TestLlm()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test in its own directory and run history."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAVEL_HISTORY", str(tmp_path / "history.sqlite"))
    yield tmp_path
