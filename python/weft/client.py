"""weft's REST API (/api/v1) as Python calls. See docs/server.md for what each one means."""
import bisect
import hashlib
import http.client
import io
import json
import os
import posixpath
import re
import ssl
import tarfile
import time
import urllib.parse

__all__ = ["Client", "WeftError"]

# What is never sent with a pipeline's files.
_SKIPPED = {".weft", ".git", "__pycache__", ".venv", "node_modules"}
_PART = 32 << 20  # bytes of contents per request (a server takes 64 MiB)


class WeftError(Exception):
    """An error the server answered: `status` (HTTP), `code` (invalid, not_found, denied, ...)
    and the server's `message`."""

    def __init__(self, status, code, message):
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message


class Client:
    """A connection to one server with one token. `url` and `token` default to $WEFT_SERVER and
    $WEFT_TOKEN; the token travels only in the Authorization header."""

    def __init__(self, url=None, token=None, timeout=60, cafile=None):
        url = url or os.environ.get("WEFT_SERVER")
        token = token or os.environ.get("WEFT_TOKEN")
        if not url:
            raise ValueError("no server: pass url, or set WEFT_SERVER")
        if not token:
            raise ValueError("no token: pass token, or set WEFT_TOKEN")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"{url!r} is not a server URL: http://HOST:PORT or https://HOST:PORT")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._token = token
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=cafile) if self._https else None

    def __repr__(self):  # (never the token)
        return f"Client({'https' if self._https else 'http'}://{self._host}:{self._port})"

    # ---- plumbing ------------------------------------------------------------------------------

    def _connect(self, timeout=None):
        t = self._timeout if timeout is None else timeout
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=t, context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=t)

    @staticmethod
    def _path(path, query=None):
        path = "/api/v1" + path
        if query:
            pairs = []
            for k, v in query.items():
                if v is None:
                    continue
                for item in v if isinstance(v, (list, tuple)) else [v]:
                    if isinstance(item, bool):
                        item = "true" if item else "false"
                    pairs.append((k, str(item)))
            if pairs:
                path += "?" + urllib.parse.urlencode(pairs)
        return path

    def _open(self, method, path, query=None, body=None, content_type=None, headers=None, timeout=None):
        """Sends a request; returns the open response (the caller reads it) and its connection."""
        h = {"Authorization": "Bearer " + self._token}
        h.update(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        conn = self._connect(timeout)
        try:
            conn.request(method, self._path(path, query), body=body, headers=h)
            response = conn.getresponse()
        except Exception:
            conn.close()
            raise
        if response.status >= 400:
            text = response.read()
            conn.close()
            try:
                err = json.loads(text)["error"]
                raise WeftError(response.status, err["code"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise WeftError(response.status, "http", text.decode(errors="replace")) from None
        return response, conn

    def _call(self, method, path, query=None, json_body=None, raw=None, content_type=None, headers=None):
        body = raw
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        response, conn = self._open(method, path, query, body, content_type, headers)
        try:
            text = response.read()
        finally:
            conn.close()
        return json.loads(text) if text else None

    # ---- who, what ---------------------------------------------------------------------------

    def health(self):
        return self._call("GET", "/health")

    def whoami(self):
        return self._call("GET", "/whoami")

    # ---- runs ----------------------------------------------------------------------------------

    def runs(self, experiment=None, status=None, since=None, tag=None, project=None, limit=50):
        """The newest runs first, at most `limit` (pages are fetched as needed)."""
        out, before = [], None
        while len(out) < limit:
            page = self._call("GET", "/runs", {
                "experiment": experiment, "status": status, "since": since, "tag": tag,
                "project": project, "limit": min(1000, limit - len(out)), "before": before})
            out.extend(page["runs"])
            before = page["next"]
            if before is None:
                break
        return out

    def run(self, run_id):
        """A run, its steps and what it warned of (`warnings`)."""
        return self._call("GET", f"/runs/{_seg(run_id)}")

    def submit(self, file, folder=None, experiment=None, tags=None, inputs=None, project=None,
               idempotency_key=None):
        """Runs a pipeline file on the server: the files of `folder` (default: the pipeline's
        own folder) are sent as `weft run --server` sends them (_files; only what the server does
        not have yet); the pipeline may read only those. `inputs` ({"lr": 0.1})
        are its `--set` values."""
        upload, rel = self._upload(file, folder, project)
        query = {"file": rel, "upload": upload, "experiment": experiment, "project": project,
                 "tag": [f"{k}={v}" for k, v in (tags or {}).items()],
                 "set": [f"inputs.{k}={_text(v)}" for k, v in (inputs or {}).items()]}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._call("POST", "/runs", query, headers=headers)["run"]

    def _upload(self, file, folder, project):
        """Sends a folder's files as an upload: their manifest first, then only the contents the
        project has not sent before (in parts); returns the upload's id and the file's path in it."""
        files, rel, empty = _files(file, folder)
        manifest, path_of = [{"path": d, "folder": True} for d in empty], {}
        for name, path in files:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            st = os.stat(path)
            manifest.append({"path": name, "digest": h.hexdigest(), "size": st.st_size,
                             "executable": bool(st.st_mode & 0o111)})
            path_of.setdefault(h.hexdigest(), path)
        query = {"project": project}
        for _ in range(2):
            answer = self._call("POST", "/uploads", query, json_body={"files": manifest})
            if answer["upload"]:
                return answer["upload"], rel
            part, size = [], 0
            for digest in answer["missing"] + [None]:
                if part and (digest is None or size + os.path.getsize(path_of[digest]) > _PART):
                    buf = io.BytesIO()
                    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
                        for d in part:
                            t.add(path_of[d], arcname=d, recursive=False)
                    self._call("POST", "/uploads/contents", query, raw=buf.getvalue(),
                               content_type="application/x-tar")
                    part, size = [], 0
                if digest is not None:
                    part.append(digest)
                    size += os.path.getsize(path_of[digest])
        raise WeftError(500, "internal", "the server still lacks contents it was sent")

    def cancel(self, run_id):
        return self._call("POST", f"/runs/{_seg(run_id)}/cancel")

    def resume(self, run_id):
        """Resumes a failed, canceled or interrupted run as `weft resume` does; the new run."""
        return self._call("POST", f"/runs/{_seg(run_id)}/resume")["run"]

    def graph(self, run_id):
        """A run's graph for drawing ({"graph": {"steps", "edges", "groups"}, "steps": statuses})."""
        return self._call("GET", f"/runs/{_seg(run_id)}/graph")

    def lineage(self, ref, downstream=False):
        """Where `ref` (RUN/STEP.OUTPUT, sha256:DIGEST, an asset NAME:VERSION) came from, or who
        used it: {"described", "tree": {"kind", ..., "children"}}."""
        return self._call("GET", "/lineage", {"ref": ref,
                                              "direction": "downstream" if downstream else "upstream"})

    def wait(self, run_id, timeout=None, poll=0.5):
        """Waits for a run to end and returns it; TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["status"] != "running":
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} is still running after {timeout} s")
            time.sleep(poll)

    def logs(self, run_id, step, job=None, follow=False, poll=0.5):
        """A step's log, a chunk of text at a time; with `follow`, until the step stops running."""
        offset = 0
        while True:
            part = self._call("GET", f"/runs/{_seg(run_id)}/log",
                              {"step": step, "job": job, "offset": offset})
            if part["text"]:
                yield part["text"]
            offset = part["next"]
            if offset < part["size"]:
                continue
            if not follow or not part["running"]:
                return
            time.sleep(poll)

    def search_logs(self, run_id, step, text, limit=100):
        return self._call("GET", f"/runs/{_seg(run_id)}/log/search",
                          {"step": step, "q": text, "limit": limit})["matches"]

    def metrics(self, run_id, step=None, history=False):
        return self._call("GET", f"/runs/{_seg(run_id)}/metrics",
                          {"step": step, "history": history})["steps"]

    def metric_history(self, runs, names=None, step=None):
        """Every logged value of the named metrics (all, without `names`) of several runs: a list
        of series, each with `run`, `step`, `name` and `points`."""
        return self._call("GET", "/metrics", {"run": list(runs), "name": list(names or []),
                                              "step": step})["series"]

    def explain(self, run_id, step):
        return self._call("GET", f"/runs/{_seg(run_id)}/explain", {"step": step})["lines"]

    def compare(self, runs, diff=False):
        return self._call("GET", "/compare", {"run": list(runs), "diff": diff})

    def download(self, run_id, output, dest):
        """Extracts an output (`STEP.OUTPUT`) into the folder `dest`, which is made; returns the
        path of what it extracted. Entries that would land outside `dest` are refused."""
        response, conn = self._open("GET", f"/runs/{_seg(run_id)}/download", {"output": output})
        try:
            data = response.read()
        finally:
            conn.close()
        os.makedirs(dest, exist_ok=True)
        root = os.path.realpath(dest)
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            members = t.getmembers()
            for m in members:
                target = os.path.realpath(os.path.join(root, m.name))
                if not (m.isfile() or m.isdir()) or os.path.commonpath([root, target]) != root:
                    raise WeftError(200, "invalid", f"the download holds `{m.name}`, which is not "
                                                    "a file or folder inside its own folder")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            t.extractall(root, members, **safe)
        return os.path.join(root, members[0].name) if members else root

    def events(self, run=None, project=None, logs=None, last_event_id=None, timeout=None):
        """Live events as (id, event, data) tuples, until the server ends the stream; resumes
        from `last_event_id`. A `reset` event says some were missed: read the state again."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        response, conn = self._open("GET", "/events", {"run": run, "project": project, "logs": logs},
                                    headers=headers, timeout=timeout)
        try:
            frame = {}
            for raw in response:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith(":"):
                    continue
                if line:
                    key, _, value = line.partition(":")
                    frame[key] = value[1:] if value.startswith(" ") else value
                    continue
                if "event" in frame:
                    yield (int(frame["id"]) if "id" in frame else None, frame["event"],
                           json.loads(frame.get("data", "null")))
                    if frame["event"] == "end":
                        return
                frame = {}
        finally:
            conn.close()

    # ---- published pipelines -----------------------------------------------------------------

    def publish(self, file, name, folder=None, description=None, project=None):
        """Publishes the pipeline (its folder's files, as submit sends them) as the next version of
        `name`; the same content again is the version it already is."""
        upload, rel = self._upload(file, folder, project)
        return self._call("POST", "/pipelines", {"name": name, "file": rel, "upload": upload,
                                                 "description": description, "project": project})["version"]

    def pipelines(self):
        return self._call("GET", "/pipelines")["pipelines"]

    def pipeline(self, name):
        return self._call("GET", f"/pipelines/{_seg(name)}")

    def version(self, name, version="default"):
        """A version and the inputs it declares (name, type, default, optional)."""
        return self._call("GET", f"/pipelines/{_seg(name)}/versions/{_seg(str(version))}")

    def set_default(self, name, version):
        return self._call("PUT", f"/pipelines/{_seg(name)}/default", json_body={"version": version})

    def trigger(self, name, inputs=None, version=None, experiment=None, tags=None,
                idempotency_key=None):
        """Starts a run of a published pipeline; inputs are checked against its declared ones."""
        body = {"inputs": inputs or {}}
        if version is not None:
            body["version"] = version
        if experiment is not None:
            body["experiment"] = experiment
        if tags:
            body["tags"] = tags
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._call("POST", f"/pipelines/{_seg(name)}/runs", json_body=body,
                          headers=headers)["run"]


    # ---- schedules ----------------------------------------------------------------------------

    def create_schedule(self, file, folder=None, project=None):
        """Creates (or replaces, by its name) a schedule from an Azure ML schedule file, sent with
        its folder's files (what its `create_job` names); owners."""
        upload, rel = self._upload(file, folder, project)
        return self._call("POST", "/schedules", {"file": rel, "upload": upload,
                                                 "project": project})["schedule"]

    def schedules(self):
        return self._call("GET", "/schedules")["schedules"]

    def schedule(self, name):
        """A schedule: trigger, next firing times (`next_fires_ns`), past firings (`fires`)."""
        return self._call("GET", f"/schedules/{_seg(name)}")

    def enable_schedule(self, name, enabled=True):
        return self._call("POST", f"/schedules/{_seg(name)}/{'enable' if enabled else 'disable'}")

    def delete_schedule(self, name):
        return self._call("DELETE", f"/schedules/{_seg(name)}")

    def fire_schedule(self, name):
        """Fires a schedule now; returns the run id it started."""
        return self._call("POST", f"/schedules/{_seg(name)}/trigger")["run"]


    # ---- webhooks -----------------------------------------------------------------------------

    def add_webhook(self, url):
        """Announces the project's finished runs to `url`; the answer holds the signing secret
        (shown this once)."""
        return self._call("POST", "/webhooks", json_body={"url": url})

    def webhooks(self):
        return self._call("GET", "/webhooks")["webhooks"]

    def webhook_deliveries(self, webhook_id):
        return self._call("GET", f"/webhooks/{_seg(webhook_id)}/deliveries")["deliveries"]

    def delete_webhook(self, webhook_id):
        return self._call("DELETE", f"/webhooks/{_seg(webhook_id)}")


def _seg(text):
    """One path segment."""
    return urllib.parse.quote(str(text), safe="")


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ignore_rules(folder):
    """The patterns of `folder`'s .amlignore as (regex, negate, dir_only, anchored), as weft's
    store reads them, in gitignore's syntax: `#`, `!`, a trailing `/`; a leading or middle `/`
    anchors it; `*`, `?` and `[...]` stay within one name; `**/`, `/**/`, a trailing `/**` span
    folders."""
    rules = []
    try:
        with open(os.path.join(folder, ".amlignore")) as f:
            lines = f.read().splitlines()
    except OSError:
        return rules
    for line in lines:
        line = line.rstrip("\r ")
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line[:-1] if dir_only else line
        leading = line.startswith("/")
        line = line[1:] if leading else line
        if not line:
            continue
        anchored = leading or "/" in line
        segments = line.split("/") if anchored else [line]
        # (`**/**` is `**`: one group, not two that backtrack against each other)
        segments = [g for k, g in enumerate(segments) if not (g == "**" and k and segments[k - 1] == "**")]
        regex = ""
        for k, segment in enumerate(segments):
            last = k == len(segments) - 1
            if anchored and segment == "**":
                regex += ".+" if last else "(?:[^/]+/)*"
            else:
                regex += _name_regex(segment) + ("" if last else "/")
        rules.append((re.compile(regex + r"\Z"), negate, dir_only, anchored))
    return rules


def _name_regex(glob):
    """fnmatch's rules for one name: `*`, `?`, `[...]` (`[!...]` negated), `\\` escaping."""
    out, i = "", 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "\\" and i + 1 < len(glob):
            i += 1
            out += re.escape(glob[i])
        elif c == "[":
            j = i + 1
            if j < len(glob) and glob[j] in "!^":
                j += 1
            if j < len(glob) and glob[j] == "]":
                j += 1
            while j < len(glob) and glob[j] != "]":
                j += 1
            if j >= len(glob):  # no closing bracket: a plain `[`
                out += re.escape(c)
            else:
                body = glob[i + 1:j]
                negated = body[:1] in ("!", "^")
                body = body[1:] if negated else body
                out += "[" + ("^" if negated else "") + body.replace("\\", "\\\\") + "]"
                i = j
        else:
            out += re.escape(c)
        i += 1
    return out


def _ignored(rules, rel, is_dir):
    ignored = False
    for regex, negate, dir_only, anchored in rules:
        if dir_only and not is_dir:
            continue
        if regex.match(rel if anchored else rel.rsplit("/", 1)[-1]):
            ignored = not negate
    return ignored


def _files(file, folder):
    """The files of `folder` (default: the pipeline file's folder) as (path inside it, path), in
    name order, the pipeline file's path inside it, and its empty folders (paths inside it), as
    `weft run --server` sends them: regular
    files, and links to regular files inside the folder (sent as those files), less what an
    .amlignore leaves out of its folder, weft's, version control's and caches' folders, and
    virtual or conda environments (a folder with pyvenv.cfg or conda-meta). Any other entry (a
    link out of the folder or to a folder, a FIFO) is a ValueError naming every such entry."""
    file = os.path.abspath(file)
    folder = os.path.abspath(folder or os.path.dirname(file))
    rel = os.path.relpath(file, folder)
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise ValueError(f"{file} is not inside {folder}")
    root = os.path.realpath(folder)
    out, problems, ignores, sent_dirs = [], [], {}, []
    for here, dirs, files in os.walk(folder):
        found = _ignore_rules(here)
        if found:  # (only folders with an .amlignore: looked through for every entry)
            ignores[here] = found
        here_rel = os.path.relpath(here, folder).replace(os.sep, "/")
        here_rel = "" if here_rel == "." else here_rel

        def left_out(name, is_dir):
            path_rel = f"{here_rel}/{name}" if here_rel else name
            for at, rules in ignores.items():
                at_rel = os.path.relpath(at, folder).replace(os.sep, "/")
                at_rel = "" if at_rel == "." else at_rel
                if not at_rel or path_rel.startswith(at_rel + "/"):
                    if _ignored(rules, path_rel[len(at_rel) + 1:] if at_rel else path_rel, is_dir):
                        return True
            return False

        kept = []
        for d in sorted(dirs):
            path = os.path.join(here, d)
            environment = os.path.isfile(os.path.join(path, "pyvenv.cfg")) or os.path.isdir(
                os.path.join(path, "conda-meta"))
            if d in _SKIPPED or left_out(d, not os.path.islink(path)) or (environment and not os.path.islink(path)):
                continue
            if os.path.islink(path):
                inside = os.path.realpath(path).startswith(root + os.sep)
                problems.append(f"`{os.path.relpath(path, folder)}` is a link "
                                f"{'to a folder' if inside else 'out of the folder sent'}")
                continue
            kept.append(d)
            dirs_rel = os.path.relpath(path, folder).replace(os.sep, "/")
            sent_dirs.append(dirs_rel)
        dirs[:] = kept
        for name in sorted(files):
            path = os.path.join(here, name)
            if name in _SKIPPED or left_out(name, False):
                continue
            shown = os.path.relpath(path, folder)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if not target.startswith(root + os.sep) or not os.path.isfile(target):
                    problems.append(f"`{shown}` is a link out of the folder sent")
                    continue
            elif not os.path.isfile(path):
                problems.append(f"`{shown}` is not a regular file, folder or link")
                continue
            out.append((shown.replace(os.sep, "/"), path))
    if problems:
        raise ValueError(f"{folder} cannot be sent as it is: " + "; ".join(sorted(problems)) +
                         " (leave them out with patterns in an .amlignore beside them)")
    names = sorted([name for name, _ in out] + sent_dirs)
    empty = []  # folders with nothing beneath them
    for d in sorted(sent_dirs):
        at = bisect.bisect_left(names, d + "/")
        if at == len(names) or not names[at].startswith(d + "/"):
            empty.append(d)
    return sorted(out), posixpath.normpath(rel.replace(os.sep, "/")), empty
