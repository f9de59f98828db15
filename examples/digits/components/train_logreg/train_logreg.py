"""Train a multinomial logistic regression on the prepared digits."""
import argparse
import os
import pickle

import numpy as np
from sklearn.linear_model import LogisticRegression


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--c", type=float, required=True)
    parser.add_argument("--max-iter", type=int, required=True)
    parser.add_argument("--model-out", required=True)
    args = parser.parse_args()

    train = np.load(os.path.join(args.data, "train.npz"))
    model = LogisticRegression(C=args.c, max_iter=args.max_iter)
    model.fit(train["x"], train["y"])
    os.makedirs(args.model_out, exist_ok=True)
    with open(os.path.join(args.model_out, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    print(f"logistic regression C={args.c}: training accuracy {model.score(train['x'], train['y']):.4f}")


if __name__ == "__main__":
    main()
