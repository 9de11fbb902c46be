"""Join the benchmark sections written by ``bench/bench_*.py`` into docs/benchmarks.md."""
import argparse
import datetime
import glob
import os
import platform


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sections", help="folder with the <area>.md sections")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.date.today().isoformat()}, "
        f"{platform.machine()}, {os.cpu_count()} cores. Medians of repeated runs; ratios are "
        "to peers measured in the same run on the same machine. Regenerate with `make bench`.",
        "",
    ]
    for path in sorted(glob.glob(os.path.join(args.sections, "*.md"))):
        with open(path, encoding="utf-8") as fh:
            parts.append(fh.read().rstrip() + "\n")
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
