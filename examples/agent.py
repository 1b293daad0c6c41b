"""A toy retrieval agent speaking gavel's JSON-lines protocol.

gavel starts it once (`gavel eval ... --agent-cmd "python3 examples/agent.py"`)
and writes one request per line on stdin:
    {"request_id": "...", "request": "...", "messages": [{"role": "user", "content": "..."}]}
It answers one JSON object per line on stdout; logs go to stderr.
"""
import json
import sys

DOCS = {
    "docs/mlflow.md": "MLflow is an open-source platform for managing the machine learning lifecycle.",
    "docs/spark.md": "Apache Spark is a unified analytics engine for large-scale data processing.",
    "docs/delta.md": "Delta Lake is a storage layer that brings ACID transactions to data lakes.",
    "docs/unity.md": "Unity Catalog is a unified governance solution for data and AI assets.",
}


def words(text):
    return {w.strip("?.,!").lower() for w in text.split() if len(w) > 3}


def answer(question):
    ranked = sorted(DOCS.items(), key=lambda doc: -len(words(question) & words(doc[1])))
    hits = [doc for doc in ranked[:2] if words(question) & words(doc[1])]
    response = hits[0][1] if hits else "I don't know."
    return {
        "response": response,
        "retrieved_context": [{"doc_uri": uri, "content": text} for uri, text in hits],
        # A real agent reports its LLM's usage; this one counts words.
        "usage": {"input_tokens": len(question.split()), "output_tokens": len(response.split())},
    }


for line in sys.stdin:
    request = json.loads(line)
    question = request["messages"][-1]["content"]
    print(f"answering {request['request_id']}", file=sys.stderr)
    print(json.dumps(answer(question)), flush=True)
