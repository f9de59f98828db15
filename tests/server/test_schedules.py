"""Schedules on a live server: Azure ML schedule files fire runs of their job (a file uploaded with
them, or a published pipeline), at once when they have no start time and then by their calendar;
owners manage them; a restarted server does not fire a time twice; data triggers fire on a new
asset version. (The calendar itself, catch-up and overlap are tested with a fake clock in
src/app/calendar_test.cc and src/app/schedules_test.cc.)"""
import os
import time

from conftest import Api, Server, weft
from test_api import make_token, tar_of, wait
from test_pipelines import publish

PIPELINE = """\
type: pipeline
inputs:
  when: never
jobs:
  hello:
    type: command
    command: echo "fired at ${{inputs.when}}"
    environment: {image: python:3.11}
    inputs:
      when: ${{parent.inputs.when}}
"""

EVERY_HOUR = """\
$schema: https://azuremlschemas.azureedge.net/latest/schedule.schema.json
name: hourly
trigger:
  type: cron
  expression: "0 * * * *"
  time_zone: W. Europe Standard Time
create_job:
  type: pipeline
  job: ./pipeline.yml
  inputs:
    when: ${{creation_context.trigger_time}}
  tags: {team: vision}
"""


def create(api, files, file="schedule.yml", expect=201, query=""):
    status, body = api.call("POST", f"/api/v1/schedules?file={file}{query}", raw_body=tar_of(files),
                            headers={"Content-Type": "application/x-tar"})
    assert status == expect, body
    return body


def fired_runs(api, name, count, timeout=60):
    """The runs of the schedule's first `count` firings, once they have started and finished."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, s = api.call("GET", f"/api/v1/schedules/{name}")
        assert status == 200, s
        runs = [f["run"] for f in s["fires"] if f["run"]]
        if len(runs) >= count:
            return [wait(api, r) for r in runs], s
        time.sleep(0.2)
    raise AssertionError(f"schedule {name} fired {s['fires']}")


def roles(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    return (Api(server, make_token(admin, "vision", "owner", name="o")),
            Api(server, make_token(admin, "vision", "contributor", name="c")),
            Api(server, make_token(admin, "vision", "reader", name="r")),
            Api(server, make_token(admin, "nlp", "owner", name="n")))


def test_a_schedule_without_start_time_fires_at_once_then_by_its_calendar(server, admin):
    owner, contributor, reader, other = roles(server, admin)
    made = create(owner, {"schedule.yml": EVERY_HOUR, "pipeline.yml": PIPELINE})["schedule"]
    assert made["name"] == "hourly" and made["enabled"]
    assert made["trigger"] == {"type": "cron", "expression": "0 * * * *",
                               "time_zone": "W. Europe Standard Time"}
    (run,), s = fired_runs(owner, "hourly", 1)
    assert run["status"] == "succeeded", run
    assert run["experiment"] == "hourly"
    assert run["tags"]["weft.schedule"] == "hourly" and run["tags"]["team"] == "vision"
    log = owner.call("GET", f"/api/v1/runs/{run['id']}/log?step=hello")[1]["text"]
    fire_ns = s["fires"][0]["fire_ns"]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fire_ns // 10**9))
    assert f"fired at {iso}" in log, log
    # Then on the hour (Berlin's hours are whole UTC hours too), five ahead.
    nxt = s["next_fires_ns"]
    assert len(nxt) == 5 and all(t % (3600 * 10**9) == 0 for t in nxt), nxt
    assert all(b - a == 3600 * 10**9 for a, b in zip(nxt, nxt[1:])), nxt
    assert nxt[0] > fire_ns
    # Readers read; other projects see nothing; only owners manage.
    assert [x["name"] for x in reader.call("GET", "/api/v1/schedules")[1]["schedules"]] == ["hourly"]
    assert other.call("GET", "/api/v1/schedules/hourly")[0] == 404
    assert other.call("GET", "/api/v1/schedules")[1]["schedules"] == []
    assert create(contributor, {"schedule.yml": EVERY_HOUR, "pipeline.yml": PIPELINE}, expect=403)
    assert contributor.call("POST", "/api/v1/schedules/hourly/disable")[0] == 403
    assert reader.call("POST", "/api/v1/schedules/hourly/trigger")[0] == 403
    # Contributors fire it by hand; owners disable, enable and delete it.
    status, fired = contributor.call("POST", "/api/v1/schedules/hourly/trigger")
    assert status == 201 and fired["outcome"] == "started (triggered by hand)", fired
    assert wait(owner, fired["run"])["status"] == "succeeded"
    off = owner.call("POST", "/api/v1/schedules/hourly/disable")[1]
    assert not off["enabled"] and off["next_fires_ns"] == []
    on = owner.call("POST", "/api/v1/schedules/hourly/enable")[1]
    assert on["enabled"] and on["next_fires_ns"][0] == nxt[0]
    audit = [e["action"] for e in admin.call("GET", "/api/v1/audit?project=vision")[1]["entries"]]
    for action in ("schedule.create", "schedule.disable", "schedule.enable", "run.submit"):
        assert action in audit, audit
    assert owner.call("DELETE", "/api/v1/schedules/hourly")[1] == {"deleted": "hourly"}
    assert owner.call("GET", "/api/v1/schedules/hourly")[0] == 404


def test_schedule_files_are_checked_where_they_are_wrong(server, admin):
    owner = roles(server, admin)[0]
    bad = create(owner, {"schedule.yml": EVERY_HOUR.replace('"0 * * * *"', '"0 24 * * *"'),
                         "pipeline.yml": PIPELINE}, expect=400)
    assert "schedule.yml:5:15: error: the hour field `24`" in bad["error"]["message"], bad
    zone = create(owner, {"schedule.yml": EVERY_HOUR.replace("W. Europe", "Mars"),
                          "pipeline.yml": PIPELINE}, expect=400)
    assert "schedule.yml:6:14: error: `Mars Standard Time` is not a time zone" in zone["error"]["message"]
    missing = create(owner, {"schedule.yml": EVERY_HOUR}, expect=400)
    assert "`./pipeline.yml` is not a file uploaded with the schedule" in missing["error"]["message"]
    wrong_input = create(owner, {"schedule.yml": EVERY_HOUR.replace("    when:", "    whenn:"),
                                 "pipeline.yml": PIPELINE}, expect=400)
    assert "whenn" in wrong_input["error"]["message"], wrong_input
    assert owner.call("GET", "/api/v1/schedules")[1]["schedules"] == []


def test_a_published_pipeline_on_a_schedule_and_the_cli(server, admin, workdir):
    owner = roles(server, admin)[0]
    publish(owner, {"p.yml": PIPELINE}, name="hello")
    folder = os.path.join(workdir, "sched")
    os.makedirs(folder)
    with open(os.path.join(folder, "nightly.yml"), "w") as f:
        f.write("name: nightly\n"
                "trigger:\n  type: recurrence\n  frequency: day\n  interval: 1\n"
                "  schedule: {hours: [2], minutes: [30]}\n"
                "  start_time: \"2030-01-01T00:00:00\"\n  time_zone: Pacific Standard Time\n"
                "create_job:\n  job: azureml:hello:1\n  inputs: {when: nightly}\n")
    env = {"WEFT_SERVER": server.url, "WEFT_TOKEN": owner.token}
    out = weft("schedule", "create", "-f", os.path.join(folder, "nightly.yml"), env=env).stdout
    # 02:30 in Los Angeles on 2030-01-01 is 10:30 UTC.
    assert out == "schedule nightly: every day (Pacific Standard Time); next: 2030-01-01 10:30:00 UTC\n", out
    shown = weft("schedule", "show", "nightly", env=env).stdout
    assert "job        azureml:hello:1" in shown and "fired      never" in shown, shown
    assert "2030-01-02 10:30:00 UTC" in shown, shown
    listed = weft("schedule", "list", env=env).stdout.splitlines()
    assert listed[1].split()[:2] == ["nightly", "2030-01-01"], listed
    fired = weft("schedule", "trigger", "nightly", env=env).stdout
    run = fired.split("run ")[-1].strip()
    done = wait(owner, run)
    assert done["status"] == "succeeded" and done["tags"]["weft.pipeline"] == "hello:1", done
    assert "fired at nightly" in owner.call("GET", f"/api/v1/runs/{run}/log?step=hello")[1]["text"]
    assert weft("schedule", "disable", "nightly", env=env).stdout == "schedule nightly disabled; next: disabled\n"
    assert weft("schedule", "delete", "nightly", env=env).stdout == "schedule nightly deleted\n"
    gone = weft("schedule", "show", "nightly", env=env, check=False)
    assert gone.returncode == 2 and "no schedule `nightly`" in gone.stderr, gone.stderr


def test_a_restarted_server_does_not_fire_a_time_twice(workdir):
    ws = os.path.join(workdir, "ws")
    s = Server(ws)
    admin = Api(s, s.admin_token)
    owner = roles(s, admin)[0]
    create(owner, {"schedule.yml": EVERY_HOUR, "pipeline.yml": PIPELINE})
    fired_runs(owner, "hourly", 1)
    s.proc.kill()
    s.proc.wait()
    again = Server(ws)
    try:
        api = Api(again, owner.token)
        time.sleep(2.5)  # (a couple of the scheduler's ticks)
        fires = api.call("GET", "/api/v1/schedules/hourly")[1]["fires"]
        assert len(fires) == 1, fires
        runs = api.call("GET", "/api/v1/runs?tag=weft.schedule%3Dhourly")[1]["runs"]
        assert len(runs) == 1, runs
    finally:
        again.stop()


def test_a_data_trigger_fires_when_a_new_asset_version_is_registered(server, admin, workdir):
    owner = roles(server, admin)[0]
    data = os.path.join(workdir, "images")
    os.makedirs(data)
    with open(os.path.join(data, "a.txt"), "w") as f:
        f.write("1\n")
    weft("data", "create", "--name", "images", "--path", data, "--type", "uri_folder",
         "--workspace", server.workspace, cwd=workdir)
    create(owner, {"schedule.yml": "name: on-images\ntrigger: {type: data, asset: images}\n"
                                   "create_job: ./pipeline.yml\n", "pipeline.yml": PIPELINE})
    time.sleep(2.5)
    assert owner.call("GET", "/api/v1/schedules/on-images")[1]["fires"] == []
    with open(os.path.join(data, "b.txt"), "w") as f:
        f.write("2\n")
    weft("data", "create", "--name", "images", "--path", data, "--type", "uri_folder",
         "--workspace", server.workspace, cwd=workdir)
    (run,), _ = fired_runs(owner, "on-images", 1)
    assert run["status"] == "succeeded", run
    time.sleep(2.5)
    assert len(owner.call("GET", "/api/v1/schedules/on-images")[1]["fires"]) == 1


def test_a_datastore_folder_fires_once_its_changes_have_settled(server, admin):
    owner = roles(server, admin)[0]
    incoming = os.path.join(server.workspace, ".weft", "datastores", "lake", "incoming")
    os.makedirs(incoming)
    with open(os.path.join(incoming, "old.csv"), "w") as f:
        f.write("x\n0\n")
    create(owner, {"schedule.yml": "name: on-lake\ntrigger:\n  type: data\n"
                                   "  path: azureml://datastores/lake/paths/incoming\n  interval: 2\n"
                                   "create_job: ./pipeline.yml\n", "pipeline.yml": PIPELINE})
    # Being written for 4 s (longer than the interval): no firing on half-written data.
    for i in range(8):
        with open(os.path.join(incoming, f"part{i}.csv"), "w") as f:
            f.write(f"x\n{i}\n")
        time.sleep(0.5)
        assert owner.call("GET", "/api/v1/schedules/on-lake")[1]["fires"] == [], i
    (run,), _ = fired_runs(owner, "on-lake", 1, timeout=20)
    assert run["status"] == "succeeded", run
    time.sleep(3)
    assert len(owner.call("GET", "/api/v1/schedules/on-lake")[1]["fires"]) == 1
