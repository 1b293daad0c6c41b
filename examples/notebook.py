# %% [markdown]
# # gavel from a notebook
#
# The reference's evaluation, from Python: a pandas DataFrame in, the judges'
# verdicts and metrics out. Run it cell by cell in Jupyter/VS Code, or as a
# script. It needs the package (`pip install "./host/python[pandas]"`) and a
# judge LLM: any OpenAI-compatible server, e.g. the README's llama.cpp
# command; set JUDGE_BASE_URL if it is not http://127.0.0.1:8080/v1.

# %%
import os
from pathlib import Path

import pandas as pd

import gavel

here = Path(__file__).resolve().parent if "__file__" in globals() else Path("examples")
judge_base_url = os.environ.get("JUDGE_BASE_URL", "http://127.0.0.1:8080/v1")

# %% [markdown]
# ## 1. Judge the responses you already have

# %%
eval_df = pd.read_json(here / "rag.jsonl", lines=True)
result = gavel.evaluate(eval_df, judge_base_url=judge_base_url, run_name="notebook-rag")
print(result.metrics["response/overall_assessment/rating/percentage"])
result.tables["eval_results"][["request_id", "response/overall_assessment/rating", "response/overall_assessment/rationale"]]

# %% [markdown]
# ## 2. Evaluate the application itself
#
# `agent=` is called as `mlflow.evaluate`'s `model=`: with the request in
# chat form, for every row without a response, from worker threads.

# %%
DOCS = {
    "docs/mlflow.md": "MLflow is an open-source platform for managing the machine learning lifecycle.",
    "docs/spark.md": "Apache Spark is a unified analytics engine for large-scale data processing.",
    "docs/delta.md": "Delta Lake is a storage layer that brings ACID transactions to data lakes.",
}


def my_agent(request):
    question = request["messages"][-1]["content"].lower()
    hits = [(uri, text) for uri, text in DOCS.items() if any(w in text.lower() for w in question.split() if len(w) > 4)]
    return {
        "response": hits[0][1] if hits else "I don't know.",
        "retrieved_context": [{"doc_uri": uri, "content": text} for uri, text in hits],
    }


questions = pd.read_json(here / "questions.jsonl", lines=True)
result = gavel.evaluate(
    questions,
    agent=my_agent,
    guidelines=["The response must be professional."],
    judge_base_url=judge_base_url,
    run_name="notebook-agent",
)
print({k: v for k, v in result.metrics.items() if k.endswith("/percentage")})
print("report:", result.report)

# %% [markdown]
# ## 3. One judge, one case

# %%
gavel.judge(
    "correctness",
    request="What is MLflow?",
    response="A tool for tracking experiments.",
    expected_facts=["MLflow is open source", "MLflow manages the ML lifecycle"],
    judge_base_url=judge_base_url,
)
