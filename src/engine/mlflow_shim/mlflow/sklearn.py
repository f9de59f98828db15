"""mlflow.sklearn in weft's MLflow shim: autolog, save_model, log_model, load_model."""

import os
import pickle
import platform
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
_settings = {"enabled": False, "log_models": True}


def _after_fit(estimator, args, kwargs):
    params = estimator.get_params(deep=True)
    mlflow.log_params({k: v for k, v in params.items() if not hasattr(v, "get_params")})
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if hasattr(estimator, "score") and X is not None:
        try:
            score = estimator.score(X, y) if y is not None else estimator.score(X)
            mlflow.log_metric("training_score", score)
        except Exception:  # an estimator whose score needs more than X and y
            pass
    try:
        from sklearn.base import is_classifier, is_regressor
        if y is not None and is_classifier(estimator):
            from sklearn.metrics import accuracy_score
            mlflow.log_metric("training_accuracy_score", accuracy_score(y, estimator.predict(X)))
        elif y is not None and is_regressor(estimator):
            from sklearn.metrics import r2_score
            mlflow.log_metric("training_r2_score", r2_score(y, estimator.predict(X)))
    except Exception:
        pass
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
            _after_fit(self, args, kwargs)
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
