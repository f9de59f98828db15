"""Split and scale scikit-learn's bundled handwritten digits (no download needed)."""
import argparse
import json
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-size", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--train-out", required=True)
    parser.add_argument("--test-out", required=True)
    args = parser.parse_args()

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=args.test_size, random_state=args.seed,
        stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    os.makedirs(args.train_out, exist_ok=True)
    os.makedirs(args.test_out, exist_ok=True)
    np.savez(os.path.join(args.train_out, "train.npz"), x=scaler.transform(x_train), y=y_train)
    np.savez(os.path.join(args.test_out, "test.npz"), x=scaler.transform(x_test), y=y_test)
    with open(os.path.join(args.train_out, "summary.json"), "w") as f:
        json.dump({"train_rows": len(y_train), "test_rows": len(y_test),
                   "features": int(digits.data.shape[1])}, f, indent=2)
    print(f"train {len(y_train)} rows, test {len(y_test)} rows")


if __name__ == "__main__":
    main()
