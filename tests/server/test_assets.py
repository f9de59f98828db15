"""Registered assets through a server: a project's own (registered by its runs) are its alone;
the workspace's (registered on the workspace itself) every project may name."""
import os

from conftest import Api, weft
from test_api import make_token, submit, wait

MAKE = """\
type: pipeline
jobs:
  make:
    type: command
    command: echo rows > ${{outputs.o}}/f
    environment: {image: python:3.11}
    outputs: {o: {type: uri_folder, name: churn}}
"""

USE = """\
type: pipeline
jobs:
  use:
    type: command
    command: cat ${{inputs.d}}/f
    environment: {image: python:3.11}
    inputs: {d: {type: uri_folder, path: azureml:NAME@latest}}
"""


def test_a_projects_assets_are_its_own_and_the_workspaces_are_everyones(server, admin, workdir):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    vision = Api(server, make_token(admin, "vision", "contributor", name="v"))
    nlp = Api(server, make_token(admin, "nlp", "contributor", name="n"))
    assert wait(vision, submit(vision, {"p.yml": MAKE})["id"])["status"] == "succeeded"
    shared = os.path.join(workdir, "shared")
    os.makedirs(shared)
    with open(os.path.join(shared, "f"), "w") as f:
        f.write("for all\n")
    weft("data", "create", "--name", "common", "--path", shared, "--workspace", server.workspace)

    names = lambda api: [(a["name"], a.get("project", "")) for a in api.call("GET", "/api/v1/assets?kind=data")[1]["assets"]]
    assert sorted(names(vision)) == [("churn", "vision"), ("common", "")]
    assert names(nlp) == [("common", "")]
    assert nlp.call("GET", "/api/v1/assets/data/churn")[0] == 404
    assert vision.call("GET", "/api/v1/assets/data/churn:1")[1]["asset"]["project"] == "vision"

    # Pipelines resolve the same way: another project's asset is not there.
    run = wait(vision, submit(vision, {"p.yml": USE.replace("NAME", "churn")})["id"])
    assert run["status"] == "succeeded", run
    body = submit(nlp, {"p.yml": USE.replace("NAME", "churn")}, expect=400)
    assert "churn" in body["error"]["message"] and "p.yml:7" in body["error"]["message"], body
    assert wait(nlp, submit(nlp, {"p.yml": USE.replace("NAME", "common")})["id"])["status"] == "succeeded"

    # The CLI through the server prints what it prints here.
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": nlp.token}
    for args in (["data", "show", "common"], ["data", "show", "common:1", "--json"]):
        here = weft(*args, "--workspace", server.workspace).stdout
        assert weft(*args, env=env).stdout == here and "common" in here, args
    listed = weft("data", "list", env=env).stdout
    assert "common" in listed and "churn" not in listed
    assert "vision:churn" in weft("data", "list", "--workspace", server.workspace).stdout

    # Archiving: a project's own by its contributors; the workspace's by admins alone.
    assert nlp.call("POST", "/api/v1/assets/data/common:1/archive")[0] == 403
    assert nlp.call("POST", "/api/v1/assets/data/churn:1/archive")[0] == 404
    status, body = vision.call("POST", "/api/v1/assets/data/churn:1/archive")
    assert status == 200 and body["asset"]["archived"], body
    assert vision.call("GET", "/api/v1/assets/data/churn")[0] == 404  # (no latest left)
    assert admin.call("POST", "/api/v1/assets/data/common:1/archive")[0] == 200


COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: counter
version: 1
type: command
code: ./src
command: python count.py ${{outputs.o}}
environment: {image: python:3.11}
outputs: {o: {type: uri_folder}}
"""


def test_assets_registered_through_a_server_are_the_projects_and_read_only_what_was_sent(server, admin, workdir):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    vision_token = make_token(admin, "vision", "contributor", name="v")
    vision, nlp = Api(server, vision_token), Api(server, make_token(admin, "nlp", "contributor", name="n"))
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": vision_token}
    frames = os.path.join(workdir, "frames")
    os.makedirs(frames)
    with open(os.path.join(frames, "f"), "w") as f:
        f.write("frame\n")
    made = weft("data", "create", "--name", "frames", "--path", frames, env=env)
    assert made.stdout.startswith("registered data frames:1 (sha256:"), made.stdout
    again = weft("data", "create", "--name", "frames", "--path", frames, env=env)
    assert again.stdout.startswith("already registered: data frames:1"), again.stdout
    assert vision.call("GET", "/api/v1/assets/data/frames:1")[1]["asset"]["project"] == "vision"
    assert nlp.call("GET", "/api/v1/assets/data/frames")[0] == 404
    run = wait(vision, submit(vision, {"p.yml": USE.replace("NAME", "frames")})["id"])
    assert run["status"] == "succeeded", run

    comp = os.path.join(workdir, "comp")
    os.makedirs(os.path.join(comp, "src"))
    with open(os.path.join(comp, "src", "count.py"), "w") as f:
        f.write("print(1)\n")
    with open(os.path.join(comp, "c.yml"), "w") as f:
        f.write(COMPONENT)
    made = weft("component", "create", "-f", os.path.join(comp, "c.yml"), env=env)
    assert made.stdout.startswith("registered component counter:1"), made.stdout
    # A file that names what was not sent (here, a folder of the server's) registers nothing.
    with open(os.path.join(comp, "bad.yml"), "w") as f:
        f.write(COMPONENT.replace("name: counter", "name: snoop").replace("./src", "/etc"))
    bad = weft("component", "create", "-f", os.path.join(comp, "bad.yml"), env=env, check=False)
    assert bad.returncode == 2 and "outside the files" in bad.stderr, bad.stderr
    assert vision.call("GET", "/api/v1/assets/component/snoop")[0] == 404
    # The API refuses a path that leaves the upload, whatever the client.
    status, body = vision.call("POST", "/api/v1/uploads", {"files": []})
    status, body = vision.call("POST", f"/api/v1/assets/data?upload={body['upload']}&path=../..&name=x")
    assert status == 400 and "holds no" in body["error"]["message"], body
