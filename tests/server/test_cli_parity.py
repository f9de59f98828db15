"""The CLI through a server prints what it prints on the workspace itself: each read command is
run both ways (`--server` with a contributor's token, and `--workspace` on the server's own
folder) over runs submitted through the server, and the outputs compared, JSON included. Errors
exit alike; through the server they never say more than that the run is not there."""
import os

from conftest import weft
from test_api import make_token

PIPELINE = """\
type: pipeline
experiment_name: parity
inputs: {lr: 0.1}
jobs:
  prep:
    command: echo prep > ${{outputs.d}}/d.txt
    outputs: {d: {type: uri_folder}}
    environment: {image: python:3.11}
  train:
    code: src
    command: python train.py ${{inputs.lr}} ${{outputs.model}}
    inputs: {lr: "${{parent.inputs.lr}}", d: "${{parent.jobs.prep.outputs.d}}"}
    outputs: {model: {type: uri_folder}}
    environment: {image: python:3.11}
"""

TRAIN = """\
import json, os, sys
lr = float(sys.argv[1])
with open(os.environ['WEFT_METRICS'], 'a') as m:
    for e in range(3):
        m.write(json.dumps({'name': 'loss', 'value': lr * (3 - e), 'step': e}) + '\\n')
    m.write(json.dumps({'param': 'lr', 'value': str(lr)}) + '\\n')
open(sys.argv[2] + '/m.txt', 'w').write(str(lr))
print('trained', lr, '\\u00e9t\\u00e9')
if lr > 0.25:
    sys.exit(3)
"""

READS = [
    ["runs"], ["runs", "--json"], ["runs", "--limit", "1"], ["runs", "--experiment", "parity"],
    ["runs", "--status", "failed"], ["show", "r1"], ["show", "r2", "--json"], ["show", "last"],
    ["show", "r3"], ["logs", "r2", "train"], ["logs", "r1", "prep"], ["logs", "r3", "train"],
    ["metrics", "r2"], ["metrics", "r2", "--json"], ["metrics", "r2", "--history"],
    ["explain", "r2", "train"], ["explain", "r2", "prep"], ["explain", "r1", "train"],
    ["compare", "r1", "r2"], ["compare", "r1", "r2", "--diff"], ["compare", "r1", "r2", "r3", "--json"],
    ["lineage", "r2/train.model"], ["lineage", "r1/prep.d", "--downstream"],
    # Errors: the same exit code, and the same words where they reveal nothing.
    ["logs", "r2", "nope"], ["compare", "r1"],
]


def write_pipeline(workdir):
    """PIPELINE as p.yml and TRAIN as src/train.py, in a folder of `workdir`; returns the folder."""
    folder = os.path.join(workdir, "p")
    os.makedirs(os.path.join(folder, "src"))
    with open(os.path.join(folder, "p.yml"), "w") as f:
        f.write(PIPELINE)
    with open(os.path.join(folder, "src", "train.py"), "w") as f:
        f.write(TRAIN)
    return folder


def test_read_commands_print_the_same_through_the_server(server, admin, workdir):
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    token = make_token(admin, "vision", "contributor", name="v")
    folder = write_pipeline(workdir)
    remote = {"WEFT_SERVER": server.url, "WEFT_TOKEN": token}
    weft("run", "p.yml", env=remote, cwd=folder)
    weft("run", "p.yml", "--set", "inputs.lr=0.2", env=remote, cwd=folder)
    assert weft("run", "p.yml", "--set", "inputs.lr=0.3", env=remote, cwd=folder, check=False).returncode == 1
    # A served run names its pipeline as it was uploaded, not by the server's folders.
    runs = weft("runs", "--json", env=remote, cwd=workdir).stdout
    assert '"pipeline_file": "p.yml"' in runs and "uploads" not in runs, runs
    for args in READS:
        there = weft(*args, env=remote, cwd=workdir, check=False)
        here = weft(*args, "--workspace", server.workspace, cwd=workdir, check=False)
        assert there.returncode == here.returncode, (args, there.stderr, here.stderr)
        assert there.stdout == here.stdout, (args, there.stdout, here.stdout)
        assert there.stderr == here.stderr, (args, there.stderr, here.stderr)
    # A run the token cannot see, or that is not there: the server says only that.
    for args in (["show", "r9"], ["lineage", "r9/x.y"]):
        there = weft(*args, env=remote, cwd=workdir, check=False)
        here = weft(*args, "--workspace", server.workspace, cwd=workdir, check=False)
        assert there.returncode == here.returncode == 2, (args, there.returncode, here.returncode)
        assert there.stderr.strip() == "weft: error: no run `r9`", there.stderr
        assert "no run `r9`" in here.stderr


def test_graph_draws_the_same_through_the_server(server, admin, workdir):
    """`weft graph` through a server (its registered assets) draws what it draws here, in every
    format; an invalid pipeline is refused alike, located."""
    admin.call("POST", "/api/v1/projects", {"name": "vision"})
    remote = {"WEFT_SERVER": server.url, "WEFT_TOKEN": make_token(admin, "vision", "contributor")}
    folder = write_pipeline(workdir)
    with open(os.path.join(folder, "bad.yml"), "w") as f:
        f.write(PIPELINE.replace("${{parent.jobs.prep.outputs.d}}", "${{parent.jobs.nope.outputs.d}}"))
    for fmt in ("text", "dot", "mermaid", "json"):
        there = weft("graph", "p.yml", "--format", fmt, env=remote, cwd=folder)
        here = weft("graph", "p.yml", "--format", fmt, cwd=folder)
        assert there.stdout == here.stdout and there.stdout, (fmt, there.stdout, here.stdout)
    there = weft("graph", "bad.yml", env=remote, cwd=folder, check=False)
    here = weft("graph", "bad.yml", cwd=folder, check=False)
    assert there.returncode == here.returncode == 2, (there.stderr, here.stderr)
    assert "bad.yml:" in there.stderr and "nope" in there.stderr, there.stderr
    assert there.stderr == here.stderr, (there.stderr, here.stderr)
