"""Train a logistic regression on part of the training data and log its accuracy on the rest
(`val_accuracy`, through MLflow), so that a sweep can compare trials."""
import argparse
import os
import pickle

import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--c", type=float, required=True)
    parser.add_argument("--max-iter", type=int, required=True)
    parser.add_argument("--model-out", required=True)
    args = parser.parse_args()

    train = np.load(os.path.join(args.data, "train.npz"))
    x_fit, x_val, y_fit, y_val = train_test_split(train["x"], train["y"], test_size=0.3, random_state=0)
    model = LogisticRegression(C=args.c, max_iter=args.max_iter)
    model.fit(x_fit, y_fit)
    accuracy = model.score(x_val, y_val)
    with mlflow.start_run():
        mlflow.log_param("c", args.c)
        mlflow.log_metric("val_accuracy", accuracy)
    os.makedirs(args.model_out, exist_ok=True)
    with open(os.path.join(args.model_out, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    print(f"logistic regression C={args.c:.4g}: validation accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
