#!/usr/bin/env python3
"""Draw scripts/soak.sh's samples: resident memory, open files and threads of the CLI run and of
the studio over the soak, and print the memory growth after warm-up (the soak's pass mark: < 5%).

Set up (once; the venv lives outside the repository)::

    python3 -m venv /work/venv-tools && /work/venv-tools/bin/pip install matplotlib

Run::

    /work/venv-tools/bin/python tools/plot_soak.py soak-out/soak.csv docs/soak.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(csv_path, png_path, warmup_fraction=0.1):
    rows = list(csv.DictReader(open(csv_path)))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for who, colour in (("cli", "tab:blue"), ("studio", "tab:orange")):
        r = [x for x in rows if x["process"] == who]
        if not r:
            continue
        t = [int(x["seconds"]) / 60 for x in r]
        rss = [int(x["rss_kib"]) / 1024 for x in r]
        label = "moekd demo kd (CLI)" if who == "cli" else "moekd-studio (offscreen, live views)"
        axes[0].plot(t, rss, color=colour, label=label)
        axes[1].plot(t, [int(x["fds"]) for x in r], color=colour, label=label)
        axes[2].plot(t, [int(x["threads"]) for x in r], color=colour, label=label)
        start = int(len(rss) * warmup_fraction)
        after = rss[start:]
        growth = (max(after) - after[0]) / after[0] * 100
        print(f"{who}: {len(r)} samples over {t[-1]:.1f} min, last step {r[-1]['step']}, "
              f"RSS after warm-up {after[0]:.0f} -> {after[-1]:.0f} MiB (max {max(after):.0f}), "
              f"growth {growth:+.1f}%, fds {r[start]['fds']} -> {r[-1]['fds']}, "
              f"threads {r[start]['threads']} -> {r[-1]['threads']}")
    for ax, title, unit in zip(axes, ("resident memory", "open file descriptors", "threads"), ("MiB", "count", "count")):
        ax.set_title(title)
        ax.set_xlabel("minutes")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
