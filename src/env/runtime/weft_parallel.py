"""A worker of a weft parallel step (`python -m weft_parallel [program_arguments...]`).

weft plans the step's mini-batches and writes them, with the step's settings, to the JSON file
named by $WEFT_PARALLEL. Each worker imports the entry script, calls its `init()` once, then claims
mini-batches one at a time (a claim is a file created exclusively, so two workers never run the
same one), calls `run(mini_batch)` or `run(mini_batch, mini_batch_context)` on each (retried up to
`max_retries` times, each call limited to `timeout` seconds), writes each mini-batch's results to
a file of its own, and calls `shutdown()` when there is nothing left. weft counts failures against
the step's thresholds and writes `append_row_to` from the results, in mini-batch order.

The program arguments are on sys.argv, after the entry script's path, as Azure ML passes them.
"""

import importlib.util
import inspect
import json
import logging
import os
import signal
import sys
import time
import traceback


class MiniBatchTimeout(Exception):
    """A run() call took longer than retry_settings.timeout."""


class MiniBatchContext:
    """What run(mini_batch, mini_batch_context) receives, as Azure ML's does."""

    def __init__(self, index, dataset, partition_key_value):
        self.minibatch_index = index
        self.dataset = dataset
        self.partition_key_value = partition_key_value

    def __repr__(self):
        return "MiniBatchContext(minibatch_index={}, partition_key_value={!r})".format(
            self.minibatch_index, self.partition_key_value)


def _fail(message):
    sys.stderr.write("weft parallel: " + message + "\n")
    sys.stderr.flush()
    sys.exit(2)


def _write_atomic(path, text):
    # Not fsynced: results that a crash of the machine cut short do not parse, and weft counts
    # them as not done (engine/parallel.h).
    tmp = "{}.tmp-{}".format(path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def _load_entry(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        _fail("cannot load entry script {}".format(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _lines(result, items):
    """One text line per returned item: str() of each list entry, a DataFrame row's values
    joined by spaces."""
    if result is None:
        return []
    if hasattr(result, "itertuples") and hasattr(result, "columns"):  # a pandas DataFrame
        return [" ".join(str(v) for v in row) for row in result.itertuples(index=False, name=None)]
    if isinstance(result, (str, bytes)):
        raise TypeError("run() returned a {}; it must return a list or a DataFrame".format(
            type(result).__name__))
    return [str(v).replace("\n", " ") for v in result]


_table = None


def _load_table(root):
    import mltable  # the environment's, else weft's stand-in
    return mltable.load(root).to_pandas_dataframe()


def _mini_batch(config, batch):
    global _table
    if config["kind"] == "files":
        return [os.path.join(config["root"], name) for name in batch["items"]]
    if _table is None:  # a table mini-batch: rows of the MLTable, as a DataFrame
        _table = _load_table(config["root"])
    rows = batch["rows"]
    if isinstance(rows, dict):
        return _table.iloc[rows["start"]:rows["end"]]
    return _table.iloc[rows]


def plan_table(root, size, partition_keys, out):
    """Splits the MLTable at `root` into mini-batches of rows: by size (each row's size is its
    text), or one per distinct combination of `partition_keys`. Writes them to `out` as JSON, each
    with a digest of its rows."""
    import hashlib
    table = _load_table(root)
    missing = [k for k in partition_keys if k not in table.columns]
    if missing:
        _fail("partition key {} is not a column of the table (its columns: {})".format(
            ", ".join(missing), ", ".join(str(c) for c in table.columns)))
    text = table.astype(str).agg("\x1f".join, axis=1).tolist() if len(table.columns) else [""] * len(table)
    header = "\x1f".join(str(c) for c in table.columns)

    def digest(indices):
        h = hashlib.sha256(header.encode())
        for i in indices:
            h.update(b"\x1e" + text[i].encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    batches = []
    if partition_keys:
        groups = table.groupby(partition_keys, sort=True, dropna=False).indices
        for key, indices in groups.items():
            key = key if isinstance(key, tuple) else (key,)
            rows = [int(i) for i in indices]
            value = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(partition_keys, key)}
            # A partition is one item: run() returns at least one result for it (often a summary
            # row, such as a model's score).
            batches.append({"rows": rows, "items": 1, "partition": value, "digest": digest(rows)})
    else:
        start, used = 0, 0
        for i, row in enumerate(text):
            n = len(row.encode("utf-8", "surrogatepass")) + 1
            if used > 0 and used + n > size:
                batches.append({"rows": {"start": start, "end": i}, "items": i - start,
                                "digest": digest(range(start, i))})
                start, used = i, 0
            used += n
        if start < len(text):
            batches.append({"rows": {"start": start, "end": len(text)}, "items": len(text) - start,
                            "digest": digest(range(start, len(text)))})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"rows": len(text), "batches": batches}, f, default=str)


def _on_alarm(signum, frame):
    raise MiniBatchTimeout()


def _call(run, takes_context, mini_batch, context, timeout):
    if timeout > 0:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return run(mini_batch, context) if takes_context else run(mini_batch)
    finally:
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _takes_context(run):
    try:
        params = [p for p in inspect.signature(run).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL
                                   for p in inspect.signature(run).parameters.values())


def _claim(folder, index, job):
    try:
        fd = os.open(os.path.join(folder, "{}.claim".format(index)), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, str(job).encode())
    os.close(fd)
    return True


def _release_own_claims(folder, job):
    """A retried worker takes back the mini-batches its previous attempt claimed and did not
    finish."""
    for name in os.listdir(folder):
        if not name.endswith(".claim"):
            continue
        index = name[:-len(".claim")]
        if os.path.exists(os.path.join(folder, index + ".json")):
            continue
        try:
            with open(os.path.join(folder, name)) as f:
                owner = f.read().strip()
        except OSError:
            continue
        if owner == str(job):
            os.unlink(os.path.join(folder, name))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--weft-plan-table":  # weft plans a table's mini-batches
        plan_table(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5])
        return
    config_path = os.environ.get("WEFT_PARALLEL")
    if not config_path:
        _fail("$WEFT_PARALLEL is not set: this module runs inside a weft parallel step")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    job = int(os.environ.get("WEFT_JOB", "0"))
    logging.basicConfig(level=getattr(logging, config.get("logging_level") or "INFO", logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    entry = config["entry_script"]
    entry_path = os.path.abspath(entry)
    if not os.path.isfile(entry_path):
        _fail("the entry script {} is not in the code folder".format(entry))
    sys.argv = [entry_path] + sys.argv[1:]
    sys.path.insert(0, os.path.dirname(entry_path))
    module = _load_entry(entry_path)
    for needed in ("init", "run"):
        if not callable(getattr(module, needed, None)):
            _fail("the entry script {} defines no {}() function".format(entry, needed))
    run = module.run
    takes_context = _takes_context(run)
    module.init()

    folder = config["results"]
    _release_own_claims(folder, job)
    signal.signal(signal.SIGALRM, _on_alarm)
    attempts = 1 + max(0, int(config.get("max_retries", 2)))
    timeout = float(config.get("timeout", 60))
    done = 0
    for batch in config["batches"]:
        index = batch["index"]
        if os.path.exists(os.path.join(folder, "{}.json".format(index))):
            continue
        if not _claim(folder, index, job):
            continue
        started = time.time()
        items = batch.get("count", len(batch.get("items", [])))
        result = {"index": index, "key": batch["key"], "items": items, "ok": False, "lines": [],
                  "failed_items": items, "error": "", "attempts": 0}
        for attempt in range(1, attempts + 1):
            result["attempts"] = attempt
            try:
                context = MiniBatchContext(index, config.get("dataset"), batch.get("partition"))
                returned = _call(run, takes_context, _mini_batch(config, batch), context, timeout)
                lines = _lines(returned, items)
            except MiniBatchTimeout:
                result["error"] = "run() took longer than retry_settings.timeout ({:g} s)".format(timeout)
            except Exception:  # the script's own failure: recorded, then retried
                result["error"] = traceback.format_exc(limit=8).rstrip()
            else:
                result["lines"] = lines
                result["failed_items"] = max(0, items - len(lines))
                if len(lines) >= items:
                    result["ok"] = True
                    result["error"] = ""
                    break
                result["error"] = "run() returned {} results for {} items".format(len(lines), items)
            logging.getLogger("weft.parallel").warning(
                "mini-batch %d, attempt %d of %d: %s", index, attempt, attempts,
                result["error"].splitlines()[-1] if result["error"] else "")
        result["seconds"] = round(time.time() - started, 6)
        _write_atomic(os.path.join(folder, "{}.json".format(index)), json.dumps(result))
        done += 1
    shutdown = getattr(module, "shutdown", None)
    if callable(shutdown):
        shutdown()
    logging.getLogger("weft.parallel").info("worker %d: %d mini-batches", job, done)


if __name__ == "__main__":
    main()
