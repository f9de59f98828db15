"""Train a random forest on the prepared digits, logging through MLflow as on Azure ML."""
import argparse
import os

import mlflow
import mlflow.sklearn
import numpy as np
from sklearn.ensemble import RandomForestClassifier


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--n-estimators", type=int, required=True)
    parser.add_argument("--max-depth", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-out", required=True)
    args = parser.parse_args()

    mlflow.start_run()
    mlflow.sklearn.autolog(log_models=False)  # params and training score, into `weft metrics`
    train = np.load(os.path.join(args.data, "train.npz"))
    model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth,
                                   random_state=args.seed, n_jobs=1)
    model.fit(train["x"], train["y"])
    mlflow.sklearn.save_model(model, args.model_out, serialization_format="pickle")
    mlflow.end_run()
    print(f"random forest {args.n_estimators} trees: training accuracy "
          f"{model.score(train['x'], train['y']):.4f}")


if __name__ == "__main__":
    main()
