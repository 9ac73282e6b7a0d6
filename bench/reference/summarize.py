"""The device check's last table: our tokens/s against the reference's at the same shapes, MFU,
and `moekd plan` against the measured peak memory. Reads the JSON files the check wrote.

  python3 bench/reference/summarize.py OUT_DIR
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(out):
    gib = 1 << 30
    print(f"{'pair':6} {'case':14} {'ours tok/s':>11} {'ref tok/s':>10} {'ours/ref':>8} "
          f"{'MFU ours':>8} {'MFU ref':>8} {'peak ours':>10} {'peak ref':>9}")
    for pair in ("small", "large"):
        ours, ref = load(f"{out}/moekd-{pair}.json"), load(f"{out}/reference-{pair}.json")
        if not ours:
            print(f"{pair:6} (no figures from moekd)")
            continue
        ref = ref or {}
        for case in ("kd", "ka", "ka_sequential", "sar"):
            if case not in ours:
                continue
            ref_case = "ka" if case == "ka_sequential" else case
            mine, theirs = ours[case], ref.get(ref_case)
            ratio = f"{mine / theirs:7.2f}x" if theirs else "      -"
            mfu = ours.get("mfu", {}).get(case)
            rmfu = ref.get("mfu", {}).get(ref_case)
            peak = ours.get("peak_memory", {}).get(case)
            rpeak = ref.get("peak_memory", {}).get(ref_case)
            print(f"{pair:6} {case:14} {mine:11,.0f} {theirs or 0:10,.0f} {ratio:>8} "
                  f"{(100 * mfu if mfu else 0):7.1f}% {(100 * rmfu if rmfu else 0):7.1f}% "
                  f"{(peak or 0) / gib:9.2f}G {(rpeak or 0) / gib:8.2f}G")
    plan, large = load(f"{out}/plan.json"), load(f"{out}/moekd-large.json")
    if plan and large:
        print("\nmoekd plan (config files only) against the large pair's measured peak (max allocated):")
        for case, p in plan.items():
            measured = large.get("peak_memory", {}).get(case)
            if p and measured:
                print(f"  {case:4} plan {p['total_bytes'] / gib:7.2f} GiB  measured {measured / gib:7.2f} GiB  "
                      f"plan/measured {p['total_bytes'] / measured:5.2f}")
    print("\ntargets: ka >= 2x the reference, kd and sar >= 1.3x; kd MFU >= 40% on the large pair")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())
