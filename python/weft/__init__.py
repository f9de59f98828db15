"""A client of weft's server (`weft serve`), in the standard library only (Python 3.9+).

    from weft import Client
    c = Client("http://127.0.0.1:8765", token)   # or $WEFT_SERVER and $WEFT_TOKEN
    run = c.submit("pipelines/train.yml", folder=".")
    c.wait(run["id"], timeout=600)
    for chunk in c.logs(run["id"], "train"):
        print(chunk, end="")
    c.download(run["id"], "train.model", "out/")

Errors the server answers are raised as WeftError, carrying its status, code and message.
"""
from .client import Client, WeftError

__all__ = ["Client", "WeftError"]
