"""A live `weft serve` for the API tests, and a client that checks every answer against the
server's own OpenAPI document."""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile

import jsonschema
import pytest

WEFT = os.environ.get("WEFT_BIN", "weft")


def weft(*args, env=None, cwd=None, check=True, input=None):
    """Runs the weft binary; returns the CompletedProcess."""
    e = dict(os.environ)
    e.pop("WEFT_SERVER", None)
    e.pop("WEFT_TOKEN", None)
    e.update(env or {})
    p = subprocess.run([WEFT, *args], capture_output=True, text=True, env=e, cwd=cwd, input=input,
                       timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"weft {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


class Server:
    """`weft serve` on a free loopback port, in its own workspace."""

    def __init__(self, workspace, *extra, listen="127.0.0.1:0", env=None):
        self.workspace = workspace
        self.proc = subprocess.Popen(
            [WEFT, "serve", "--workspace", workspace, "--listen", listen, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self.admin_token = None
        self.lines = []
        # Blocking reads (select() would miss lines already in the reader's buffer); a server
        # that dies closes its output, and ctest's timeout bounds the rest.
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("weft_"):
                self.admin_token = line.strip()
            m = re.search(r"listening on http://[^ ]+:(\d+) ", line)
            if m:
                self.port = int(m.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                return
        raise AssertionError("weft serve exited: " + "".join(self.lines) + self.proc.stderr.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode


class Api:
    """Requests to a server; every JSON answer is validated against /api/v1/openapi.json."""

    def __init__(self, server, token):
        self.server = server
        self.token = token
        self.spec = None
        spec = self.raw("GET", "/api/v1/openapi.json", token=token)
        assert spec[0] == 200, spec
        self.spec = spec[2]

    def raw(self, method, path, body=None, token=None, headers=None, raw_body=None):
        """(status, headers, parsed JSON body) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read()
        conn.close()
        parsed = json.loads(text) if text else None
        if self.spec is not None:
            self.check(method, path, r.status, parsed)
        return r.status, dict(r.getheaders()), parsed

    def call(self, method, path, body=None, token="default", **kw):
        status, _, parsed = self.raw(method, path, body, self.token if token == "default" else token, **kw)
        return status, parsed

    def operation(self, method, path):
        path = path.split("?")[0]
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method.lower() in item:
                return item[method.lower()]
        return None

    def check(self, method, path, status, body):
        op = self.operation(method, path)
        if op is None:
            assert status in (404, 405, 421), (method, path, status)
            assert set(body) == {"error"}, body
            return
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {path} answered {status}, which its document does not list"
        schema = response["content"]["application/json"]["schema"]
        jsonschema.Draft202012Validator(schema).validate(body)


@pytest.fixture
def workdir():
    # Folders whose names need quoting, as users' do.
    d = tempfile.mkdtemp(prefix="weft server 'tést' ")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(workdir):
    s = Server(os.path.join(workdir, "ws"))
    yield s
    s.stop()


@pytest.fixture
def admin(server):
    assert server.admin_token, "the first start prints an admin token"
    return Api(server, server.admin_token)
