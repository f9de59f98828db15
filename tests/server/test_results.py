"""What runs did and made, through the API: logs (ranges, search), metrics, explanations,
comparisons, downloads of outputs, and the live event stream. Every JSON answer is checked
against the server's OpenAPI document; another project's run is never found."""
import http.client
import io
import json
import os
import tarfile
import threading
import time

from conftest import Api, Server, weft
from test_api import get_bytes, make_token, submit, wait

TRAIN = """\
type: pipeline
experiment_name: results
jobs:
  train:
    type: command
    code: src
    command: python train.py ${{inputs.lr}} ${{outputs.model}}
    environment: {image: python:3.11}
    inputs: {lr: 0.1}
    outputs:
      model:
"""

TRAIN_PY = """\
import json, os, pathlib, sys
lr = float(sys.argv[1])
out = pathlib.Path(sys.argv[2])
(out / "sub").mkdir()
(out / "weights.txt").write_text(f"lr={lr}\\n")
(out / "sub" / "run.sh").write_text("#!/bin/sh\\n")
os.chmod(out / "sub" / "run.sh", 0o755)
with open(os.environ["WEFT_METRICS"], "a") as m:
    for epoch in range(3):
        m.write(json.dumps({"name": "loss", "value": lr * (3 - epoch), "step": epoch}) + "\\n")
    m.write(json.dumps({"param": "lr", "value": str(lr)}) + "\\n")
for i in range(50):
    print(f"epoch line {i} \u00e9t\u00e9", flush=True)
"""


def files(lr="0.1"):
    return {"p.yml": TRAIN.replace("lr: 0.1", f"lr: {lr}"), "src/train.py": TRAIN_PY}


def two_projects(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    return (Api(server, make_token(admin, "vision", "contributor", name="v")),
            Api(server, make_token(admin, "nlp", "contributor", name="n")))


def test_logs_metrics_explain_and_compare(server, admin):
    vision, nlp = two_projects(server, admin)
    first = wait(vision, submit(vision, files("0.1"))["id"])
    second = wait(vision, submit(vision, files("0.2"))["id"])
    assert first["status"] == second["status"] == "succeeded", (first, second)
    run = second["id"]

    # A log in ranges: `next` continues where a range ended, and never inside a character.
    status, whole = vision.call("GET", f"/api/v1/runs/{run}/log?step=train")
    assert status == 200 and whole["running"] is False and whole["jobs"] == [0]
    assert whole["text"].count("\n") == 50 and "epoch line 49 \u00e9t\u00e9" in whole["text"]
    assert whole["size"] == len(whole["text"].encode()) == whole["next"]
    text, offset = "", 0
    while offset < whole["size"]:
        status, part = vision.call("GET", f"/api/v1/runs/{run}/log?step=train&offset={offset}&limit=7")
        assert status == 200 and part["offset"] == offset and len(part["text"].encode()) <= 7, part
        assert part["next"] > offset, part  # progress, even when a character is cut at 7 bytes
        text, offset = text + part["text"], part["next"]
    assert text == whole["text"]
    assert vision.call("GET", f"/api/v1/runs/{run}/log?step=train&limit=0")[0] == 400
    assert vision.call("GET", f"/api/v1/runs/{run}/log?step=nope")[0] == 404
    assert vision.call("GET", f"/api/v1/runs/{run}/log")[0] == 400  # step is required

    # `weft logs` prints the same here and through the server.
    remote = {"WEFT_SERVER": server.url, "WEFT_TOKEN": vision.token}
    here = weft("logs", run, "train", "--workspace", server.workspace).stdout
    there = weft("logs", run, "train", env=remote).stdout
    assert here == there == whole["text"]
    for args in (["metrics", run], ["metrics", run, "train", "--history"], ["metrics", run, "--json"]):
        here = weft(*args, "--workspace", server.workspace).stdout
        there = weft(*args, env=remote).stdout
        assert here == there and "loss" in here, (args, here, there)

    status, found = vision.call("GET", f"/api/v1/runs/{run}/log/search?step=train&q=line%204&limit=5")
    assert status == 200 and found["more"] is True
    assert [m["line"] for m in found["matches"]] == [5, 41, 42, 43, 44]
    assert found["matches"][0]["text"] == "epoch line 4 \u00e9t\u00e9"

    status, metrics = vision.call("GET", f"/api/v1/runs/{run}/metrics")
    assert status == 200
    (step,) = metrics["steps"]
    assert step["params"] == {"lr": "0.2"}
    (loss,) = step["metrics"]
    assert (loss["name"], loss["count"]) == ("loss", 3)
    assert [round(loss[k], 6) for k in ("latest", "min", "max")] == [0.2, 0.2, 0.6]
    status, history = vision.call("GET", f"/api/v1/metrics?run={first['id']},{run}&name=loss")
    assert status == 200
    assert [(s["run"], s["name"], [round(p["value"], 6) for p in s["points"]]) for s in history["series"]] == [
        (first["id"], "loss", [0.3, 0.2, 0.1]), (run, "loss", [0.6, 0.4, 0.2])]
    assert [p["step"] for p in history["series"][0]["points"]] == [0, 1, 2]

    status, why = vision.call("GET", f"/api/v1/runs/{run}/explain?step=train")
    assert status == 200 and any("lr" in line and "0.1" in line and "0.2" in line for line in why["lines"]), why

    status, cmp = vision.call("GET", f"/api/v1/compare?run={first['id']}&run={run}&diff=true")
    assert status == 200 and cmp["runs"] == [first["id"], run]
    rows = {(r["kind"], r["name"]): r["values"] for r in cmp["rows"]}
    assert rows[("input", "lr")] == ["0.1", "0.2"] and all(r["differs"] for r in cmp["rows"])

    # Another project sees none of it, exactly as if the run did not exist.
    for path in (f"/api/v1/runs/{run}/log?step=train", f"/api/v1/runs/{run}/log/search?step=train&q=e",
                 f"/api/v1/runs/{run}/metrics", f"/api/v1/metrics?run={run}",
                 f"/api/v1/runs/{run}/explain?step=train", f"/api/v1/compare?run={first['id']}&run={run}",
                 f"/api/v1/runs/{run}/download?output=train.model"):
        status, body = nlp.call("GET", path)
        assert status == 404 and body["error"]["message"] == f"no run `{first['id'] if 'compare' in path else run}`", (path, body)
        assert vision.call("GET", path, token=None)[0] == 401


def test_an_output_downloads_as_a_tar_stream_and_is_audited(server, admin):
    vision, nlp = two_projects(server, admin)
    run = wait(vision, submit(vision, files())["id"])["id"]
    status, headers, data = get_bytes(vision, f"/api/v1/runs/{run}/download?output=train.model")
    assert status == 200, data
    assert headers["Content-Type"] == "application/x-tar"
    assert headers["Content-Disposition"] == f'attachment; filename="{run}-train.model.tar"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        members = {m.name: m for m in t.getmembers()}
        assert sorted(members) == ["train.model", "train.model/sub", "train.model/sub/run.sh",
                                   "train.model/weights.txt"]
        assert t.extractfile("train.model/weights.txt").read() == b"lr=0.1\n"
        assert members["train.model/sub/run.sh"].mode == 0o755
        assert members["train.model/weights.txt"].mode == 0o644
    status, body = vision.call("GET", f"/api/v1/runs/{run}/download?output=train.nope")
    assert status == 404 and "no output `nope`" in body["error"]["message"]
    assert vision.call("GET", f"/api/v1/runs/{run}/download?output=train")[0] == 400
    assert nlp.call("GET", f"/api/v1/runs/{run}/download?output=train.model")[0] == 404
    entries = admin.call("GET", "/api/v1/audit?project=vision")[1]["entries"]
    downloads = [e for e in entries if e["action"] == "download"]
    assert len(downloads) == 1 and downloads[0]["target"] == run and downloads[0]["detail"] == "train.model"


def test_an_outputs_files_are_listed_and_read_one_by_one_never_outside_it(server, admin):
    vision, nlp = two_projects(server, admin)
    run = wait(vision, submit(vision, files())["id"])["id"]
    status, top = vision.call("GET", f"/api/v1/runs/{run}/files?output=train.model")
    assert status == 200 and top["folder"] is True and top["more"] is False, top
    assert [(e["name"], e["type"]) for e in top["entries"]] == [("sub", "folder"), ("weights.txt", "file")]
    assert top["entries"][1]["size"] == len(b"lr=0.1\n")
    status, sub = vision.call("GET", f"/api/v1/runs/{run}/files?output=train.model&path=sub")
    assert status == 200 and [e["name"] for e in sub["entries"]] == ["run.sh"], sub
    status, headers, data = get_bytes(vision, f"/api/v1/runs/{run}/file?output=train.model&path=weights.txt")
    assert status == 200 and data == b"lr=0.1\n", data
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="weights.txt"'
    status, _, data = get_bytes(vision, f"/api/v1/runs/{run}/file?output=train.model&path=sub/run.sh")
    assert status == 200 and data == b"#!/bin/sh\n"
    # Nothing outside the output: not by `..`, not absolute, not a folder as a file.
    for bad in ("..", "../..", "sub/../..", "/etc/passwd", "sub//run.sh", "./weights.txt", "sub"):
        for what in ("files", "file"):
            if what == "files" and bad == "sub":
                continue
            status, _, data = get_bytes(vision, f"/api/v1/runs/{run}/{what}?output=train.model&path={bad}")
            assert status == 400, (what, bad, status, data)
    assert vision.call("GET", f"/api/v1/runs/{run}/files?output=train.model&path=nope")[0] == 404
    assert nlp.call("GET", f"/api/v1/runs/{run}/files?output=train.model")[0] == 404
    assert get_bytes(nlp, f"/api/v1/runs/{run}/file?output=train.model&path=weights.txt")[0] == 404
    entries = admin.call("GET", "/api/v1/audit?project=vision")[1]["entries"]
    details = [e["detail"] for e in entries if e["action"] == "download"]
    assert sorted(details) == ["train.model/sub/run.sh", "train.model/weights.txt"], details


class Events:
    """A reader of /api/v1/events on its own connection, collecting (id, event, data) frames."""

    def __init__(self, api, query="", last_event_id=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=60)
        headers = {"Authorization": "Bearer " + api.token}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/api/v1/events" + query, headers=headers)
        self.response = self.conn.getresponse()
        self.frames, self.comments = [], 0
        if self.response.status == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()

    def _read(self):
        frame = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "event" in frame:
                        self.frames.append((int(frame.get("id", -1)), frame["event"], json.loads(frame["data"])))
                    frame = {}
                else:
                    key, _, value = line.partition(": ")
                    frame[key] = value
        except Exception:  # (the test closed the connection under it: the stream is over)
            pass

    def until(self, predicate, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(predicate(f) for f in self.frames):
                return
            time.sleep(0.05)
        raise AssertionError(f"no such event in {self.frames}")

    def close(self):
        self.conn.close()


def test_events_stream_live_and_resume_from_the_last_id(workdir):
    server = Server(workdir + "/ws", "--event-heartbeat", "1")
    try:
        admin = Api(server, server.admin_token)
        vision, nlp = two_projects(server, admin)
        assert vision.raw("GET", "/api/v1/events", token=None)[0] == 401
        project = Events(vision)
        assert project.response.getheader("Content-Type") == "text/event-stream"
        with_logs = Events(vision, "?logs=true")
        other = Events(nlp)
        run = submit(vision, files())["id"]
        project.until(lambda f: f[1] == "run.finished" and f[2]["run"] == run)
        kinds = [f[1] for f in project.frames]
        assert kinds[0] == "run.started" and "step" in kinds and kinds[-1] == "run.finished", kinds
        assert "log" not in kinds  # a project's stream has log lines only when asked
        steps = [f[2]["status"] for f in project.frames if f[1] == "step"]
        assert steps[-1] == "succeeded", steps
        ids = [f[0] for f in project.frames]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        with_logs.until(lambda f: f[1] == "run.finished")
        logs = [f[2] for f in with_logs.frames if f[1] == "log"]
        assert [line["text"] for line in logs] == [f"epoch line {i} \u00e9t\u00e9" for i in range(50)], logs
        assert all(line["step"] == "train" and line["run"] == run for line in logs), logs[:2]
        # One run's stream, resumed from before it began, replays what the server kept of it.
        one_run = Events(vision, f"?run={run}", last_event_id=ids[0] - 1)
        one_run.until(lambda f: f[1] == "run.finished")
        assert {f[2]["run"] for f in one_run.frames} == {run}
        assert [f[0] for f in one_run.frames if f[1] != "log"] == ids
        assert len([f for f in one_run.frames if f[1] == "log"]) == 50
        # Nothing of project vision reaches project nlp's stream; heartbeats keep it open.
        time.sleep(2.5)
        assert other.frames == [] and other.comments >= 2
        # Resuming after an event gives exactly the ones after it.
        middle = project.frames[len(project.frames) // 2][0]
        resumed = Events(vision, last_event_id=middle)
        resumed.until(lambda f: f[1] == "run.finished")
        assert [f[0] for f in resumed.frames] == [i for i in ids if i > middle]
        # An id older than the server keeps (here: from before the server started) says so first.
        stale = Events(vision, last_event_id=1)
        stale.until(lambda f: f[1] == "run.finished")
        assert stale.frames[0][1] == "reset"
        for e in (project, with_logs, other, one_run, resumed, stale):
            e.close()
        time.sleep(3)  # the server notices closed streams when it next writes (heartbeats: 1 s)
        # A token may hold 16 streams at once; the 17th is refused until one closes.
        held = [Events(nlp) for _ in range(16)]
        assert all(h.response.status == 200 for h in held)
        refused = Events(nlp)
        assert refused.response.status == 429 and refused.response.getheader("Retry-After")
        assert json.loads(refused.response.read())["error"]["code"] == "busy"
        held[0].close()
        deadline = time.time() + 10  # the server notices at the stream's next heartbeat
        while time.time() < deadline:
            again = Events(nlp)
            if again.response.status == 200:
                break
            again.response.read()
            time.sleep(0.5)
        assert again.response.status == 200
        for h in held[1:] + [again]:
            h.close()
    finally:
        assert server.stop() == 0  # open streams do not keep the server from stopping


def test_weft_get_through_a_server_gives_what_it_gives_here(server, admin, workdir):
    vision, nlp = two_projects(server, admin)
    run = wait(vision, submit(vision, files())["id"])["id"]
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": vision.token}
    here = weft("get", run, "train.model", os.path.join(workdir, "here"), "--workspace", server.workspace)
    there = weft("get", run, "train.model", os.path.join(workdir, "there"), env=env)
    assert here.stdout.replace("here", "X") == there.stdout.replace("there", "X"), (here.stdout, there.stdout)

    def tree(root):
        out = {}
        for d, _, names in os.walk(root):
            for n in names:
                p = os.path.join(d, n)
                with open(p, "rb") as f:
                    out[os.path.relpath(p, root)] = (f.read(), os.access(p, os.X_OK))
        return out

    assert tree(os.path.join(workdir, "here")) == tree(os.path.join(workdir, "there"))
    assert tree(os.path.join(workdir, "there"))["sub/run.sh"][1]
    # An existing destination, another project's run: refused, nothing written.
    again = weft("get", run, "train.model", os.path.join(workdir, "there"), env=env, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    other = weft("get", run, "train.model", os.path.join(workdir, "nope"), check=False,
                 env={"WEFT_SERVER": server.url, "WEFT_TOKEN": nlp.token})
    assert other.returncode == 2 and "no run" in other.stderr, other.stderr
    assert not os.path.exists(os.path.join(workdir, "nope"))
    assert not [n for n in os.listdir(workdir) if n.startswith(".weft-get")]


def test_a_runs_graph_for_drawing_with_its_steps_statuses(server, admin, workdir):
    vision, nlp = two_projects(server, admin)
    two = TRAIN.replace("      model:\n", "      model:\n  evaluate:\n    type: command\n"
                        "    command: ls ${{inputs.m}}\n    environment: {image: python:3.11}\n"
                        "    inputs: {m: \"${{parent.jobs.train.outputs.model}}\"}\n")
    run = wait(vision, submit(vision, {"p.yml": two, "src/train.py": TRAIN_PY})["id"])
    assert run["status"] == "succeeded", run
    status, body = vision.call("GET", f"/api/v1/runs/{run['id']}/graph")
    assert status == 200, body
    assert [s["name"] for s in body["graph"]["steps"]] == ["train", "evaluate"], body
    assert body["steps"] == {"train": "succeeded", "evaluate": "succeeded"}
    (edge,) = body["graph"]["edges"]
    assert (edge["from"], edge["to"]) == ("train", "evaluate"), edge
    # The same for a run made here, by `weft run` on the workspace (read through its stored files).
    folder = os.path.join(workdir, "here")
    os.makedirs(os.path.join(folder, "src"))
    with open(os.path.join(folder, "p.yml"), "w") as f:
        f.write(two)
    with open(os.path.join(folder, "src", "train.py"), "w") as f:
        f.write(TRAIN_PY)
    weft("run", "p.yml", "--workspace", server.workspace, cwd=folder)
    local = admin.call("GET", "/api/v1/runs?project=local")[1]["runs"][0]["id"]
    status, body = admin.call("GET", f"/api/v1/runs/{local}/graph")
    assert status == 200 and body["steps"]["evaluate"] in ("succeeded", "reused"), body
    assert nlp.call("GET", f"/api/v1/runs/{run['id']}/graph")[0] == 404
