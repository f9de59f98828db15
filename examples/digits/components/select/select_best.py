"""Copy the candidate model with the highest accuracy to the output, with a note of why."""
import argparse
import json
import os
import shutil


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidate", nargs=2, action="append", metavar=("MODEL", "METRICS"),
                        required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    scored = []
    for model_dir, metrics_dir in args.candidate:
        with open(os.path.join(metrics_dir, "metrics.json")) as f:
            scored.append((json.load(f), model_dir))
    best_metrics, best_dir = max(scored, key=lambda item: item[0]["accuracy"])
    os.makedirs(args.out, exist_ok=True)
    shutil.copyfile(os.path.join(best_dir, "model.pkl"), os.path.join(args.out, "model.pkl"))
    with open(os.path.join(args.out, "selection.json"), "w") as f:
        json.dump({"chosen": best_metrics, "candidates": [m for m, _ in scored]}, f, indent=2)
    print(f"selected {best_metrics['model']} (accuracy {best_metrics['accuracy']:.4f})")


if __name__ == "__main__":
    main()
