"""weft's stand-in for Azure ML's `azureml_user` package, offered to parallel steps whose
environment has none (a real one, earlier on sys.path, wins)."""
