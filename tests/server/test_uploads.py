"""Uploads deduplicated by content: a manifest of digests first, then only what the project has
not sent; an unchanged folder is sent as its manifest alone, through the API and `weft run
--server` alike."""
import hashlib
import io
import os
import shutil
import tarfile
import tempfile

from conftest import Api, weft
from test_api import HELD, PIPELINE, make_token, wait


def manifest(files):
    return {"files": [{"path": p, "digest": hashlib.sha256(b).hexdigest(), "size": len(b),
                       "executable": p.endswith(".sh")} for p, b in files.items()]}


def contents(blobs, names=None):
    """A tar of `blobs`, each named by its SHA-256 (or by `names`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i, b in enumerate(blobs):
            info = tarfile.TarInfo(names[i] if names else hashlib.sha256(b).hexdigest())
            info.size = len(b)
            t.addfile(info, io.BytesIO(b))
    return buf.getvalue()


def send(api, blobs):
    return api.call("POST", "/api/v1/uploads/contents", raw_body=contents(blobs),
                    headers={"Content-Type": "application/x-tar"})


def test_only_missing_contents_are_sent_and_runs_name_the_upload(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    vision = Api(server, make_token(admin, "vision", "contributor", name="v"))
    nlp = Api(server, make_token(admin, "nlp", "contributor", name="n"))
    reader = Api(server, make_token(admin, "vision", "reader", name="r"))
    code = {f"src/m{i}.py": f"x = {i}\n".encode() for i in range(200)}
    files = {"p.yml": PIPELINE.encode(), "run.sh": b"#!/bin/sh\n", **code}

    assert reader.call("POST", "/api/v1/uploads", manifest(files))[0] == 403
    status, body = vision.call("POST", "/api/v1/uploads", manifest(files))
    assert status == 200 and body["upload"] is None and len(body["missing"]) == 202, body
    # A content whose bytes are not its name is refused.
    bad = contents([b"a"], names=[hashlib.sha256(b"b").hexdigest()])
    status, body = vision.call("POST", "/api/v1/uploads/contents", raw_body=bad,
                               headers={"Content-Type": "application/x-tar"})
    assert status == 400 and "another SHA-256" in body["error"]["message"], body
    status, body = send(vision, list(files.values()))
    assert status == 200 and body == {"kept": 202}, body
    status, body = vision.call("POST", "/api/v1/uploads", manifest(files))
    assert status == 200 and body["missing"] == [] and len(body["upload"]) == 64, body
    upload = body["upload"]

    status, body = vision.call("POST", f"/api/v1/runs?file=p.yml&upload={upload}")
    assert status == 201, body
    assert wait(vision, body["run"]["id"])["status"] == "succeeded"
    # Another project neither learns what was sent nor names the upload.
    status, body = nlp.call("POST", "/api/v1/uploads", manifest(files))
    assert len(body["missing"]) == 202, body
    status, body = nlp.call("POST", f"/api/v1/runs?file=p.yml&upload={upload}")
    assert status == 404, body
    status, body = vision.call("POST", "/api/v1/runs?file=p.yml&upload=../" + upload)
    assert status == 404, body

    # One file changed: only its content is missing.
    files["src/m7.py"] = b"x = 'seven'\n"
    status, body = vision.call("POST", "/api/v1/uploads", manifest(files))
    assert body["missing"] == [hashlib.sha256(b"x = 'seven'\n").hexdigest()], body


def test_weft_run_through_a_server_sends_an_unchanged_folder_once(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    token = make_token(admin, "vision", "contributor")
    folder = os.path.join(workdir, "project")
    os.makedirs(os.path.join(folder, "src"))
    with open(os.path.join(folder, "p.yml"), "w") as f:
        f.write(PIPELINE)
    for i in range(300):
        with open(os.path.join(folder, "src", f"m{i}.py"), "w") as f:
            f.write(f"x = {i}\n")
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": token}
    files_dir = os.path.join(server.workspace, ".weft", "uploads", "vision", "files")

    def kept():
        return sorted(os.listdir(files_dir))

    weft("run", "p.yml", env=env, cwd=folder)
    first = kept()
    assert len(first) == 301, len(first)
    mtimes = {n: os.stat(os.path.join(files_dir, n)).st_mtime_ns for n in first}
    weft("run", "p.yml", env=env, cwd=folder)
    assert kept() == first
    assert all(os.stat(os.path.join(files_dir, n)).st_mtime_ns == t for n, t in mtimes.items())
    with open(os.path.join(folder, "src", "m3.py"), "w") as f:
        f.write("x = 'three'\n")
    weft("run", "p.yml", env=env, cwd=folder)
    assert len(kept()) == 302


def test_weft_validate_through_a_server_prints_what_it_prints_here(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": make_token(admin, "vision", "contributor")}
    folder = os.path.join(workdir, "project")
    os.makedirs(folder)
    cases = {
        "good.yml": PIPELINE,
        "typo.yml": PIPELINE.replace("    command:", "    comand:"),
        "graph.yml": PIPELINE.replace("echo hello", "cat ${{inputs.missing}}"),
    }
    for name, text in cases.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    for name in cases:
        here = weft("validate", name, cwd=folder, check=False)
        there = weft("validate", name, cwd=folder, env=env, check=False)
        assert (here.returncode, here.stdout, here.stderr) == (there.returncode, there.stdout, there.stderr), name
        assert (here.returncode == 0) == (name == "good.yml"), (name, here.stderr)
        if name != "good.yml":
            assert f"{name}:" in here.stderr and str(server.workspace) not in there.stderr, there.stderr


def test_a_run_of_an_upload_sent_by_manifest_resumes_from_it(server, admin):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    vision = Api(server, make_token(admin, "vision", "contributor"))
    flag_dir = tempfile.mkdtemp(prefix="weft-flag-")
    flag = os.path.join(flag_dir, "fail")
    open(flag, "w").close()
    files = {"p.yml": HELD.replace("while [ -e HOLD ]; do sleep 0.1; done; ", f"test ! -e {flag} && ").encode(),
             "notes.txt": b"not read\n"}
    status, body = vision.call("POST", "/api/v1/uploads", manifest(files))
    assert send(vision, list(files.values()))[0] == 200
    upload = vision.call("POST", "/api/v1/uploads", manifest(files))[1]["upload"]
    status, body = vision.call("POST", f"/api/v1/runs?file=p.yml&upload={upload}")
    assert status == 201, body
    run = body["run"]["id"]
    assert wait(vision, run)["status"] == "failed"
    os.remove(flag)
    status, body = vision.call("POST", f"/api/v1/runs/{run}/resume")
    assert status in (200, 201), body
    done = wait(vision, body["run"]["id"])
    assert [s["status"] for s in done["steps"]] == ["reused", "succeeded"], done
    shutil.rmtree(flag_dir, ignore_errors=True)
