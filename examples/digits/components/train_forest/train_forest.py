"""Train a random forest on the prepared digits."""
import argparse
import os
import pickle

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

    train = np.load(os.path.join(args.data, "train.npz"))
    model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth,
                                   random_state=args.seed, n_jobs=1)
    model.fit(train["x"], train["y"])
    os.makedirs(args.model_out, exist_ok=True)
    with open(os.path.join(args.model_out, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    print(f"random forest {args.n_estimators} trees: training accuracy "
          f"{model.score(train['x'], train['y']):.4f}")


if __name__ == "__main__":
    main()
