"""The REST API of `weft serve`: tokens, roles, projects, the audit log, and what an HTTP server
facing users must refuse. Every answer is checked against the server's OpenAPI document."""
import http.client
import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import WEFT, Api, Server, weft

PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
experiment_name: served
jobs:
  hello:
    type: command
    command: echo hello > ${{outputs.out}}/greeting
    environment: {image: python:3.11}
    outputs:
      out:
"""


def _bare(server):
    """An Api that checks nothing against a document (for the health check alone)."""
    api = Api.__new__(Api)
    api.server, api.token, api.spec = server, None, None
    return api


def tar_of(files, extra=()):
    """A tar archive of {name: text}, then the TarInfo entries in `extra` (with no data)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for info in extra:
            t.addfile(info)
    return buf.getvalue()


def submit(api, files, file="p.yml", expect=201, extra=(), query=""):
    status, body = api.call("POST", f"/api/v1/runs?file={file}{query}",
                            raw_body=tar_of(files, extra), headers={"Content-Type": "application/x-tar"})
    assert status == expect, body
    return body["run"] if expect == 201 else body


def wait(api, run_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, run = api.call("GET", "/api/v1/runs/" + run_id)
        assert status == 200, run
        if run["status"] != "running":
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def get_bytes(api, path):
    """(status, headers, bytes) of a GET that answers something other than JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", api.server.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": "Bearer " + api.token})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def make_token(api, project, role, name="t"):
    status, body = api.call("POST", "/api/v1/tokens", {"name": name, "project": project, "role": role})
    assert status == 201, body
    return body["token"]


def local_run(server, workdir):
    """A run made by `weft run` on the server's workspace (project `local`)."""
    path = os.path.join(workdir, "p.yml")
    with open(path, "w") as f:
        f.write(PIPELINE)
    weft("run", path, "--workspace", server.workspace, cwd=workdir)


def test_health_needs_no_token_and_everything_else_does(server, admin):
    status, _, body = admin.raw("GET", "/api/v1/health")
    assert status == 200 and body["status"] == "ok"
    for template, item in admin.spec["paths"].items():
        path = re.sub(r"\{[^/]+\}", "x", template)
        for method, op in item.items():
            if not op["security"]:
                continue
            status, headers, body = admin.raw(method.upper(), path, body={} if method in ("post", "put") else None)
            assert status == 401, (method, path, status, body)
            assert headers.get("WWW-Authenticate") == "Bearer"
            for bad in ["Bearer nonsense", "Basic " + server.admin_token, "Bearer " + server.admin_token[:-1] + ("1" if server.admin_token.endswith("0") else "0")]:
                status, _, _ = admin.raw(method.upper(), path, headers={"Authorization": bad})
                assert status == 401, (method, path, bad)


def test_the_openapi_document_lists_every_route_the_server_answers(admin):
    # A route missing from the document would answer 200 where the client expects 404.
    paths = admin.spec["paths"]
    assert "/api/v1/runs" in paths and "/api/v1/runs/{run}" in paths and "/api/v1/tokens" in paths
    status, body = admin.call("GET", "/api/v1/nothing-here")
    assert status == 404 and "openapi.json" in body["error"]["message"]


def test_roles_decide_what_a_token_may_do(server, admin):
    assert admin.call("POST", "/api/v1/projects", {"name": "vision", "description": "images"})[0] == 201
    assert admin.call("POST", "/api/v1/projects", {"name": "nlp"})[0] == 201
    assert admin.call("POST", "/api/v1/projects", {"name": "vision"})[0] == 400  # exists
    assert admin.call("POST", "/api/v1/projects", {"name": "../x"})[0] == 400
    owner = Api(server, make_token(admin, "vision", "owner", "olga"))
    status, me = owner.call("GET", "/api/v1/whoami")
    assert status == 200 and me["project"] == "vision" and me["role"] == "owner"

    reader_token = make_token(owner, "vision", "reader", "ci")
    reader = Api(server, reader_token)
    assert reader.call("GET", "/api/v1/runs")[0] == 200
    # A reader writes nothing; an owner manages tokens but not quotas nor other projects.
    assert reader.call("POST", "/api/v1/tokens", {"name": "x", "role": "reader"})[0] == 403
    assert owner.call("PUT", "/api/v1/projects/vision/quota", {"cpus": 64})[0] == 403
    assert owner.call("POST", "/api/v1/tokens", {"name": "x", "project": "nlp", "role": "reader"})[0] == 404
    assert owner.call("POST", "/api/v1/tokens", {"name": "x", "role": "admin"})[0] == 403
    assert owner.call("POST", "/api/v1/projects", {"name": "mine"})[0] == 403
    status, projects = owner.call("GET", "/api/v1/projects")
    assert [p["name"] for p in projects["projects"]] == ["vision"]
    status, body = admin.call("PUT", "/api/v1/projects/vision/quota", {"cpus": 4, "running": 10})
    assert status == 200 and body["quota"]["cpus"] == 4 and body["quota"]["running"] == 10

    # Revoked: refused from then on, and the holder is told why.
    status, tokens = owner.call("GET", "/api/v1/tokens")
    ci = next(t for t in tokens["tokens"] if t["name"] == "ci")
    assert owner.call("DELETE", "/api/v1/tokens/" + ci["id"])[0] == 200
    status, body = reader.call("GET", "/api/v1/runs")
    assert status == 401 and "revoked" in body["error"]["message"]
    # Tokens are listed without their secrets.
    assert all("hash" not in t and "token" not in t for t in tokens["tokens"])


def test_another_projects_run_is_not_found_never_forbidden(server, admin, workdir):
    local_run(server, workdir)  # r1, the workspace's own: admins only
    assert admin.call("POST", "/api/v1/projects", {"name": "vision"})[0] == 201
    assert admin.call("POST", "/api/v1/projects", {"name": "nlp"})[0] == 201
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    run = submit(contributor, {"p.yml": PIPELINE})
    assert run["project"] == "vision"
    wait(contributor, run["id"])
    mine = Api(server, make_token(admin, "vision", "reader"))
    other = Api(server, make_token(admin, "nlp", "owner"))
    status, shown = mine.call("GET", "/api/v1/runs/" + run["id"])
    # r1 computed the same step, in another project: its result is not reused here.
    assert status == 200 and shown["steps"][0]["name"] == "hello" and shown["steps"][0]["status"] == "succeeded"
    assert [r["id"] for r in mine.call("GET", "/api/v1/runs")[1]["runs"]] == [run["id"]]
    for path in ["/api/v1/runs/" + run["id"], "/api/v1/runs/r1", "/api/v1/runs/r99", "/api/v1/runs/last"]:
        status, body = other.call("GET", path)
        assert status == 404, (path, body)
    assert mine.call("GET", "/api/v1/runs/r1")[0] == 404  # the workspace's own run
    assert admin.call("GET", "/api/v1/runs/r1")[0] == 200
    # A run that exists and one that does not: the answers cannot be told apart.
    assert other.call("GET", "/api/v1/runs/" + run["id"])[1]["error"]["message"].replace(run["id"], "?") == \
        other.call("GET", "/api/v1/runs/r99")[1]["error"]["message"].replace("r99", "?")
    assert other.call("GET", "/api/v1/runs")[1]["runs"] == []
    assert other.call("GET", "/api/v1/runs?project=vision")[0] == 404
    assert other.call("POST", f"/api/v1/runs/{run['id']}/cancel")[0] == 404


def test_runs_are_paged_and_filtered(server, admin, workdir):
    for _ in range(3):
        local_run(server, workdir)
    status, page = admin.call("GET", "/api/v1/runs?limit=2")
    assert [r["id"] for r in page["runs"]] == ["r3", "r2"] and page["next"] is not None
    status, rest = admin.call("GET", f"/api/v1/runs?limit=2&before={page['next']}")
    assert [r["id"] for r in rest["runs"]] == ["r1"] and rest["next"] is None
    assert admin.call("GET", "/api/v1/runs?status=succeeded")[1]["runs"][0]["status"] == "succeeded"
    assert admin.call("GET", "/api/v1/runs?status=sleeping")[0] == 400
    assert admin.call("GET", "/api/v1/runs?limit=0")[0] == 400
    assert admin.call("GET", "/api/v1/runs?since=yesterday")[0] == 400
    assert admin.call("GET", "/api/v1/runs?experiment=other")[1]["runs"] == []


def test_the_audit_log_records_changes_and_failed_authentication(server, admin):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    owner_token = make_token(admin, "vision", "owner")
    owner = Api(server, owner_token)
    make_token(owner, "vision", "reader", "ci")
    admin.raw("GET", "/api/v1/runs", token="weft_0123456789ab_" + "0" * 64)
    status, log = admin.call("GET", "/api/v1/audit")
    actions = [(e["action"], e["project"]) for e in log["entries"]]
    assert ("project.create", "vision") in actions
    assert actions.count(("token.create", "vision")) == 2
    failed = [e for e in log["entries"] if e["action"] == "auth.failed"]
    assert any(e["target"] == "0123456789ab" and e["detail"] == "unknown token" for e in failed)
    # Owners read their project's entries only; readers none.
    status, mine = owner.call("GET", "/api/v1/audit")
    assert status == 200 and {e["project"] for e in mine["entries"]} == {"vision"}
    reader = Api(server, make_token(owner, "vision", "reader"))
    assert reader.call("GET", "/api/v1/audit")[0] == 403


def test_no_token_is_ever_written_down(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    tokens = [server.admin_token, make_token(admin, "vision", "owner")]
    Api(server, tokens[1]).call("GET", "/api/v1/runs")
    admin.raw("GET", "/api/v1/runs", token=tokens[1][:-4] + "beef")  # a failed attempt is logged
    server.stop()
    secrets = [t.split("_")[2].encode() for t in tokens]
    checked = 0
    for folder, _, files in os.walk(server.workspace):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                data = f.read()
            checked += 1
            for s in secrets:
                assert s not in data, path
            if name == "weft.db":  # the check can see what is in the database
                assert b"auth.failed" in data
    assert checked >= 1


def test_http_hygiene(server, admin):
    # A Host header naming another server (DNS rebinding) is refused.
    status, _, body = admin.raw("GET", "/api/v1/health", headers={"Host": "evil.example:80"})
    assert status == 421
    status, headers, _ = admin.raw("GET", "/api/v1/runs", token=server.admin_token,
                                   headers={"Origin": "https://evil.example"})
    assert status == 200
    assert not any(k.lower().startswith("access-control-") for k in headers)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    # A body over the limit is refused before it is read.
    conn = socket.create_connection(("127.0.0.1", server.port))
    conn.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Authorization: Bearer " + server.admin_token.encode() +
                 b"\r\nContent-Type: application/json\r\nContent-Length: 900000000\r\n\r\n{")
    answer = conn.recv(4096).decode()
    conn.close()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert admin.call("POST", "/api/v1/projects", raw_body=b"{not json", headers={"Content-Type": "application/json"})[0] == 400


def test_slow_clients_do_not_hold_the_server(server, admin):
    # Connections that send half a request and wait must not keep others from being served.
    idle = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        idle.append(s)
    start = time.time()
    for _ in range(20):
        assert admin.call("GET", "/api/v1/whoami")[0] == 200
    assert time.time() - start < 5
    for s in idle:
        s.close()


def test_only_loopback_is_served_without_tls(workdir):
    p = weft("serve", "--workspace", os.path.join(workdir, "ws"), "--listen", "0.0.0.0:0", check=False)
    assert p.returncode == 2
    assert "--insecure" in p.stderr and "TLS" in p.stderr
    p = weft("serve", "--workspace", os.path.join(workdir, "ws"), "--listen", "0.0.0.0:0", "--insecure",
             check=False)
    assert p.returncode == 2 and "--host-name" in p.stderr
    s = Server(os.path.join(workdir, "ws"), "--insecure", "--host-name", "127.0.0.1",
               listen="0.0.0.0:0")
    try:
        assert any("without TLS" in line for line in s.lines)
        status, _, body = _bare(s).raw("GET", "/api/v1/health")
        assert status == 200
    finally:
        s.stop()


def test_the_admin_token_is_shown_at_the_first_start_only(workdir):
    ws = os.path.join(workdir, "ws")
    first = Server(ws)
    assert first.admin_token
    assert first.stop() == 0
    second = Server(ws)
    try:
        assert second.admin_token is None
        assert Api(second, first.admin_token).call("GET", "/api/v1/whoami")[1]["role"] == "admin"
    finally:
        second.stop()


def test_the_cli_manages_projects_and_tokens_here_and_through_the_server(server, admin, workdir):
    # On the workspace itself (its files are the admin's) ...
    weft("project", "create", "vision", "--description", "images", "--workspace", server.workspace)
    local = weft("project", "list", "--workspace", server.workspace).stdout
    # ... and through the server, with the same output.
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": server.admin_token}
    assert weft("project", "list", env=env).stdout == local
    made = weft("token", "create", "--name", "olga", "--project", "vision", "--role", "owner",
                "--expires", "7d", env=env)
    owner_token = made.stdout.strip()
    assert re.fullmatch(r"weft_[0-9a-f]{12}_[0-9a-f]{64}", owner_token)
    assert "shown once" in made.stderr and owner_token not in made.stderr
    owner_env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": owner_token}
    listed = weft("token", "list", env=owner_env).stdout
    assert "olga" in listed and "owner" in listed
    quota = weft("project", "quota", "vision", "--cpus", "2", env=owner_env, check=False)
    assert quota.returncode == 77 and "admins" in quota.stderr
    assert weft("project", "quota", "vision", "--cpus", "2", env=env).returncode == 0
    token_file = os.path.join(workdir, "token")
    with open(token_file, "w") as f:
        f.write(owner_token + "\n")
    by_file = weft("token", "list", "--server", server.url, "--token-file", token_file)
    assert by_file.stdout == listed
    no_token = weft("token", "list", "--server", server.url, check=False)
    assert no_token.returncode == 77 and "WEFT_TOKEN" in no_token.stderr
    audit = weft("audit", "--project", "vision", env=owner_env).stdout
    assert "token.create" in audit


def test_a_submitted_pipeline_runs_and_can_be_canceled(server, admin):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    reader = Api(server, make_token(admin, "vision", "reader"))
    files = {
        "p.yml": PIPELINE.replace("echo hello > ${{outputs.out}}/greeting",
                                  "python train.py ${{inputs.n}} ${{outputs.out}}")
                         .replace("    outputs:\n", "    code: src\n    inputs: {n: 3}\n    outputs:\n"),
        "src/train.py": "import sys, pathlib\npathlib.Path(sys.argv[2], 'n').write_text(sys.argv[1])\n",
    }
    run = submit(contributor, files, query="&experiment=served-exp&tag=team%3Dcv")
    assert run["experiment"] == "served-exp" and run["tags"]["team"] == "cv"
    assert submit(reader, files, expect=403)["error"]["code"] == "denied"
    done = wait(contributor, run["id"])
    assert done["status"] == "succeeded", done
    assert done["steps"][0]["outputs"][0]["digest"].startswith("sha256:")
    # The same upload again: unpacked once, and the step is reused.
    again = wait(contributor, submit(contributor, files)["id"])
    assert again["steps"][0]["status"] == "reused"
    assert len(os.listdir(os.path.join(server.workspace, ".weft", "uploads"))) == 1

    sleeper = submit(contributor, {"p.yml": PIPELINE.replace("echo hello > ${{outputs.out}}/greeting", "sleep 60")})
    time.sleep(1)
    assert reader.call("POST", f"/api/v1/runs/{sleeper['id']}/cancel")[0] == 403
    # A signal would stop the whole server: `weft cancel` there sends none.
    local = weft("cancel", sleeper["id"], "--workspace", server.workspace, check=False)
    assert local.returncode == 2 and "/api/v1/runs/" in local.stderr, local.stderr
    assert server.proc.poll() is None
    assert contributor.call("POST", f"/api/v1/runs/{sleeper['id']}/cancel")[0] == 200
    assert wait(contributor, sleeper["id"], timeout=30)["status"] == "canceled"
    assert contributor.call("POST", f"/api/v1/runs/{sleeper['id']}/cancel")[0] == 400  # not running
    # `weft cancel --server` does the same, and waits for the steps to stop, as it does here.
    other = submit(contributor, {"p.yml": PIPELINE.replace("echo hello > ${{outputs.out}}/greeting", "sleep 61")})
    time.sleep(1)
    said = weft("cancel", other["id"], env={"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token})
    assert said.stdout == f"run {other['id']} canceled: the server stopped every step\n", said.stdout
    actions = [e["action"] for e in admin.call("GET", "/api/v1/audit")[1]["entries"]]
    assert "run.submit" in actions and "run.cancel" in actions


def test_uploads_that_could_reach_outside_their_folder_are_refused(server, admin):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    def entry(name, kind, target=""):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = target
        return info
    hostile = [
        (entry("link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic links"),
        (entry("hard", tarfile.LNKTYPE, "p.yml"), "hard links"),
        (entry("dev", tarfile.CHRTYPE), "devices"),
        (entry("fifo", tarfile.FIFOTYPE), "FIFOs"),
        (entry("/abs.txt", tarfile.REGTYPE), "absolute"),
        (entry("a/../../up.txt", tarfile.REGTYPE), "`..`"),
        (entry("p.yml", tarfile.REGTYPE), "twice"),
    ]
    for info, why in hostile:
        body = submit(contributor, {"p.yml": PIPELINE}, expect=400, extra=[info])
        assert why in body["error"]["message"] and info.name in body["error"]["message"], body
    status, body = contributor.call("POST", "/api/v1/runs?file=p.yml", raw_body=b"not a tar at all" * 100)
    assert status == 400, body
    uploads = os.path.join(server.workspace, ".weft", "uploads")
    assert not any(n.startswith(".tmp") for n in os.listdir(uploads)) if os.path.isdir(uploads) else True

    # Paths the pipeline names must be among the uploaded files.
    outside = {
        "data": PIPELINE.replace("    outputs:\n", "    inputs: {d: {type: uri_folder, path: /etc}}\n    outputs:\n"),
        "component": PIPELINE.replace("  hello:\n    type: command\n", "  hello:\n    component: ../../c.yml\n"),
        "code": PIPELINE.replace("    outputs:\n", "    code: /usr/lib\n    outputs:\n"),
        "datastore": PIPELINE.replace("      out:\n", "      out: {path: azureml://datastores/workspaceblobstore/paths/x}\n"),
    }
    for what, text in outside.items():
        body = submit(contributor, {"p.yml": text}, expect=400)
        message = body["error"]["message"]
        assert "outside the files submitted" in message or "not granted datastore `workspaceblobstore`" in message, (what, message)
        assert "p.yml:" in message, (what, message)  # located
    assert submit(contributor, {"p.yml": PIPELINE}, file="../p.yml", expect=400)
    assert admin.call("GET", "/api/v1/runs")[1]["runs"] == []  # nothing was recorded

    # Datastores are the admins' to grant: then the project's runs publish there, and only its.
    owner = Api(server, make_token(admin, "vision", "owner"))
    grant = {"grant": ["workspaceblobstore"]}
    assert owner.call("PUT", "/api/v1/projects/vision/datastores", grant)[0] == 403
    assert admin.call("PUT", "/api/v1/projects/vision/datastores", {"grant": ["../x"]})[0] == 400
    status, project = admin.call("PUT", "/api/v1/projects/vision/datastores", grant)
    assert status == 200 and project["datastores"] == ["workspaceblobstore"], project
    run = submit(contributor, {"p.yml": outside["datastore"]})
    assert wait(contributor, run["id"])["status"] == "succeeded"
    published = os.path.join(server.workspace, ".weft", "datastores", "workspaceblobstore", "x", "greeting")
    assert open(published).read() == "hello\n"
    admin.call("POST", "/api/v1/projects", {"name": "audio"})
    other = Api(server, make_token(admin, "audio", "contributor"))
    assert "not granted datastore" in submit(other, {"p.yml": outside["datastore"]}, expect=400)["error"]["message"]
    status, project = admin.call("PUT", "/api/v1/projects/vision/datastores", {"revoke": ["workspaceblobstore"]})
    assert status == 200 and project["datastores"] == [], project
    assert "not granted datastore" in submit(contributor, {"p.yml": outside["datastore"]}, expect=400)["error"]["message"]
    actions = [e["action"] for e in admin.call("GET", "/api/v1/audit")[1]["entries"]]
    assert actions.count("project.datastores") == 2, actions


HELD = """\
type: pipeline
jobs:
  first:
    type: command
    command: echo one > ${{outputs.out}}/one
    environment: {image: python:3.11}
    outputs: {out: }
  second:
    type: command
    command: while [ -e HOLD ]; do sleep 0.1; done; cat ${{inputs.one}}/one > ${{outputs.out}}/two
    environment: {image: python:3.11}
    inputs: {one: "${{parent.jobs.first.outputs.out}}"}
    outputs: {out: }
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_stopped_or_killed_server_resumes_its_runs_when_it_starts_again(workdir, how):
    ws = os.path.join(workdir, "ws")
    hold_dir = tempfile.mkdtemp(prefix="weft-hold-")  # (a path a shell word holds as it is)
    hold = os.path.join(hold_dir, "hold")
    open(hold, "w").close()
    s = Server(ws)
    admin = Api(s, s.admin_token)
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(s, make_token(admin, "vision", "contributor"))
    run = submit(contributor, {"p.yml": HELD.replace("HOLD", hold)})["id"]
    deadline = time.time() + 60
    while contributor.call("GET", f"/api/v1/runs/{run}")[1]["steps"][1]["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.1)
    started = time.time()
    if how == "SIGTERM":
        assert s.stop() == 0
        assert time.time() - started < 20  # the step's grace period, not its end
    else:
        s.proc.kill()
        s.proc.wait()
    os.remove(hold)
    again = Server(ws)
    try:
        said = "".join(again.lines)
        m = re.search(rf"resuming run {run} as run (r\d+)", said)
        assert m, said
        api = Api(again, s.admin_token)
        old = api.call("GET", "/api/v1/runs/" + run)[1]
        assert old["status"] == "interrupted", old
        assert [st["status"] for st in old["steps"]] == ["succeeded", "canceled" if how == "SIGTERM" else "interrupted"]
        new = wait(api, m.group(1))
        assert new["status"] == "succeeded" and new["project"] == "vision", new
        assert [st["status"] for st in new["steps"]] == ["reused", "succeeded"], new
    finally:
        again.stop()
    # Resumed once: a third start resumes nothing.
    third = Server(ws)
    try:
        assert "resuming" not in "".join(third.lines)
    finally:
        third.stop()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert hold not in ps
    shutil.rmtree(hold_dir, ignore_errors=True)


def test_runs_and_show_print_the_same_here_and_through_the_server(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    run = wait(contributor, submit(contributor, {"p.yml": PIPELINE})["id"])
    local_run(server, workdir)
    again = wait(contributor, submit(contributor, {"p.yml": PIPELINE.replace("echo hello", "echo again")})["id"])
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": server.admin_token}
    for args in (["runs"], ["runs", "--json"], ["runs", "--status", "succeeded", "-n", "1"],
                 ["show", run["id"]], ["show", run["id"], "--json"], ["show", "last"],
                 ["explain", again["id"], "hello"], ["compare", run["id"], again["id"]],
                 ["compare", run["id"], again["id"], "--diff", "--json"]):
        here = weft(*args, "--workspace", server.workspace).stdout
        there = weft(*args, env=env).stdout
        assert here == there, (args, here, there)
        assert here.strip() and (args[0] == "explain" or any(r in here for r in (run["id"], "r2", again["id"]))), (args, here)
    # A project's token sees its own runs only.
    mine = weft("runs", env={"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token}).stdout
    assert run["id"] in mine and "r2 " not in mine
    missing = weft("show", "r2", env={"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token},
                   check=False)
    assert missing.returncode == 2 and "no run" in missing.stderr


def test_steps_of_served_runs_see_none_of_the_servers_secrets(workdir):
    s = Server(os.path.join(workdir, "ws"), env={"SERVER_SECRET": "s3cr3t-value", "WEFT_TOKEN": "weft_x",
                                                 "LC_ALL": "C.UTF-8"})
    try:
        admin = Api(s, s.admin_token)
        admin.call("POST", "/api/v1/projects", {"name": "vision"})
        contributor = Api(s, make_token(admin, "vision", "contributor"))
        run = submit(contributor, {"p.yml": "type: pipeline\njobs:\n  show:\n    type: command\n"
                                            "    command: env\n    environment: {image: python:3.11}\n"
                                            "    environment_variables: {MINE: mine-value}\n"})
        assert wait(contributor, run["id"])["status"] == "succeeded"
        log = contributor.call("GET", f"/api/v1/runs/{run['id']}/log?step=show")[1]["text"]
        names = {line.split("=", 1)[0] for line in log.splitlines() if "=" in line}
        assert "MINE=mine-value" in log and "LC_ALL=C.UTF-8" in log and "HOME" in names, log
        assert "s3cr3t" not in log and "SERVER_SECRET" not in names, log
        assert "weft_x" not in log, log
    finally:
        s.stop()


def test_a_step_sees_its_projects_files_only(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    vision = Api(server, make_token(admin, "vision", "contributor", name="v"))
    nlp = Api(server, make_token(admin, "nlp", "contributor", name="n"))
    theirs = wait(nlp, submit(nlp, {"p.yml": PIPELINE.replace("echo hello", "echo nlp-secret")})["id"])
    assert theirs["status"] == "succeeded", theirs
    weft_dir = os.path.join(server.workspace, ".weft")
    (greeting,) = [os.path.join(here, "greeting") for here, _, files in os.walk(os.path.join(weft_dir, "store"))
                   if "greeting" in files]
    with open(greeting) as f:
        assert f.read() == "nlp-secret\n"  # (weft itself sees it)
    q = shlex.quote  # (the workspace's folder name holds a quote)
    look = (f"cat {q(greeting)} > ${{{{outputs.out}}}}/theirs 2>&1; "
            f"ls -A {q(weft_dir)} > ${{{{outputs.out}}}}/weft; ls -A {q(weft_dir + '/runs')} > ${{{{outputs.out}}}}/runs; "
            f"if [ -e {q(weft_dir + '/weft.db')} ]; then echo db; fi > ${{{{outputs.out}}}}/db; "
            f"echo written > ${{{{outputs.out}}}}/mine; true")
    mine = wait(vision, submit(vision, {"p.yml": PIPELINE.replace("echo hello > ${{outputs.out}}/greeting", look)})["id"])
    assert mine["status"] == "succeeded", mine
    status, _, data = get_bytes(vision, f"/api/v1/runs/{mine['id']}/download?output=hello.out")
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        seen = {m.name.split("/", 1)[1]: t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()}
    assert "nlp-secret" not in seen["theirs"] and "No such file" in seen["theirs"], seen
    assert set(seen["weft"].split()) <= {"envs", "runs", "store"}, seen  # no database, uploads, config
    assert seen["runs"].split() == [mine["id"]], seen  # its own run only
    assert seen["db"] == "" and seen["mine"] == "written\n", seen


def test_show_says_why_a_step_waits_for_compute(server, admin):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    admin.call("PUT", "/api/v1/projects/vision/quota", {"running": 1})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    hold_dir = tempfile.mkdtemp(prefix="weft-hold-")
    hold = os.path.join(hold_dir, "hold")
    open(hold, "w").close()
    steps = "".join(f"  s{i}:\n    type: command\n    command: while [ -e {hold} ]; do sleep 0.1; done\n"
                    f"    environment: {{image: python:3.11}}\n" for i in range(3))
    run = submit(contributor, {"p.yml": "type: pipeline\njobs:\n" + steps})["id"]
    try:
        deadline = time.time() + 30
        while True:
            detail = contributor.call("GET", f"/api/v1/runs/{run}")[1]
            notes = sorted(s["waiting"] for s in detail["steps"] if s["status"] != "running")
            if notes == ["waiting: project quota (1 of 1 running)"] * 2:
                break
            assert time.time() < deadline, detail
            time.sleep(0.1)
        shown = weft("show", run, env={"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token}).stdout
        assert shown.count("waiting: project quota (1 of 1 running)") == 2, shown
    finally:
        os.remove(hold)
        shutil.rmtree(hold_dir, ignore_errors=True)
    done = wait(contributor, run)
    assert done["status"] == "succeeded" and all(s["waiting"] == "" for s in done["steps"]), done


def test_weft_run_through_a_server_follows_the_run_and_ctrl_c_cancels_it(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token}
    folder = os.path.join(workdir, "my project")
    os.makedirs(folder)
    with open(os.path.join(folder, "p.yml"), "w") as f:
        f.write("type: pipeline\ninputs: {word: hi}\njobs:\n  say:\n    type: command\n"
                "    command: echo said ${{inputs.word}}; test ${{inputs.word}} != fail\n"
                "    environment: {image: python:3.11}\n    inputs: {word: '${{parent.inputs.word}}'}\n")
    p = weft("run", "p.yml", "--set", "inputs.word=hello", "--tag", "via=cli", env=env, cwd=folder)
    lines = p.stdout.splitlines()
    run = lines[0].split()[1]
    assert lines[0] == f"run {run} on {server.url}", lines
    assert any(re.match(r"\[ *[\d.]+s\] succeeded +say +\(", line) for line in lines), lines
    assert lines[-1] == f"run {run}: succeeded", lines
    detail = wait(contributor, run)
    assert detail["experiment"] == "my project" and detail["tags"]["via"] == "cli", detail
    log = contributor.call("GET", f"/api/v1/runs/{run}/log?step=say")[1]["text"]
    assert "said hello" in log
    # Again: reused, as here.
    again = weft("run", "p.yml", "--set", "inputs.word=hello", env=env, cwd=folder).stdout
    assert re.search(r"\] reused +say", again), again
    failed = weft("run", "p.yml", "--set", "inputs.word=fail", env=env, cwd=folder, check=False)
    assert failed.returncode == 1 and failed.stdout.splitlines()[-1].endswith(": failed"), failed.stdout
    bad = weft("run", "p.yml", "--set", "inputs.nope=1", env=env, cwd=folder, check=False)
    assert bad.returncode == 2 and "nope" in bad.stderr, bad.stderr
    # Ctrl-C cancels the run on the server.
    hold_dir = tempfile.mkdtemp(prefix="weft-hold-")
    hold = os.path.join(hold_dir, "hold")
    open(hold, "w").close()
    with open(os.path.join(folder, "held.yml"), "w") as f:
        f.write(f"type: pipeline\njobs:\n  wait:\n    type: command\n    command: while [ -e {hold} ]; do sleep 0.1; done\n"
                "    environment: {image: python:3.11}\n")
    e = dict(os.environ)
    e.update(env)
    proc = subprocess.Popen([os.environ.get("WEFT_BIN", "weft"), "run", "held.yml"], cwd=folder, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    held = first.split()[1]
    deadline = time.time() + 30
    while contributor.call("GET", f"/api/v1/runs/{held}")[1]["steps"][0]["status"] != "running":
        assert time.time() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert out.splitlines()[-1] == f"run {held}: canceled", out
    assert contributor.call("GET", f"/api/v1/runs/{held}")[1]["status"] == "canceled"
    os.remove(hold)
    shutil.rmtree(hold_dir, ignore_errors=True)


def test_lineage_through_the_server_shows_only_the_callers_runs(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    vision = Api(server, make_token(admin, "vision", "contributor"))
    nlp = Api(server, make_token(admin, "nlp", "contributor"))
    run = submit(vision, {"p.yml": HELD.replace("HOLD", "/nonexistent/hold")})["id"]
    assert wait(vision, run)["status"] == "succeeded"
    status, up = vision.call("GET", f"/api/v1/lineage?ref={run}/second.out")
    assert status == 200, up
    made_by = up["tree"]["children"][0]
    assert (made_by["kind"], made_by["step"], made_by["run"]) == ("step", "second", run), up
    assert made_by["children"][0]["children"][0]["step"] == "first"
    digest = up["tree"]["digest"]
    # The other project: neither the run nor the object exists for it.
    assert nlp.call("GET", f"/api/v1/lineage?ref={run}/second.out")[0] == 404
    assert nlp.call("GET", f"/api/v1/lineage?ref={digest}")[0] == 404
    # Downstream of the first step's output: the second step used it.
    first = made_by["children"][0]["digest"]
    down = vision.call("GET", f"/api/v1/lineage?ref={first}&direction=downstream")[1]
    assert down["tree"]["children"][0]["step"] == "second", down
    # The CLI prints the same through the server as on the workspace.
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": vision.token}
    remote = weft("lineage", f"{run}/second.out", env=env).stdout
    local = weft("lineage", f"{run}/second.out", "--workspace", server.workspace).stdout
    assert remote == local and "made by step second" in remote, (remote, local)


def test_a_failed_run_is_resumed_through_the_server(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    contributor = Api(server, make_token(admin, "vision", "contributor"))
    reader = Api(server, make_token(admin, "vision", "reader", name="r"))
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": contributor.token}
    flag_dir = tempfile.mkdtemp(prefix="weft-flag-")
    flag = os.path.join(flag_dir, "fail")
    open(flag, "w").close()
    run = submit(contributor, {"p.yml": HELD.replace("while [ -e HOLD ]; do sleep 0.1; done; ",
                                                     f"test ! -e {flag} && ")})["id"]
    assert wait(contributor, run)["status"] == "failed"
    assert reader.call("POST", f"/api/v1/runs/{run}/resume")[0] == 403
    os.remove(flag)
    p = weft("resume", run, env=env, cwd=workdir)
    first = p.stdout.splitlines()[0]
    assert first.startswith(f"resuming run {run} as run r") and first.endswith(server.url), p.stdout
    new = first.split()[5]
    assert p.stdout.splitlines()[-1] == f"run {new}: succeeded", p.stdout
    detail = wait(contributor, new)
    assert [s["status"] for s in detail["steps"]] == ["reused", "succeeded"], detail
    # Succeeded: nothing to resume.
    again = contributor.call("POST", f"/api/v1/runs/{new}/resume")
    assert again[0] == 400 and "nothing to resume" in again[1]["error"]["message"], again
    shutil.rmtree(flag_dir, ignore_errors=True)


def test_gc_and_fsck_through_the_server_are_for_admins_and_wait_for_runs(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "upkeep"})
    owner = Api(server, make_token(admin, "upkeep", "owner"))
    assert owner.call("POST", "/api/v1/gc", {"dry_run": True})[0] == 403
    assert owner.call("POST", "/api/v1/fsck")[0] == 403
    first = submit(owner, {"p.yml": PIPELINE})
    assert wait(owner, first["id"])["status"] == "succeeded"
    second = submit(owner, {"p.yml": PIPELINE.replace("hello", "again")})
    assert wait(owner, second["id"])["status"] == "succeeded"
    # While a run runs: 409, nothing changed; `weft gc --wait` waits for it.
    hold_dir = tempfile.mkdtemp(prefix="weft-hold-")  # (a path a shell word holds as it is)
    hold = os.path.join(hold_dir, "hold")
    open(hold, "w").close()
    held = submit(owner, {"p.yml": HELD.replace("HOLD", hold)})["id"]
    status, body = admin.call("POST", "/api/v1/gc", {"keep_runs": 0})
    assert status == 409 and "runs are running on this server" in body["error"]["message"], body
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": admin.token}
    waiting = subprocess.Popen([WEFT, "gc", "--keep-runs", "1", "--wait"], env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert waiting.poll() is None  # still waiting
    os.remove(hold)
    assert wait(owner, held)["status"] == "succeeded"
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert out.startswith("removed "), out
    status, report = admin.call("POST", "/api/v1/gc", {"keep_runs": 1, "dry_run": True})
    assert status == 200 and report["dry_run"] and report["removed"] == [], report  # done already
    checked = weft("fsck", env=env)
    assert "all intact" in checked.stdout, checked.stdout
    actions = [e["action"] for e in admin.call("GET", "/api/v1/audit")[1]["entries"]]
    assert "workspace.gc" in actions and "workspace.fsck" in actions
    shutil.rmtree(hold_dir, ignore_errors=True)
