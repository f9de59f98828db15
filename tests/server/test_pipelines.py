"""Published pipelines over the API: immutable numbered versions, their declared inputs, a default
version owners move, runs started with typed inputs, and Idempotency-Key on submissions."""
import os
import sys

from conftest import Api, weft
from test_api import make_token, submit, tar_of, wait

PIPE = """\
type: pipeline
experiment_name: published
inputs:
  lr: 0.1
  epochs: 3
  note: hello
  data: {type: uri_folder, path: ./data}
jobs:
  train:
    type: command
    code: src
    command: python train.py ${{inputs.lr}} ${{inputs.epochs}} ${{inputs.note}} ${{inputs.data}}
    environment: {image: python:3.11}
    inputs:
      lr: "${{parent.inputs.lr}}"
      epochs: "${{parent.inputs.epochs}}"
      note: "${{parent.inputs.note}}"
      data: "${{parent.inputs.data}}"
"""

FILES = {
    "p.yml": PIPE,
    "src/train.py": "import os, sys\nprint('args', *sys.argv[1:4], sorted(os.listdir(sys.argv[4])))\n",
    "data/a.csv": "x\n1\n",
    "other/b.csv": "x\n2\n",
}


def publish(api, files, name="train", expect=201, query=""):
    status, body = api.call("POST", f"/api/v1/pipelines?name={name}&file=p.yml{query}",
                            raw_body=tar_of(files), headers={"Content-Type": "application/x-tar"})
    assert status == expect, body
    return body


def start(api, body, expect=201, name="train", headers=None):
    status, out = api.call("POST", f"/api/v1/pipelines/{name}/runs", body, headers=headers)
    assert status == expect, out
    return out


def log_of(api, run):
    status, log = api.call("GET", f"/api/v1/runs/{run}/log?step=train")
    assert status == 200, log
    return log["text"]


def projects(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    return (Api(server, make_token(admin, "vision", "contributor", name="c")),
            Api(server, make_token(admin, "vision", "owner", name="o")),
            Api(server, make_token(admin, "vision", "reader", name="r")),
            Api(server, make_token(admin, "nlp", "owner", name="n")))


def test_versions_are_numbered_immutable_and_typed(server, admin):
    contributor, owner, reader, other = projects(server, admin)
    first = publish(contributor, FILES, query="&description=baseline")
    assert first["created"] and first["version"]["version"] == 1 and first["version"]["default"]
    assert first["version"]["description"] == "baseline"
    # The same files again are the same version, however the archive was made.
    again = publish(contributor, dict(reversed(list(FILES.items()))), expect=200)
    assert not again["created"] and again["version"]["version"] == 1
    assert again["version"]["digest"] == first["version"]["digest"]
    second = publish(contributor, {**FILES, "src/train.py": FILES["src/train.py"] + "# v2\n"})
    assert second["version"]["version"] == 2 and not second["version"]["default"]
    assert publish(reader, FILES, expect=403)["error"]["code"] == "denied"
    bad = publish(contributor, {**FILES, "p.yml": PIPE.replace("code: src", "code: ../../etc")}, name="bad", expect=400)
    assert "p.yml:" in bad["error"]["message"], bad
    assert publish(contributor, FILES, name="-x", expect=400)["error"]["message"].startswith("`-x` is not")

    status, listed = reader.call("GET", "/api/v1/pipelines")
    assert status == 200 and listed["pipelines"] == [
        {"project": "vision", "name": "train", "default_version": 1, "latest_version": 2}]
    status, shown = reader.call("GET", "/api/v1/pipelines/train")
    assert [v["version"] for v in shown["versions"]] == [1, 2] and shown["default_version"] == 1
    status, v1 = reader.call("GET", "/api/v1/pipelines/train/versions/default")
    assert status == 200 and v1["version"]["version"] == 1
    assert v1["inputs"] == [
        {"name": "lr", "type": "number", "default": 0.1, "optional": False},
        {"name": "epochs", "type": "integer", "default": 3, "optional": False},
        {"name": "note", "type": "string", "default": "hello", "optional": False},
        {"name": "data", "type": "uri_folder", "default": "./data", "optional": False}]
    assert reader.call("GET", "/api/v1/pipelines/train/versions/3")[0] == 404
    assert reader.call("GET", "/api/v1/pipelines/train/versions/zero")[0] == 400
    # Another project has no such pipeline.
    assert other.call("GET", "/api/v1/pipelines/train")[0] == 404
    assert other.call("GET", "/api/v1/pipelines")[1]["pipelines"] == []
    assert start(other, {}, expect=404)["error"]["message"] == "no published pipeline `train`"

    # Only owners move the default version.
    assert contributor.call("PUT", "/api/v1/pipelines/train/default", {"version": 2})[0] == 403
    assert owner.call("PUT", "/api/v1/pipelines/train/default", {"version": 9})[0] == 404
    status, moved = owner.call("PUT", "/api/v1/pipelines/train/default", {"version": 2})
    assert status == 200 and moved["default_version"] == 2
    actions = [e["action"] for e in admin.call("GET", "/api/v1/audit?project=vision")[1]["entries"]]
    assert actions.count("pipeline.publish") == 2 and "pipeline.default" in actions


def test_runs_of_a_version_take_typed_inputs(server, admin):
    contributor, owner, reader, other = projects(server, admin)
    publish(contributor, FILES)
    run = start(contributor, {"inputs": {"lr": 0.5, "epochs": 7, "note": "second", "data": "./other"},
                              "experiment": "sweep-1", "tags": {"who": "ci"}})["run"]
    assert run["experiment"] == "sweep-1"
    assert run["tags"] == {"who": "ci", "weft.pipeline": "train:1"}
    done = wait(contributor, run["id"])
    assert done["status"] == "succeeded", done
    assert "args 0.5 7 second ['b.csv']" in log_of(contributor, run["id"])
    # Defaults, and the run is found by the version it ran.
    plain = wait(contributor, start(contributor, {})["run"]["id"])
    assert "args 0.1 3 hello ['a.csv']" in log_of(contributor, plain["id"])
    status, tagged = reader.call("GET", "/api/v1/runs?tag=weft.pipeline%3Dtrain%3A1")
    assert {r["id"] for r in tagged["runs"]} == {run["id"], plain["id"]}

    before = len(reader.call("GET", "/api/v1/runs")[1]["runs"])
    for inputs, words in (({"epochs": "many"}, ["epochs", "integer"]),
                          ({"lr": True}, ["lr", "number"]),
                          ({"nope": 1}, ["nope"]),
                          ({"lr": [1]}, ["inputs.lr"]),
                          ({"data": "/etc"}, ["data"])):
        err = start(contributor, {"inputs": inputs}, expect=400)["error"]["message"]
        assert all(w in err for w in words), (inputs, err)
    # A path outside the version's files is refused the same whether or not it exists there.
    there = start(contributor, {"inputs": {"data": "/etc"}}, expect=400)["error"]["message"]
    nowhere = start(contributor, {"inputs": {"data": "/no/such/folder"}}, expect=400)["error"]["message"]
    assert there.replace("/etc", "P") == nowhere.replace("/no/such/folder", "P"), (there, nowhere)
    assert start(contributor, {"inputs": {}, "colour": "red"}, expect=400)
    assert start(contributor, {"version": 5}, expect=404)
    assert start(reader, {}, expect=403)["error"]["code"] == "denied"
    assert len(reader.call("GET", "/api/v1/runs")[1]["runs"]) == before  # nothing started


def test_an_idempotency_key_starts_one_run(server, admin):
    contributor, owner, reader, other = projects(server, admin)
    publish(contributor, FILES)
    key = {"Idempotency-Key": "nightly-2026-11-29"}
    first = contributor.raw("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": 0.2}},
                            token=contributor.token, headers=key)
    assert first[0] == 201, first
    again = contributor.raw("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": 0.2}},
                            token=contributor.token, headers=key)
    assert again[0] == 200 and again[1].get("Idempotent-Replayed") == "true", again
    assert again[2]["run"]["id"] == first[2]["run"]["id"]
    status, err = contributor.call("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": 0.3}},
                                   headers=key)
    assert status == 400 and "another request" in err["error"]["message"]
    # A key is a project's: another project's same key is its own.
    publish(other, FILES)
    theirs = other.raw("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": 0.2}},
                       token=other.token, headers=key)
    assert theirs[0] == 201 and theirs[2]["run"]["id"] != first[2]["run"]["id"]
    # A request that started nothing leaves its key free for a corrected one.
    bad_key = {"Idempotency-Key": "fix-me"}
    assert contributor.call("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": "x"}},
                            headers=bad_key)[0] == 400
    assert contributor.call("POST", "/api/v1/pipelines/train/runs", {"inputs": {"lr": "x"}},
                            headers=bad_key)[0] == 400
    # Submissions of files take a key too.
    tar_key = {"Idempotency-Key": "upload-1"}
    one = contributor.raw("POST", "/api/v1/runs?file=p.yml", raw_body=tar_of(FILES), token=contributor.token,
                          headers={**tar_key, "Content-Type": "application/x-tar"})
    two = contributor.raw("POST", "/api/v1/runs?file=p.yml", raw_body=tar_of(FILES), token=contributor.token,
                          headers={**tar_key, "Content-Type": "application/x-tar"})
    assert (one[0], two[0]) == (201, 200) and one[2]["run"]["id"] == two[2]["run"]["id"]
    wait(contributor, one[2]["run"]["id"])
    assert submit(contributor, FILES)["id"] != one[2]["run"]["id"]  # no key: a new run


def test_weft_publish_sends_the_pipelines_folder_as_the_client_does(server, admin, workdir):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from weft import Client

    contributor, owner, reader, other = projects(server, admin)
    folder = os.path.join(workdir, "the project")
    for name, text in {**FILES, ".git/config": "secret", ".weft/weft.db": "x"}.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token}
    pipeline = os.path.join(folder, "p.yml")
    first = weft("publish", pipeline, "--name", "train", "--description", "from the cli", env=env)
    assert first.stdout.startswith("train published as version 1 (sha256:"), first.stdout
    again = weft("publish", pipeline, "--name", "train", env=env)
    assert again.stdout.startswith("train already has these files as version 1"), again.stdout
    # The Python client sends the same files: the same version.
    assert Client(server.url, contributor.token).publish(pipeline, "train")["version"] == 1
    assert len(reader.call("GET", "/api/v1/pipelines/train")[1]["versions"]) == 1
    nowhere = weft("publish", pipeline, "--name", "train", check=False)
    assert nowhere.returncode == 2 and "--server" in nowhere.stderr
    denied = weft("publish", pipeline, "--name", "x", env={**env, "WEFT_TOKEN": reader.token}, check=False)
    assert denied.returncode == 77 and "contributor" in denied.stderr, denied.stderr
