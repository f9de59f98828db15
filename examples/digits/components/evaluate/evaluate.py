"""Score a model on the held-out digits: accuracy and confusion matrix, as files and metrics."""
import argparse
import json
import os
import pickle
import time

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def log_metric(name, value):
    """Append a metric where weft collects them (WEFT_METRICS), when running under weft."""
    path = os.environ.get("WEFT_METRICS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"name": name, "value": value, "timestamp": time.time()}) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--metrics-out", required=True)
    args = parser.parse_args()

    with open(os.path.join(args.model, "model.pkl"), "rb") as f:
        model = pickle.load(f)
    test = np.load(os.path.join(args.data, "test.npz"))
    predicted = model.predict(test["x"])
    accuracy = float(accuracy_score(test["y"], predicted))
    f1 = float(f1_score(test["y"], predicted, average="macro"))
    os.makedirs(args.metrics_out, exist_ok=True)
    with open(os.path.join(args.metrics_out, "metrics.json"), "w") as f:
        json.dump({"accuracy": accuracy, "f1_macro": f1, "model": type(model).__name__}, f, indent=2)
    np.savetxt(os.path.join(args.metrics_out, "confusion_matrix.csv"),
               confusion_matrix(test["y"], predicted), fmt="%d", delimiter=",")
    log_metric("accuracy", accuracy)
    log_metric("f1_macro", f1)
    print(f"{type(model).__name__}: accuracy {accuracy:.4f}, macro F1 {f1:.4f}")


if __name__ == "__main__":
    main()
