"""The Python client (python/weft, standard library only) against a live server."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from weft import Client, WeftError  # noqa: E402

from test_api import make_token  # noqa: E402
from test_pipelines import FILES  # noqa: E402
from test_results import TRAIN, TRAIN_PY  # noqa: E402


def write(folder, files):
    for name, text in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def test_the_client_runs_reads_downloads_publishes_and_follows(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    token = make_token(admin, "vision", "contributor")
    c = Client(server.url, token)
    assert token not in repr(c)
    assert c.whoami()["project"] == "vision"

    folder = os.path.join(workdir, "project one")
    write(folder, {"p.yml": TRAIN, "src/train.py": TRAIN_PY, ".git/config": "secret", "x/__pycache__/a.pyc": ""})
    run = c.submit(os.path.join(folder, "p.yml"), experiment="from-python", tags={"who": "client"},
                   idempotency_key="client-1")
    assert c.submit(os.path.join(folder, "p.yml"), experiment="from-python", tags={"who": "client"},
                    idempotency_key="client-1")["id"] == run["id"]
    done = c.wait(run["id"], timeout=60)
    assert done["status"] == "succeeded" and done["experiment"] == "from-python", done
    uploads = os.path.join(server.workspace, ".weft", "uploads")
    sent = [os.path.relpath(os.path.join(here, n), uploads) for here, dirs, files in os.walk(uploads)
            for n in dirs + files]
    assert any(p.endswith("src/train.py") for p in sent), sent
    assert not any(".git" in p.split(os.sep) or "__pycache__" in p.split(os.sep) for p in sent), sent  # never sent
    text = "".join(c.logs(run["id"], "train"))
    assert text.count("\n") == 50 and "epoch line 49" in text
    assert c.search_logs(run["id"], "train", "line 7")[0]["line"] == 8
    drawn = c.graph(run["id"])
    assert [s["name"] for s in drawn["graph"]["steps"]] == ["train"] and drawn["steps"] == {"train": "succeeded"}
    (step,) = c.metrics(run["id"])
    assert step["params"] == {"lr": "0.1"}
    (series,) = c.metric_history([run["id"]], names=["loss"])
    assert len(series["points"]) == 3
    out = c.download(run["id"], "train.model", os.path.join(workdir, "out"))
    with open(os.path.join(out, "weights.txt")) as f:
        assert f.read() == "lr=0.1\n"
    assert [r["id"] for r in c.runs(tag="who=client")] == [run["id"]]

    with pytest.raises(WeftError) as e:
        c.run("r999")
    assert (e.value.status, e.value.code, e.value.message) == (404, "not_found", "no run `r999`")
    with pytest.raises(WeftError) as e:
        Client(server.url, "weft_000000000000_" + "0" * 64).runs()
    assert e.value.status == 401

    pipe = os.path.join(workdir, "published")
    write(pipe, FILES)
    version = c.publish(os.path.join(pipe, "p.yml"), "train", description="from python")
    assert version["version"] == 1 and version["description"] == "from python"
    assert c.pipelines()[0]["name"] == "train"
    assert [i["name"] for i in c.version("train")["inputs"]] == ["lr", "epochs", "note", "data"]
    with pytest.raises(WeftError) as e:
        c.trigger("train", {"epochs": "many"})
    assert e.value.status == 400 and "epochs" in e.value.message
    triggered = c.trigger("train", {"lr": 0.25}, tags={"via": "trigger"})
    seen = []
    for _, event, data in c.events(run=triggered["id"], last_event_id=0, timeout=60):
        seen.append(event)
        if event == "run.finished":
            assert data["status"] == "succeeded", data
            break
    assert seen[0] == "reset" and "run.started" in seen and "step" in seen, seen
    assert c.wait(triggered["id"], timeout=10)["tags"]["weft.pipeline"] == "train:1"


def test_the_client_manages_and_fires_schedules(server, admin, workdir):
    from test_schedules import EVERY_HOUR, PIPELINE
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    c = Client(server.url, make_token(admin, "vision", "owner"))
    folder = os.path.join(workdir, "scheduled")
    write(folder, {"schedule.yml": EVERY_HOUR.replace("0 * * * *", "15 6 * * 1-5"), "pipeline.yml": PIPELINE})
    made = c.create_schedule(os.path.join(folder, "schedule.yml"))
    assert made["name"] == "hourly" and made["trigger"]["expression"] == "15 6 * * 1-5"
    assert [s["name"] for s in c.schedules()] == ["hourly"]
    run = c.fire_schedule("hourly")
    assert c.wait(run, timeout=60)["tags"]["weft.schedule"] == "hourly"
    assert run in [f["run"] for f in c.schedule("hourly")["fires"]]
    assert not c.enable_schedule("hourly", False)["enabled"]
    assert c.delete_schedule("hourly") == {"deleted": "hourly"}
    with pytest.raises(WeftError) as e:
        c.schedule("hourly")
    assert e.value.status == 404 and e.value.message == "no schedule `hourly`"


def test_the_client_resumes_traces_and_manages_webhooks(server, admin, workdir):
    from test_api import PIPELINE
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    owner = Client(server.url, make_token(admin, "vision", "owner"))
    folder = os.path.join(workdir, "traced")
    write(folder, {"p.yml": PIPELINE})
    run = owner.wait(owner.submit(os.path.join(folder, "p.yml"))["id"], timeout=60)
    tree = owner.lineage(f"{run['id']}/hello.out")
    assert tree["tree"]["children"][0]["step"] == "hello", tree
    with pytest.raises(WeftError) as e:
        owner.resume(run["id"])
    assert e.value.status == 400 and "nothing to resume" in e.value.message
    hook = owner.add_webhook("http://127.0.0.1:9/never")
    assert len(hook["secret"]) == 64
    assert [w["id"] for w in owner.webhooks()] == [hook["id"]]
    assert owner.webhook_deliveries(hook["id"]) == []
    owner.delete_webhook(hook["id"])
    assert owner.webhooks() == []


def test_the_client_sends_what_weft_run_sends(server, admin, workdir):
    """The same files as `weft run --server`: .amlignore honoured, environments left out, links
    inside sent as files; links out of the folder and FIFOs refused by both, naming them."""
    from weft.client import _files
    import subprocess
    write(workdir, {"p.yml": "type: pipeline\njobs: {}\n", "src/train.py": "print(1)\n",
                    "src/.amlignore": "*.log\n/build/\n!keep.log\n**/*.ckpt\n*.py[co]\n",
                    "src/run.log": "x\n", "src/keep.log": "x\n", "src/build/out.bin": "x\n",
                    "src/lib/build/mod.py": "x\n", "src/lib/build/w.ckpt": "x\n", "src/t.pyc": "x\n",
                    "env/pyvenv.cfg": "home = /usr/bin\n", "env/lib/site.py": "x\n"})
    os.symlink("train.py", os.path.join(workdir, "src", "alias.py"))
    os.makedirs(os.path.join(workdir, "data", "empty"))
    sent, rel, empty = _files(os.path.join(workdir, "p.yml"), None)
    # (`ws`: the server's workspace, beside; its `.weft` is never sent, so it is an empty folder)
    assert rel == "p.yml" and empty == ["data/empty", "ws"], empty
    assert [p for p, _ in sent] == ["p.yml", "src/.amlignore", "src/alias.py", "src/keep.log",
                                    "src/lib/build/mod.py", "src/train.py"], sent
    os.symlink("/etc/passwd", os.path.join(workdir, "src", "passwd"))
    os.mkfifo(os.path.join(workdir, "src", "pipe"))
    with pytest.raises(ValueError) as refused:
        _files(os.path.join(workdir, "p.yml"), None)
    assert "`src/passwd` is a link out of the folder sent" in str(refused.value)
    assert "`src/pipe` is not a regular file, folder or link" in str(refused.value)
    admin.call("POST", "/api/v1/projects", {"name": "sends"})
    cli = subprocess.run([os.environ.get("WEFT_BIN", "weft"), "run", "p.yml", "--server", server.url],
                         cwd=workdir, capture_output=True, text=True,
                         env={**os.environ, "WEFT_TOKEN": make_token(admin, "sends", "contributor")})
    assert cli.returncode == 2, cli.stderr
    assert "`src/passwd` is a link out of the folder sent" in cli.stderr
    assert "`src/pipe` is not a regular file, folder or link" in cli.stderr
