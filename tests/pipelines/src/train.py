import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--data")
args, _ = parser.parse_known_args()
print("training on", args.data)
