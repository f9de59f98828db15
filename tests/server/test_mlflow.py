"""The MLflow tracking endpoint (/api/2.0/mlflow): contract tests with the request and response
bodies of MLflow's REST reference (https://mlflow.org/docs/latest/rest-api.html), since no
MLflow client can be installed here; a served step logs through it with the variables an MLflow
client reads (MLFLOW_TRACKING_URI, MLFLOW_RUN_ID, MLFLOW_TRACKING_TOKEN), and what it logs is the
step's, as `weft metrics` shows it."""
import http.client
import io
import json
import tarfile

from conftest import Api
from test_api import get_bytes, make_token, submit, wait
from test_results import two_projects

M = "/api/2.0/mlflow"


def mlflow(api, method, path, body=None, token="default"):
    """(status, body) of an MLflow call: GET bodies go in the query, as MLflow's client sends them."""
    if method == "GET" and body:
        from urllib.parse import urlencode
        path += "?" + urlencode(body)
        body = None
    return api.call(method, M + path, body, token=token)


def test_experiments_runs_and_what_they_log(server, admin):
    vision, nlp = two_projects(server, admin)
    # Every project has a Default experiment with id "0" (MLflow's client starts runs there).
    status, body = mlflow(vision, "GET", "/experiments/get", {"experiment_id": "0"})
    assert status == 200 and body["experiment"]["name"] == "Default", body
    status, body = mlflow(vision, "POST", "/experiments/create",
                          {"name": "churn", "tags": [{"key": "team", "value": "growth"}]})
    assert status == 200 and body == {"experiment_id": "1"}, body
    status, body = mlflow(vision, "POST", "/experiments/create", {"name": "churn"})
    assert status == 400 and body["error_code"] == "RESOURCE_ALREADY_EXISTS", body
    status, body = mlflow(vision, "GET", "/experiments/get-by-name", {"experiment_name": "churn"})
    assert status == 200 and body["experiment"]["experiment_id"] == "1", body
    assert body["experiment"]["tags"] == [{"key": "team", "value": "growth"}]
    status, body = mlflow(nlp, "GET", "/experiments/get-by-name", {"experiment_name": "churn"})
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST", body
    status, body = mlflow(vision, "POST", "/experiments/search", {"max_results": 1})
    assert [e["name"] for e in body["experiments"]] == ["Default"] and body["next_page_token"]
    status, body = mlflow(vision, "POST", "/experiments/search",
                          {"max_results": 1, "page_token": body["next_page_token"]})
    assert [e["name"] for e in body["experiments"]] == ["churn"] and "next_page_token" not in body

    runs = []
    for i, (alpha, losses) in enumerate([("0.1", [0.9, 0.4]), ("0.5", [0.8, 0.2]), ("1.0", [0.7, 0.6])]):
        status, body = mlflow(vision, "POST", "/runs/create",
                              {"experiment_id": "1", "run_name": f"try-{i}", "start_time": 1700000000000 + i,
                               "tags": [{"key": "mlflow.user", "value": "ana"}]})
        assert status == 200, body
        info = body["run"]["info"]
        assert info["status"] == "RUNNING" and info["experiment_id"] == "1" and info["run_name"] == f"try-{i}"
        assert info["run_id"] == info["run_uuid"] and len(info["run_id"]) == 32
        assert info["artifact_uri"] == f"mlflow-artifacts:/1/{info['run_id']}/artifacts"
        run = info["run_id"]
        runs.append(run)
        assert mlflow(vision, "POST", "/runs/log-parameter", {"run_id": run, "key": "alpha", "value": alpha}) == (200, {})
        status, body = mlflow(vision, "POST", "/runs/log-batch", {
            "run_id": run,
            "metrics": [{"key": "loss", "value": v, "timestamp": 1700000000000 + s, "step": s}
                        for s, v in enumerate(losses)],
            "params": [{"key": "alpha", "value": alpha}],  # the same value again is fine
            "tags": [{"key": "stage", "value": "dev"}]})
        assert (status, body) == (200, {}), body
        assert mlflow(vision, "POST", "/runs/log-metric",
                      {"run_id": run, "key": "acc", "value": 0.5 + i / 10, "timestamp": 1700000005000}) == (200, {})
        assert mlflow(vision, "POST", "/runs/set-tag", {"run_id": run, "key": "stage", "value": "final"}) == (200, {})

    # A param keeps its first value, as in MLflow.
    status, body = mlflow(vision, "POST", "/runs/log-parameter", {"run_id": runs[0], "key": "alpha", "value": "9"})
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert "Changing param values is not allowed" in body["message"]
    status, body = mlflow(vision, "POST", "/runs/log-metric", {"run_id": runs[0], "key": "../x", "value": 1})
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", body

    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": runs[0]})
    assert status == 200, body
    data = body["run"]["data"]
    latest = {m["key"]: (m["value"], m["step"]) for m in data["metrics"]}
    assert latest == {"loss": (0.4, 1), "acc": (0.5, 0)}, latest
    assert data["params"] == [{"key": "alpha", "value": "0.1"}]
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["stage"] == "final" and tags["mlflow.user"] == "ana" and tags["mlflow.runName"] == "try-0"
    status, body = mlflow(vision, "GET", "/metrics/get-history", {"run_id": runs[0], "metric_key": "loss"})
    assert [(m["value"], m["step"]) for m in body["metrics"]] == [(0.9, 0), (0.4, 1)], body

    assert mlflow(vision, "POST", "/runs/update", {"run_id": runs[0], "status": "FINISHED",
                                                   "end_time": 1700000009000})[0] == 200
    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": runs[0]})
    assert body["run"]["info"]["status"] == "FINISHED" and body["run"]["info"]["end_time"] == 1700000009000
    status, body = mlflow(vision, "POST", "/runs/update", {"run_id": runs[0], "status": "DONE"})
    assert status == 400, body

    # Search: MLflow's filter syntax and ordering.
    def search(**q):
        status, body = mlflow(vision, "POST", "/runs/search", {"experiment_ids": ["1"], **q})
        assert status == 200, body
        return [r["info"]["run_name"] for r in body.get("runs", [])], body

    assert search()[0] == ["try-2", "try-1", "try-0"]  # the newest first
    assert search(filter="metrics.loss < 0.5", order_by=["metrics.loss ASC"])[0] == ["try-1", "try-0"]
    assert search(filter="params.alpha = '0.5' and tags.stage = 'final'")[0] == ["try-1"]
    assert search(filter="attributes.status = 'FINISHED'")[0] == ["try-0"]
    assert search(filter="attributes.run_name LIKE 'try-%' and metrics.acc >= 0.6")[0] == ["try-2", "try-1"]
    assert search(filter="tags.`mlflow.user` ILIKE 'ANA'")[0] == ["try-2", "try-1", "try-0"]
    assert search(filter=f"attributes.run_id IN ('{runs[2]}', '{runs[0]}')")[0] == ["try-2", "try-0"]
    names, body = search(max_results=2, order_by=["params.alpha DESC"])
    assert names == ["try-2", "try-1"] and body["next_page_token"]
    assert search(max_results=2, order_by=["params.alpha DESC"], page_token=body["next_page_token"])[0] == ["try-0"]
    status, body = mlflow(vision, "POST", "/runs/search", {"experiment_ids": ["1"], "filter": "metrics.loss < 'x'"})
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE", body

    # Deleted runs leave searches that ask for active ones.
    assert mlflow(vision, "POST", "/runs/delete", {"run_id": runs[2]})[0] == 200
    assert search()[0] == ["try-1", "try-0"]
    assert search(run_view_type="DELETED_ONLY")[0] == ["try-2"]

    # Another project's run does not exist; a reader reads but does not write; no token: 401.
    status, body = mlflow(nlp, "GET", "/runs/get", {"run_id": runs[0]})
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST", body
    reader = Api(server, make_token(admin, "vision", "reader", name="r"))
    assert mlflow(reader, "GET", "/runs/get", {"run_id": runs[1]})[0] == 200
    status, body = mlflow(reader, "POST", "/runs/log-metric", {"run_id": runs[1], "key": "x", "value": 1})
    assert status == 403 and body["error_code"] == "PERMISSION_DENIED", body
    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": runs[1]}, token=None)
    assert status == 401 and body["error_code"] == "UNAUTHENTICATED", body
    status, body = mlflow(admin, "GET", "/runs/get", {"run_id": runs[1]})
    assert status == 403, body


def test_artifacts_of_runs_made_through_the_endpoint(server, admin):
    vision, nlp = two_projects(server, admin)
    run = mlflow(vision, "POST", "/runs/create", {"experiment_id": "0"})[1]["run"]["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts"

    def send(api, method, path, data=None):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request(method, path, body=data, headers={"Authorization": "Bearer " + api.token})
        r = conn.getresponse()
        return r.status, r.read()

    assert send(vision, "PUT", base + "/model/MLmodel", b"flavors: {}\n")[0] == 200
    assert send(vision, "PUT", base + "/notes.txt", b"hello")[0] == 200
    status, listing = send(vision, "GET", f"/api/2.0/mlflow-artifacts/artifacts?path=0/{run}/artifacts")
    assert status == 200, listing
    files = json.loads(listing)["files"]
    assert files == [{"path": "model", "is_dir": True}, {"path": "notes.txt", "is_dir": False, "file_size": 5}], files
    assert send(vision, "GET", base + "/model/MLmodel") == (200, b"flavors: {}\n")
    # Nothing outside the run's artifacts, nothing of another project's run.
    status, body = send(vision, "PUT", base + "/../../x", b"no")
    assert status in (400, 404), body
    assert send(nlp, "GET", base + "/notes.txt")[0] == 404
    assert send(vision, "GET", f"/api/2.0/mlflow-artifacts/artifacts/0/{run}/metrics.jsonl")[0] == 404


TRACKED = """\
type: pipeline
experiment_name: tracked
jobs:
  track:
    type: command
    code: src
    command: python track.py ${{outputs.out}}
    environment: {image: python:3.11}
    outputs: {out: }
"""

# What an MLflow 2.x client sends for `with mlflow.start_run(): mlflow.log_params(...);
# mlflow.log_metric(...)` in a job that sets MLFLOW_RUN_ID: it reads the run, marks it running,
# logs, and marks it finished.
TRACK_PY = """\
import json, os, sys, urllib.error, urllib.request
url, run = os.environ["MLFLOW_TRACKING_URI"], os.environ["MLFLOW_RUN_ID"]
token = os.environ["MLFLOW_TRACKING_TOKEN"]
def call(method, path, body=None):
    req = urllib.request.Request(url + "/api/2.0/mlflow/" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
info = call("GET", "runs/get?run_id=" + run)["run"]["info"]
assert info["status"] == "RUNNING" and info["run_name"] == "track", info
assert os.environ["MLFLOW_EXPERIMENT_NAME"] == "tracked"
call("POST", "runs/update", {"run_id": run, "status": "RUNNING"})
call("POST", "runs/log-batch", {"run_id": run, "params": [{"key": "alpha", "value": "0.1"}],
                                "tags": [{"key": "team", "value": "vision"}],
                                "metrics": [{"key": "loss", "value": v, "timestamp": 1700000000000 + s,
                                             "step": s} for s, v in enumerate([1.5, 0.5])]})
call("POST", "runs/log-metric", {"run_id": run, "key": "acc", "value": 0.9, "timestamp": 1700000002000})
hist = call("GET", "metrics/get-history?run_id=" + run + "&metric_key=loss")["metrics"]
assert [m["value"] for m in hist] == [1.5, 0.5], hist
try:  # the token is for this run only
    call("POST", "experiments/create", {"name": "elsewhere"})
    sys.exit("a step's token made an experiment")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
print("my token is", token, flush=True)
open(os.path.join(sys.argv[1], "token"), "w").write(token)
call("POST", "runs/update", {"run_id": run, "status": "FINISHED", "end_time": 1700000003000})
"""


def test_a_served_step_logs_through_the_endpoint_into_its_own_metrics(server, admin):
    vision, nlp = two_projects(server, admin)
    run = wait(vision, submit(vision, {"p.yml": TRACKED, "src/track.py": TRACK_PY})["id"])
    status, log = vision.call("GET", f"/api/v1/runs/{run['id']}/log?step=track")
    assert run["status"] == "succeeded", (run, log)
    # The token is masked in what weft keeps of the step.
    assert "my token is [secret]" in log["text"] and "weftml_" not in log["text"], log

    # What the step logged is the step's: `weft metrics` (the API's) shows it.
    status, body = vision.call("GET", f"/api/v1/runs/{run['id']}/metrics?step=track")
    step = body["steps"][0]
    assert step["params"] == {"alpha": "0.1"} and step["tags"]["team"] == "vision", step
    assert sorted(m["name"] for m in step["metrics"]) == ["acc", "loss"], step

    # The step is an MLflow run: found by id and by its experiment.
    mlflow_id = f"{run['id']}-0-0-1"
    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": mlflow_id})
    assert status == 200, body
    assert body["run"]["info"]["status"] == "FINISHED" and body["run"]["info"]["end_time"] > 0
    latest = {m["key"]: m["value"] for m in body["run"]["data"]["metrics"]}
    assert latest == {"loss": 0.5, "acc": 0.9}, latest
    experiment = mlflow(vision, "GET", "/experiments/get-by-name", {"experiment_name": "tracked"})[1]
    ids = [experiment["experiment"]["experiment_id"]]
    status, body = mlflow(vision, "POST", "/runs/search", {"experiment_ids": ids, "filter": "metrics.acc > 0.5"})
    assert [r["info"]["run_id"] for r in body["runs"]] == [mlflow_id], body
    assert mlflow(nlp, "GET", "/runs/get", {"run_id": mlflow_id})[0] == 404

    # The step's token ended with its job.
    status, _, data = get_bytes(vision, f"/api/v1/runs/{run['id']}/download?output=track.out")
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        token = t.extractfile("track.out/token").read().decode()
    assert token.startswith("weftml_" + mlflow_id + "_")
    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": mlflow_id}, token=token)
    assert status == 401 and body["error_code"] == "UNAUTHENTICATED", body
    status, body = mlflow(vision, "GET", "/runs/get", {"run_id": mlflow_id}, token=token[:-4] + "0000")
    assert status == 401, body
