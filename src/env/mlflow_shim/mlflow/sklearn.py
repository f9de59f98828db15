"""mlflow.sklearn in weft's MLflow shim: autolog, save_model, log_model, load_model."""

import inspect
import math
import os
import pickle
import platform
import sys
import threading
import time
import uuid

import mlflow

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = [SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise mlflow._unsupported("mlflow.sklearn", name)


def _pickler(serialization_format):
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        try:
            import cloudpickle
            return cloudpickle, SERIALIZATION_FORMAT_CLOUDPICKLE
        except ImportError:
            pass  # MLflow's default; plain pickle reads the same estimators
    return pickle, SERIALIZATION_FORMAT_PICKLE


def _yaml(value, indent=0):
    pad = " " * indent
    lines = []
    for key, v in value.items():
        if isinstance(v, dict):
            lines.append("{}{}:".format(pad, key))
            lines.append(_yaml(v, indent + 2))
        else:
            text = "null" if v is None else str(v)
            if text == "" or text[0] in "{}[]&*#?|-<>=!%@`'\":" or ":" in text:
                text = "'" + text.replace("'", "''") + "'"
            lines.append("{}{}: {}".format(pad, key, text))
    return "\n".join(lines)


def save_model(sk_model, path, conda_env=None, code_paths=None, mlflow_model=None,
               serialization_format=SERIALIZATION_FORMAT_CLOUDPICKLE, signature=None,
               input_example=None, pip_requirements=None, extra_pip_requirements=None,
               pyfunc_predict_fn="predict", metadata=None, _artifact_path=None):
    path = os.path.abspath(str(path))
    if os.path.exists(path) and os.listdir(path):
        raise mlflow.MlflowException("Path '{}' already exists and is not empty".format(path))
    os.makedirs(path, exist_ok=True)
    module, fmt = _pickler(serialization_format)
    with open(os.path.join(path, "model.pkl"), "wb") as f:
        module.dump(sk_model, f)
    try:
        import sklearn
        sklearn_version = sklearn.__version__
    except ImportError:
        sklearn_version = None
    python = platform.python_version()
    requirements = ["mlflow"] + (["scikit-learn=={}".format(sklearn_version)] if sklearn_version else [])
    requirements += list(extra_pip_requirements or [])
    if pip_requirements:
        requirements = list(pip_requirements)
    model = {}
    if _artifact_path:
        model["artifact_path"] = _artifact_path
    model["flavors"] = {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "model_path": "model.pkl",
            "predict_fn": pyfunc_predict_fn,
            "python_version": python,
        },
        "sklearn": {
            "code": None,
            "pickled_model": "model.pkl",
            "serialization_format": fmt,
            "sklearn_version": sklearn_version,
        },
    }
    model["mlflow_version"] = mlflow.__version__
    model["model_uuid"] = uuid.uuid4().hex
    if _artifact_path:
        model["run_id"] = mlflow._run_id()
    model["utc_time_created"] = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    with open(os.path.join(path, "MLmodel"), "w", encoding="utf-8") as f:
        f.write(_yaml(model) + "\n")
    with open(os.path.join(path, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(requirements) + "\n")
    with open(os.path.join(path, "python_env.yaml"), "w", encoding="utf-8") as f:
        f.write("python: {}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
                .format(python))
    with open(os.path.join(path, "conda.yaml"), "w", encoding="utf-8") as f:
        f.write("channels:\n- conda-forge\ndependencies:\n- python={}\n- pip\n- pip:\n".format(python) +
                "".join("  - {}\n".format(r) for r in requirements) + "name: mlflow-env\n")


class ModelInfo:
    def __init__(self, artifact_path, model_uri, run_id, flavors):
        self.artifact_path = artifact_path
        self.model_uri = model_uri
        self.run_id = run_id
        self.flavors = flavors


def log_model(sk_model, artifact_path, conda_env=None, code_paths=None,
              serialization_format=SERIALIZATION_FORMAT_CLOUDPICKLE, registered_model_name=None,
              signature=None, input_example=None, await_registration_for=None,
              pip_requirements=None, extra_pip_requirements=None, pyfunc_predict_fn="predict",
              metadata=None, **kwargs):
    run = mlflow._current()
    save_model(sk_model, mlflow._artifact_dir(artifact_path),
               serialization_format=serialization_format, pip_requirements=pip_requirements,
               extra_pip_requirements=extra_pip_requirements, pyfunc_predict_fn=pyfunc_predict_fn,
               _artifact_path=artifact_path)
    if registered_model_name:
        mlflow.set_tag("mlflow.registered_model_name", registered_model_name)
    return ModelInfo(artifact_path, "runs:/{}/{}".format(run.info.run_id, artifact_path),
                     run.info.run_id, {"sklearn": {}, "python_function": {}})


def _read_flavor(path):
    pickled, fmt = "model.pkl", SERIALIZATION_FORMAT_PICKLE
    mlmodel = os.path.join(path, "MLmodel")
    if os.path.exists(mlmodel):
        with open(mlmodel, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.strip().partition(": ")
                if key == "pickled_model":
                    pickled = value
                elif key == "serialization_format":
                    fmt = value
    return os.path.join(path, pickled), fmt


def load_model(model_uri, dst_path=None):
    pickled, fmt = _read_flavor(mlflow._local_model_path(model_uri))
    module, _ = _pickler(fmt)
    with open(pickled, "rb") as f:
        return module.load(f)


# --- autolog ---------------------------------------------------------------------------------

_state = threading.local()
_settings = {"enabled": False, "log_models": True, "pos_label": None}


def _fit_data(fit, args, kwargs):
    """X, y and sample_weight as fit() was given them, by the names of its own parameters."""
    try:
        names = list(inspect.signature(fit).parameters)[1:]  # after self
    except (TypeError, ValueError):
        names = ["X", "y"]
    given = dict(zip(names, args))
    given.update(kwargs)
    x_name = names[0] if names else "X"
    y_name = names[1] if len(names) > 1 else "y"
    return given.get(x_name), given.get(y_name), given.get("sample_weight")


def _training_metrics(estimator, X, y, sample_weight, pos_label):
    """The metrics MLflow's autolog computes on the training data, under MLflow's names: weighted
    averages (binary ones for `pos_label`), log loss and one-vs-one ROC AUC only for estimators
    with predict_proba, the regressor errors, and the estimator's own score. A metric that cannot
    be computed is left out with a warning, as MLflow does."""
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor
    out = {}

    def put(name, fn, **arguments):
        try:
            out["training_" + name] = float(fn(**arguments))
        except Exception as e:  # noqa: BLE001 -- MLflow logs what it can
            sys.stderr.write("mlflow (weft's shim): training_{} not logged: {}\n".format(name, e))

    if is_classifier(estimator):
        y_pred = estimator.predict(X)
        average = "weighted" if pos_label is None else "binary"
        for name, fn in (("precision_score", metrics.precision_score),
                         ("recall_score", metrics.recall_score), ("f1_score", metrics.f1_score)):
            put(name, fn, y_true=y, y_pred=y_pred, pos_label=pos_label, average=average,
                sample_weight=sample_weight)
        put("accuracy_score", metrics.accuracy_score, y_true=y, y_pred=y_pred, normalize=True,
            sample_weight=sample_weight)
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            put("log_loss", metrics.log_loss, y_true=y, y_pred=proba, sample_weight=sample_weight)
            score = proba[:, 1] if len(proba[0]) == 2 else proba  # binary: the greater label's
            put("roc_auc", metrics.roc_auc_score, y_true=y, y_score=score, average="weighted",
                sample_weight=sample_weight, multi_class="ovo")
    elif is_regressor(estimator):
        y_pred = estimator.predict(X)
        for name, fn in (("mean_squared_error", metrics.mean_squared_error),
                         ("mean_absolute_error", metrics.mean_absolute_error),
                         ("r2_score", metrics.r2_score)):
            put(name, fn, y_true=y, y_pred=y_pred, sample_weight=sample_weight,
                multioutput="uniform_average")
        if "training_mean_squared_error" in out:
            out["training_root_mean_squared_error"] = math.sqrt(out["training_mean_squared_error"])
    if hasattr(estimator, "score"):
        try:
            takes_weight = "sample_weight" in inspect.signature(estimator.score).parameters
            out["training_score"] = float(estimator.score(X, y, sample_weight) if takes_weight
                                          else estimator.score(X, y))
        except Exception as e:  # noqa: BLE001
            sys.stderr.write("mlflow (weft's shim): training_score not logged: {}\n".format(e))
    return out


def _after_fit(estimator, fit, args, kwargs):
    params = estimator.get_params(deep=True)
    mlflow.log_params({k: v for k, v in params.items() if not hasattr(v, "get_params")})
    X, y, sample_weight = _fit_data(fit, args, kwargs)
    if X is not None and y is not None:
        mlflow.log_metrics(_training_metrics(estimator, X, y, sample_weight, _settings["pos_label"]))
    mlflow.set_tag("estimator_name", type(estimator).__name__)
    mlflow.set_tag("estimator_class", type(estimator).__module__ + "." + type(estimator).__name__)
    if _settings["log_models"]:
        folder = mlflow._artifact_dir(None)
        if not os.path.exists(os.path.join(folder, "model")):
            log_model(estimator, "model")


def _patch(cls):
    fit = cls.__dict__.get("fit")
    if fit is None or getattr(fit, "_weft_patched", False):
        return

    def patched(self, *args, **kwargs):
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        try:
            result = fit(self, *args, **kwargs)
        finally:
            _state.depth = depth
        if depth == 0 and _settings["enabled"]:
            _after_fit(self, fit, args, kwargs)
        return result

    patched._weft_patched = True
    patched.__wrapped__ = fit
    patched.__name__ = "fit"
    patched.__doc__ = fit.__doc__
    cls.fit = patched


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def autolog(log_input_examples=False, log_model_signatures=True, log_models=True,
            log_datasets=True, disable=False, exclusive=False, disable_for_unsupported_versions=False,
            silent=False, max_tuning_runs=5, log_post_training_metrics=True,
            serialization_format=SERIALIZATION_FORMAT_CLOUDPICKLE, registered_model_name=None,
            pos_label=None, extra_tags=None):
    from sklearn.base import BaseEstimator
    _settings["enabled"] = not disable
    _settings["log_models"] = log_models
    _settings["pos_label"] = pos_label
    for cls in _subclasses(BaseEstimator):
        _patch(cls)
    if not getattr(BaseEstimator, "_weft_hooked", False):
        # Estimator classes defined (imported) later are patched as they appear.
        original = BaseEstimator.__dict__.get("__init_subclass__")

        def hook(cls, **kwargs):
            if original is not None:
                original.__func__(cls, **kwargs)
            else:
                super(BaseEstimator, cls).__init_subclass__(**kwargs)
            _patch(cls)

        BaseEstimator.__init_subclass__ = classmethod(hook)
        BaseEstimator._weft_hooked = True
