"""Webhooks: a project's finished runs are POSTed to its URLs, signed, and retried with backoff
until the receiver (a listener on loopback here) accepts them."""
import hashlib
import hmac
import http.server
import json
import threading
import time

from conftest import Api
from test_api import PIPELINE, make_token, submit, wait


class Receiver:
    """An HTTP listener on loopback that fails its first `failures` requests."""

    def __init__(self, failures):
        self.requests = []
        self.failures = failures
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body, time.time()))
                self.send_response(500 if len(receiver.requests) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hooks/weft?team=vision"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


def test_finished_runs_are_announced_signed_and_retried_until_accepted(server, admin):
    for p in ("vision", "nlp"):
        admin.call("POST", "/api/v1/projects", {"name": p})
    owner = Api(server, make_token(admin, "vision", "owner", name="o"))
    contributor = Api(server, make_token(admin, "vision", "contributor", name="c"))
    other = Api(server, make_token(admin, "nlp", "owner", name="n"))
    receiver = Receiver(failures=2)
    try:
        assert contributor.call("POST", "/api/v1/webhooks", {"url": receiver.url})[0] == 403
        assert owner.call("POST", "/api/v1/webhooks", {"url": "file:///etc/passwd"})[0] == 400
        status, hook = owner.call("POST", "/api/v1/webhooks", {"url": receiver.url})
        assert status == 201 and len(hook["secret"]) == 64, hook
        listed = owner.call("GET", "/api/v1/webhooks")[1]["webhooks"]
        assert [w["url"] for w in listed] == [receiver.url] and "secret" not in listed[0]
        assert other.call("GET", f"/api/v1/webhooks/{hook['id']}/deliveries")[0] == 404

        run = submit(contributor, {"p.yml": PIPELINE})
        wait(contributor, run["id"])
        other_run = submit(Api(server, make_token(admin, "nlp", "contributor", name="nc")), {"p.yml": PIPELINE})
        deadline = time.time() + 30
        while len(receiver.requests) < 3:
            assert time.time() < deadline, receiver.requests
            time.sleep(0.1)
        path, headers, body, _ = receiver.requests[-1]
        assert path == "/hooks/weft?team=vision"
        sent = json.loads(body)
        assert sent["event"] == "run.finished" and sent["run"]["id"] == run["id"]
        assert sent["run"]["status"] == "succeeded" and sent["run"]["project"] == "vision"
        signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Weft-Signature"] == "sha256=" + signature
        assert headers["X-Weft-Event"] == "run.finished"
        # Retried after 1 s, then 2 s.
        times = [r[3] for r in receiver.requests]
        assert times[1] - times[0] >= 0.9 and times[2] - times[1] >= 1.9, times
        deliveries = owner.call("GET", f"/api/v1/webhooks/{hook['id']}/deliveries")[1]["deliveries"]
        assert [(d["run"], d["status"], d["attempts"]) for d in deliveries] == [(run["id"], "delivered", 3)]
        time.sleep(1.5)
        assert len(receiver.requests) == 3  # (the other project's run is not announced here)
        wait(admin, other_run["id"])
        assert owner.call("DELETE", f"/api/v1/webhooks/{hook['id']}")[1] == {"deleted": hook["id"]}
        assert owner.call("GET", "/api/v1/webhooks")[1]["webhooks"] == []
    finally:
        receiver.stop()
