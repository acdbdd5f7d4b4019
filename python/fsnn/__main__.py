"""python3 -m fsnn plot MODEL --data-dir DIR [--log metrics.jsonl] -o DIR:
every picture of a trained model (docs/python.md)."""
import argparse
import sys

from . import Error


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m fsnn")
    commands = parser.add_subparsers(dest="command", required=True)
    plot = commands.add_parser(
        "plot", help="training curves, spike raster, rate histograms, "
        "convergence to a*, adjoint residuals")
    plot.add_argument("model", help="trained model file (.fsnn)")
    plot.add_argument("--log", help="fsnn-train's metrics log (JSON lines)")
    plot.add_argument("--data-dir", required=True,
                      help="the dataset's directory (its test split)")
    plot.add_argument("--dataset", default="fashion-mnist")
    plot.add_argument("--library", help="compiled inference library for the "
                      "rate histograms (default: the reference executor)")
    plot.add_argument("--images", type=int, default=100)
    plot.add_argument("--format", choices=("png", "svg"), default="png")
    plot.add_argument("-o", "--output", required=True, help="directory")
    args = parser.parse_args(argv)
    from .plot import plot_all
    try:
        for path in plot_all(args.model, args.log, args.data_dir, args.output,
                             args.format, args.dataset, args.library,
                             args.images):
            print(f"wrote {path}")
    except (Error, OSError) as e:
        print(f"python3 -m fsnn plot: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
