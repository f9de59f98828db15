"""mlflow.pyfunc in weft's MLflow shim: load_model for models saved by mlflow.sklearn."""

import mlflow
from mlflow import sklearn as _sklearn


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise mlflow._unsupported("mlflow.pyfunc", name)


class PyFuncModel:
    def __init__(self, model, predict_fn="predict"):
        self._model = model
        self._predict_fn = predict_fn

    def predict(self, data, params=None):
        return getattr(self._model, self._predict_fn)(data)

    def unwrap_python_model(self):
        return self._model


def load_model(model_uri, suppress_warnings=False, dst_path=None):
    return PyFuncModel(_sklearn.load_model(model_uri, dst_path))
