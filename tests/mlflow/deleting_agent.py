"""An agent (gavel's JSON-lines protocol) that deletes an MLflow run when it
is first called: the run `gavel eval --mlflow-run-id` checked before it
started is gone by the time the results are logged.

Reads the tracking server from MLFLOW_TRACKING_URI and the run from
GAVEL_TEST_DELETE_RUN.
"""
import json
import os
import sys
import urllib.request

deleted = False
for line in sys.stdin:
    request = json.loads(line)
    if not deleted:
        body = json.dumps({"run_id": os.environ["GAVEL_TEST_DELETE_RUN"]}).encode()
        url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/delete"
        post = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(post).read()
        deleted = True
    print(json.dumps({"response": "answer to " + request["request_id"]}), flush=True)
