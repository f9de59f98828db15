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


def _mini_batch(config, batch):
    if config["kind"] == "files":
        return [os.path.join(config["root"], name) for name in batch["items"]]
    import weft_table  # a table mini-batch: rows of the MLTable, as a DataFrame
    return weft_table.read_rows(config, batch)


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
        items = len(batch["items"])
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
