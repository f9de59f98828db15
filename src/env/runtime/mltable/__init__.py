"""weft's stand-in for Azure ML's `mltable` package, offered to steps whose environment has none
(weft's runtime comes last on PYTHONPATH: a real `mltable` wins).

It reads and writes MLTable files (a folder with an `MLTable` YAML file: `paths` and
`transformations`) and turns them into pandas DataFrames with the step's own pandas. Supported:
load, from_delimited_files, from_json_lines_files, from_paths, and on a table
extract_columns_from_partition_format, take, drop_columns, keep_columns, to_pandas_dataframe,
save, paths. Anything else raises an AttributeError naming what is supported. Reading Parquet
needs pyarrow, which the step's environment must provide.
"""

import copy
import glob
import io
import os
import re

__version__ = "1.6.1+weft"

SUPPORTED = (
    "load", "from_delimited_files", "from_json_lines_files", "from_paths", "MLTable.paths",
    "MLTable.take", "MLTable.drop_columns", "MLTable.keep_columns",
    "MLTable.extract_columns_from_partition_format", "MLTable.to_pandas_dataframe", "MLTable.save",
)

_HEADERS = ("all_files_same_headers", "from_first_file", "no_header", "all_files_different_headers")


def _unsupported(name):
    return AttributeError("{} is not supported by weft's mltable (it supports: {}); install the real "
                          "mltable in the step's environment to use it".format(name, ", ".join(SUPPORTED)))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unsupported("mltable." + name)


def _yaml():
    try:
        import yaml
    except ImportError:
        raise ImportError("weft's mltable reads MLTable files with PyYAML, which the step's "
                          "interpreter lacks (Debian: apt-get install python3-yaml)")
    return yaml


def _local(path):
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            return path[len(prefix):]
    if re.match(r"^[a-z][a-z0-9+.-]*://", path) or path.startswith("azureml:"):
        raise ValueError("weft's mltable reads local paths; {} is not one (weft resolves data "
                         "inputs to local folders: pass the input's path)".format(path))
    return path


class MLTable:
    """A table: where its files are and how to read them."""

    def __init__(self, spec, base):
        self._spec = spec
        self._base = base

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported("MLTable." + name)

    def __repr__(self):
        return _yaml().safe_dump(self._spec, sort_keys=False)

    # --- what the table is ---------------------------------------------------------------

    @property
    def paths(self):
        return copy.deepcopy(self._spec.get("paths", []))

    def _files(self):
        out = []
        for entry in self._spec.get("paths", []):
            if not isinstance(entry, dict) or len(entry) != 1:
                raise ValueError("MLTable paths entry {!r}: expected one of file, folder, pattern".format(entry))
            (kind, value), = entry.items()
            where = _local(str(value))
            where = os.path.normpath(os.path.join(self._base, where))
            if kind == "file":
                out.append(where)
            elif kind == "folder":
                for root, dirs, files in os.walk(where):
                    dirs.sort()
                    out.extend(os.path.join(root, f) for f in sorted(files))
            elif kind == "pattern":
                out.extend(sorted(p for p in glob.glob(where, recursive=True) if os.path.isfile(p)))
            else:
                raise ValueError("MLTable paths entry `{}`: expected file, folder or pattern".format(kind))
        return out

    def _with(self, transformation):
        spec = copy.deepcopy(self._spec)
        spec.setdefault("transformations", []).append(transformation)
        return MLTable(spec, self._base)

    # --- transformations -----------------------------------------------------------------

    def take(self, count=20):
        return self._with({"take": int(count)})

    def drop_columns(self, columns):
        return self._with({"drop_columns": [columns] if isinstance(columns, str) else list(columns)})

    def keep_columns(self, columns):
        return self._with({"keep_columns": [columns] if isinstance(columns, str) else list(columns)})

    def extract_columns_from_partition_format(self, partition_format):
        return self._with({"extract_columns_from_partition_format": {"partition_format": partition_format}})

    def save(self, path=None, overwrite=True, colocated=False, show_progress=False, if_err_remove_files=True):
        folder = _local(path) if path else self._base
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, "MLTable")
        if os.path.exists(target) and not overwrite:
            raise FileExistsError(target)
        spec = copy.deepcopy(self._spec)
        for entry in spec.get("paths", []):  # paths stay valid from the new folder
            (kind, value), = entry.items()
            where = _local(str(value))
            if not os.path.isabs(where):
                entry[kind] = os.path.relpath(os.path.join(self._base, where), folder)
        with open(target, "w", encoding="utf-8") as f:
            _yaml().safe_dump(spec, f, sort_keys=False)
        return self

    # --- reading -------------------------------------------------------------------------

    def to_pandas_dataframe(self):
        import pandas as pd
        files = self._files()
        frame = None
        path_column = False
        partition = None
        for t in self._spec.get("transformations", []) or []:
            if isinstance(t, str):
                t = {t: {}}
            (name, args), = t.items()
            args = args or {}
            if name == "read_delimited":
                frame = _read_delimited(pd, files, args)
                path_column = bool(args.get("include_path_column", False))
            elif name == "read_json_lines":
                frame = _read_json_lines(pd, files, args)
                path_column = bool(args.get("include_path_column", False))
            elif name == "read_parquet":
                frame = pd.concat([_tag(pd.read_parquet(f), f) for f in files], ignore_index=True)
                path_column = bool(args.get("include_path_column", False))
            elif name == "take":
                frame = _frame(pd, frame, files).head(int(args))
            elif name == "drop_columns":
                frame = _frame(pd, frame, files).drop(columns=[args] if isinstance(args, str) else list(args))
            elif name == "keep_columns":
                frame = _frame(pd, frame, files)[[args] if isinstance(args, str) else list(args)]
            elif name == "extract_columns_from_partition_format":
                partition = args.get("partition_format") if isinstance(args, dict) else args
                frame = _partition_columns(pd, _frame(pd, frame, files), partition)
            else:
                raise ValueError("MLTable transformation `{}` is not supported by weft's mltable "
                                 "(it reads read_delimited, read_json_lines, read_parquet, take, "
                                 "drop_columns, keep_columns, extract_columns_from_partition_format)".format(name))
        frame = _frame(pd, frame, files)
        if "__path" in frame.columns:
            if path_column:
                frame = frame.rename(columns={"__path": "Path"})
            else:
                frame = frame.drop(columns=["__path"])
        return frame.reset_index(drop=True)


def _tag(frame, path):
    frame["__path"] = path
    return frame


def _frame(pd, frame, files):
    """A table without a reading transformation is the list of its files (from_paths)."""
    if frame is not None:
        return frame
    return pd.DataFrame({"Path": files})


def _read_delimited(pd, files, args):
    header = args.get("header", "all_files_same_headers")
    if header not in _HEADERS:
        raise ValueError("read_delimited header `{}`: expected one of {}".format(header, ", ".join(_HEADERS)))
    options = dict(sep=args.get("delimiter", ","), encoding=args.get("encoding", "utf8").replace("utf8", "utf-8"))
    if args.get("empty_as_string", False):
        options["keep_default_na"] = False
    if args.get("infer_column_types", True) is False:
        options["dtype"] = str
    frames = []
    names = None
    for k, f in enumerate(files):
        if header == "no_header":
            part = pd.read_csv(f, header=None, **options)
            part.columns = ["Column{}".format(i + 1) for i in range(len(part.columns))]
        elif header == "from_first_file" and k > 0:
            part = pd.read_csv(f, header=None, names=names, **options)
        else:
            part = pd.read_csv(f, header=0, **options)
            names = list(part.columns)
        frames.append(_tag(part, f))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _read_json_lines(pd, files, args):
    frames = [_tag(pd.read_json(f, lines=True, encoding=args.get("encoding", "utf8").replace("utf8", "utf-8")), f)
              for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _partition_columns(pd, frame, partition_format):
    """`{column}` parts of the format become columns, read from each row's path;
    `{column:yyyy/MM/dd}` reads a date."""
    parts = re.split(r"(\{[^}]+\})", partition_format)
    pattern, columns = "", []
    for part in parts:
        m = re.fullmatch(r"\{([^}:]+)(?::([^}]*))?\}", part)
        if m:
            columns.append((m.group(1), m.group(2)))
            pattern += "(.+?)" if not m.group(2) else "(" + re.sub(r"[yMdHms]", r"\\d", m.group(2)) + ")"
        else:
            pattern += re.escape(part)
    regex = re.compile(pattern + r"$")
    source = frame["__path"] if "__path" in frame.columns else frame.get("Path")
    if source is None:
        raise ValueError("extract_columns_from_partition_format needs the rows' paths")
    values = {name: [] for name, _ in columns}
    for path in source:
        m = regex.search(str(path).replace(os.sep, "/"))
        for k, (name, fmt) in enumerate(columns):
            value = m.group(k + 1) if m else None
            if value is not None and fmt:
                py = fmt.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d") \
                        .replace("HH", "%H").replace("mm", "%M").replace("ss", "%S")
                value = pd.to_datetime(value, format=py)
            values[name].append(value)
    frame = frame.copy()
    for name, _ in columns:
        frame[name] = values[name]
    return frame


def load(uri, storage_options=None, ws=None, traits=None):
    """Reads the MLTable file in folder `uri` (or `uri` itself when it is the file)."""
    path = _local(str(uri))
    folder = os.path.dirname(path) if os.path.basename(path) == "MLTable" and os.path.isfile(path) else path
    target = os.path.join(folder, "MLTable")
    if not os.path.isfile(target):
        raise FileNotFoundError("{}: no MLTable file (an MLTable is a folder with one)".format(folder))
    with open(target, encoding="utf-8") as f:
        spec = _yaml().safe_load(f) or {}
    if not isinstance(spec, dict):
        raise ValueError("{}: an MLTable file is a mapping with `paths`".format(target))
    return MLTable(spec, os.path.abspath(folder))


def _paths_spec(paths):
    out = []
    for p in paths:
        if isinstance(p, dict):
            out.append(dict(p))
        else:
            out.append({"file": str(p)})
    return out


def from_paths(paths):
    return MLTable({"paths": _paths_spec(paths)}, os.getcwd())


def from_delimited_files(paths, header="all_files_same_headers", delimiter=",", support_multi_line=False,
                         empty_as_string=False, encoding="utf8", include_path_column=False,
                         infer_column_types=True):
    if hasattr(header, "value"):  # mltable.MLTableHeaders
        header = header.value
    read = {"delimiter": delimiter, "header": header, "support_multi_line": support_multi_line,
            "empty_as_string": empty_as_string, "encoding": encoding,
            "include_path_column": include_path_column, "infer_column_types": infer_column_types}
    return MLTable({"paths": _paths_spec(paths), "transformations": [{"read_delimited": read}]}, os.getcwd())


def from_json_lines_files(paths, invalid_lines="error", encoding="utf8", include_path_column=False):
    read = {"invalid_lines": invalid_lines, "encoding": encoding, "include_path_column": include_path_column}
    return MLTable({"paths": _paths_spec(paths), "transformations": [{"read_json_lines": read}]}, os.getcwd())
