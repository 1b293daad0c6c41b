"""A JSON-lines agent for gavel's tests: what it does depends on a keyword
in the request. argv[1], when given, is an MLflow trace file for TRACE."""
import json
import os
import sys
import time

TRACE = json.load(open(sys.argv[1])) if len(sys.argv) > 1 else None

for line in sys.stdin:
    request = json.loads(line)
    question = request["messages"][-1]["content"]
    text = f"Agent answer to {request['request_id']}"
    if "CRASH" in question:
        print("boom: the agent cannot handle this request", file=sys.stderr, flush=True)
        sys.exit(3)
    elif "HANG" in question:
        time.sleep(3600)
    elif "GARBAGE" in question:
        answer = None
        print("Sure! Here is my answer: 42", flush=True)
        continue
    elif "STRING" in question:
        answer = text
    elif "LIST" in question:
        answer = [text, "second part"]
    elif "CONTENT" in question:
        answer = {"content": text}
    elif "COMPLETION" in question:
        answer = {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
        }
    elif "TRACE" in question:
        answer = {"response": text, "trace": TRACE}
    else:
        answer = {
            "response": text,
            "retrieved_context": [{"content": "AGENT-CHUNK " + request["request_id"], "doc_uri": "doc_a"}],
            "usage": {"input_tokens": 100, "output_tokens": 20},
            "pid": os.getpid(),
        }
    print(json.dumps(answer), flush=True)
