"""`from azureml_user.parallel_run import EntryScript`, as Azure ML's parallel jobs offer it.

EntryScript gives an entry script a logger (written to the worker's log, which `weft logs` shows)
and folders: `output_dir` is the step's `append_row_to` output folder when it names a folder,
else the step's `outputs/` artifacts folder; `log_dir` and `working_dir` are the worker's own.
"""

import json
import logging
import os

__all__ = ["EntryScript"]


def _config():
    path = os.environ.get("WEFT_PARALLEL")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class EntryScript:
    """The same object wherever it is created in one worker, as in Azure ML."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            self = super().__new__(cls)
            config = _config()
            self._config = config
            self.logger = logging.getLogger("EntryScript")
            level = config.get("logging_level") or "INFO"
            self.logger.setLevel(getattr(logging, level, logging.INFO))
            cls._instance = self
        return cls._instance

    def __init__(self):
        pass

    def get_logger(self):
        return self.logger

    @property
    def output_dir(self):
        folder = self._config.get("output_dir") or os.environ.get("WEFT_ARTIFACTS", os.getcwd())
        os.makedirs(folder, exist_ok=True)
        return folder

    @property
    def working_dir(self):
        return os.getcwd()

    @property
    def log_dir(self):
        folder = os.path.join(os.getcwd(), "logs")
        os.makedirs(folder, exist_ok=True)
        return folder

    @property
    def agent_name(self):
        return "worker-{}".format(os.environ.get("WEFT_JOB", "0"))

    @property
    def node_id(self):
        return 0

    @property
    def process_name(self):
        return self.agent_name
