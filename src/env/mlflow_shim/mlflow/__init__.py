"""weft's MLflow shim: the part of MLflow's tracking API that training scripts use.

weft puts this package first on PYTHONPATH when a step's environment has no real `mlflow`. What
it logs goes to the step's $WEFT_METRICS file (metrics, params, tags: `weft metrics`) and to the
step's `outputs/` folder (artifacts and models: the step's `artifacts` output). The supported calls
are listed in SUPPORTED and in weft's docs/tracking.md; anything else raises an AttributeError
saying so.
"""

import dis
import json
import math
import os
import shutil
import sys
import time

__version__ = "2.9.2+weft"

SUPPORTED = (
    "log_metric", "log_metrics", "log_param", "log_params", "set_tag", "set_tags",
    "start_run", "end_run", "active_run", "last_active_run", "autolog",
    "log_artifact", "log_artifacts", "log_dict", "log_text", "log_figure",
    "get_artifact_uri", "set_experiment", "set_tracking_uri", "get_tracking_uri",
    "sklearn.autolog", "sklearn.save_model", "sklearn.load_model", "sklearn.log_model",
    "pyfunc.load_model", "MlflowException", "ActiveRun",
)


class MlflowException(Exception):
    """Raised where MLflow raises its own exception."""


def _unsupported(module, name):
    message = ("{}.{} is not supported by weft's MLflow shim (it supports: {}); install the real "
               "mlflow in the step's environment to use it".format(module, name, ", ".join(SUPPORTED)))
    # `from mlflow import x` turns an AttributeError into a bare "cannot import name"; say why.
    caller = sys._getframe(2)
    if caller.f_code.co_code[caller.f_lasti] == dis.opmap["IMPORT_FROM"]:
        return ImportError(message)
    return AttributeError(message)


# Submodules load on first use, as MLflow's flavors do: `import mlflow` then `mlflow.sklearn.x`.
_SUBMODULES = ("sklearn", "pyfunc")


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module("mlflow." + name)
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported("mlflow", name)


# --- where things go -------------------------------------------------------------------------

def _run_id():
    run = os.environ.get("WEFT_RUN_ID", "local")
    step = os.environ.get("WEFT_STEP", "step")
    return "{}-{}".format(run, step.replace("/", "."))


def _artifact_root():
    return os.environ.get("WEFT_ARTIFACTS") or os.path.join(os.getcwd(), "outputs")


def _artifact_dir(artifact_path):
    root = _artifact_root()
    path = os.path.normpath(os.path.join(root, artifact_path or ""))
    if path != root and not path.startswith(root + os.sep):
        raise MlflowException("artifact path {!r} leaves the run's artifacts".format(artifact_path))
    os.makedirs(path, exist_ok=True)
    return path


def _emit(record):
    path = os.environ.get("WEFT_METRICS")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _now_ms():
    return int(time.time() * 1000)


# --- runs ------------------------------------------------------------------------------------

class _RunInfo:
    def __init__(self, run_id, run_name, experiment_id):
        self.run_id = run_id
        self.run_uuid = run_id
        self.run_name = run_name
        self.experiment_id = experiment_id
        self.status = "RUNNING"
        self.start_time = _now_ms()
        self.end_time = None
        self.artifact_uri = "file://" + _artifact_root()
        self.lifecycle_stage = "active"


class _RunData:
    def __init__(self):
        self.metrics = {}
        self.params = {}
        self.tags = {}


class ActiveRun:
    """What start_run returns; a context manager that ends the run on exit."""

    def __init__(self, run_id, run_name, parent=None):
        self.info = _RunInfo(run_id, run_name, _experiment["id"])
        self.data = _RunData()
        self._parent = parent

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run("FINISHED" if exc_type is None else "FAILED")
        return False


_runs = []  # the active run and its nested children, innermost last
_last = [None]
_experiment = {"id": "0", "name": os.environ.get("WEFT_EXPERIMENT", "Default")}


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, tags=None,
              description=None, log_system_metrics=None, parent_run_id=None):
    if _runs and not nested:
        # Azure ML starts a run for the job; a script's own start_run attaches to it.
        run = _runs[-1]
    else:
        rid = _run_id() if not _runs else "{}-{}".format(_run_id(), len(_runs))
        run = ActiveRun(run_id or rid, run_name or os.environ.get("WEFT_STEP", "step"),
                        parent=_runs[-1] if _runs else None)
        _runs.append(run)
    if tags:
        set_tags(tags)
    if description:
        set_tag("mlflow.note.content", description)
    return run


def end_run(status="FINISHED"):
    if not _runs:
        return
    run = _runs.pop()
    run.info.status = status
    run.info.end_time = _now_ms()
    _last[0] = run


def active_run():
    return _runs[-1] if _runs else None


def last_active_run():
    return active_run() or _last[0]


def _current():
    return _runs[-1] if _runs else start_run()


# --- logging ---------------------------------------------------------------------------------

def log_metric(key, value, step=None, synchronous=None, timestamp=None, run_id=None):
    value = float(value)
    record = {"name": str(key), "value": value, "timestamp": int(timestamp or _now_ms())}
    if step is not None:
        record["step"] = int(step)
    if math.isfinite(value):
        _emit(record)
    _current().data.metrics[str(key)] = value


def log_metrics(metrics, step=None, synchronous=None, run_id=None, timestamp=None):
    for key, value in metrics.items():
        log_metric(key, value, step=step, timestamp=timestamp)


def log_param(key, value, synchronous=None):
    _emit({"param": str(key), "value": str(value)})
    _current().data.params[str(key)] = str(value)
    return value


def log_params(params, synchronous=None, run_id=None):
    for key, value in params.items():
        log_param(key, value)


def set_tag(key, value, synchronous=None):
    _emit({"tag": str(key), "value": str(value)})
    _current().data.tags[str(key)] = str(value)


def set_tags(tags, synchronous=None):
    for key, value in tags.items():
        set_tag(key, value)


def set_experiment(experiment_name=None, experiment_id=None):
    _experiment["name"] = experiment_name or _experiment["name"]
    _experiment["id"] = experiment_id or _experiment["id"]
    return type("Experiment", (), {"name": _experiment["name"],
                                   "experiment_id": _experiment["id"]})()


_tracking_uri = ["file://" + _artifact_root()]


def set_tracking_uri(uri):
    _tracking_uri[0] = str(uri)


def get_tracking_uri():
    return _tracking_uri[0]


def get_artifact_uri(artifact_path=None):
    root = _artifact_root()
    return "file://" + (os.path.join(root, artifact_path) if artifact_path else root)


# --- artifacts -------------------------------------------------------------------------------

def log_artifact(local_path, artifact_path=None, run_id=None):
    _current()
    shutil.copy2(local_path, os.path.join(_artifact_dir(artifact_path), os.path.basename(local_path)))


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    _current()
    shutil.copytree(local_dir, _artifact_dir(artifact_path), dirs_exist_ok=True)


def _artifact_file(artifact_file):
    folder, name = os.path.split(artifact_file)
    return os.path.join(_artifact_dir(folder), name)


def log_dict(dictionary, artifact_file, run_id=None):
    _current()
    path = _artifact_file(artifact_file)
    with open(path, "w", encoding="utf-8") as f:
        if artifact_file.endswith((".yaml", ".yml")):
            try:
                import yaml
                yaml.safe_dump(dictionary, f, sort_keys=False)
                return
            except ImportError:
                pass  # JSON is YAML too
        json.dump(dictionary, f, indent=2)


def log_text(text, artifact_file, run_id=None):
    _current()
    with open(_artifact_file(artifact_file), "w", encoding="utf-8") as f:
        f.write(text)


def log_figure(figure, artifact_file, save_kwargs=None, run_id=None):
    _current()
    path = _artifact_file(artifact_file)
    if hasattr(figure, "savefig"):  # matplotlib
        figure.savefig(path, **(save_kwargs or {}))
    elif hasattr(figure, "write_html") and artifact_file.endswith(".html"):  # plotly
        figure.write_html(path, **(save_kwargs or {}))
    elif hasattr(figure, "write_image"):
        figure.write_image(path, **(save_kwargs or {}))
    else:
        raise MlflowException("log_figure takes a matplotlib or plotly figure, not {}".format(
            type(figure).__name__))


def autolog(log_input_examples=False, log_model_signatures=True, log_models=True,
            log_datasets=True, disable=False, exclusive=False, disable_for_unsupported_versions=False,
            silent=False, extra_tags=None, **kwargs):
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return  # MLflow autologs the libraries that are there
    from mlflow import sklearn as _sk
    _sk.autolog(log_models=log_models, disable=disable, silent=silent)


def _local_model_path(model_uri):
    uri = str(model_uri)
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("runs:/"):
        run, _, path = uri[len("runs:/"):].partition("/")
        if run != _run_id():
            raise MlflowException("{}: weft's MLflow shim loads models of the step's own run "
                                  "({}); pass other models as step inputs".format(uri, _run_id()))
        return os.path.join(_artifact_root(), path)
    if "://" in uri or uri.startswith("models:/"):
        raise MlflowException("{}: weft's MLflow shim loads models from local paths and runs:/ "
                              "URIs of the step's own run".format(uri))
    return uri
