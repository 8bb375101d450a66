"""Hostile stdio at volume, by hand: feeds a sidecar N lines (default 1,000,000) of mutated, truncated,
deep, huge, invalid and batched JSON-RPC, checks every answer against what JSON-RPC 2.0 says each line
deserves (see hostile_lines.py), and prints the figures: lines fed, answers by code, seconds, lines/s,
peak and final RSS.

    .venv/bin/python Tests/fuzz/hostile_stdio.py --binary /tmp/crm-sidecar [--lines N] [--seed S] [--refuse]

Run it against a release build copied somewhere stable (`swift build -c release --static-swift-stdlib`,
as script/run builds it, rebuilds in place).
The input is generated first (about a minute for a million lines) into a temporary folder, which is
also the sidecar's working folder (SQLite store, outbox: no provider credentials reach it); --keep
leaves it there, with stdout.jsonl and stderr.jsonl, to replay or inspect. The same seed and options
give the same bytes.

Exit status: 0 when everything held, 1 when a problem was found (they are printed), 2 on bad usage.
"""
import argparse
import json
import pathlib
import random
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import hostile_lines  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ROOT / ".build-release" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default), help="the sidecar to run (default: %(default)s)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines to feed (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="the generator's seed (default: a random one, printed)")
    parser.add_argument("--max-line-bytes", type=int, default=hostile_lines.DEFAULT_MAX_LINE_BYTES,
                        help="MAX_LINE_BYTES for the sidecar and the oracle (default: %(default)s)")
    parser.add_argument("--refuse", action="store_true",
                        help="leave WHEN_MAX_IN_FLIGHT at its default, refuse (-32005 answers are then fine)")
    parser.add_argument("--heavy-every", type=int, default=100_000,
                        help="one set of lines at and over the limit and 10,000-member batches per this many lines")
    parser.add_argument("--batch-storms", type=int, default=0,
                        help="add this many runs of 20 batches of 10,000 invalid members back to back (the sidecar "
                             "holds ~3.5 KB a member until a batch is written and does not throttle such lines: "
                             "~700 MB a storm; see test_hostile_stdio.py)")
    parser.add_argument("--validate", type=int, default=50, metavar="N",
                        help="schema-check every error and the first 100 results of each method, then one result in N "
                             "(0: every result)")
    parser.add_argument("--kill-above-mb", type=int, default=4096, help="kill the sidecar if its RSS passes this")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds the feeding may take before it is a hang")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    options = parser.parse_args()
    if not pathlib.Path(options.binary).exists():
        parser.error(f"{options.binary} does not exist; build it, or pass --binary")
    seed = options.seed if options.seed is not None else random.randrange(1 << 32)
    print(f"seed {seed} (rerun with --seed {seed})", flush=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="hostile-stdio-"))
    try:
        outcome = hostile_lines.hostile_run(
            options.binary, workdir, seed, options.lines, max_line_bytes=options.max_line_bytes,
            refuse=options.refuse, heavy_sets=max(1, options.lines // options.heavy_every),
            batch_storms=options.batch_storms, timeout=options.timeout, kill_above_mb=options.kill_above_mb,
            sample=options.validate, sample_seconds=0.1, progress=lambda text: print(text, flush=True))
        figures = report(outcome, options)
        if options.json:
            pathlib.Path(options.json).write_text(json.dumps(figures, indent=2, default=str))
        return 1 if outcome.problems else 0
    finally:
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(outcome, options):
    codes = {str(code): n for code, n in sorted(outcome.codes.items(), key=lambda kv: str(kv[0]))}
    figures = {
        "seed": outcome.seed,
        "binary": options.binary,
        "when_max_in_flight": "refuse" if options.refuse else "wait",
        "max_line_bytes": options.max_line_bytes,
        "lines_fed": outcome.lines_fed,
        "bytes_fed": outcome.bytes_fed,
        "lines_by_kind": outcome.kinds,
        "answers_expected": outcome.expected_answers,
        "answer_lines": outcome.answer_lines,
        "batch_answers": outcome.batch_answers,
        "answers_by_code": codes,
        "batch_members_refused": outcome.refused_in_batches,
        "batches_wholly_refused": outcome.batches_wholly_refused,
        "notifications": outcome.notifications,
        "seconds": round(outcome.seconds, 2),
        "lines_per_second": round(outcome.lines_per_second),
        "rss_peak_mb": round(outcome.peak_rss_mb, 1),
        "rss_end_mb": round(outcome.end_rss_mb, 1),
        "exit_code": outcome.exit_code,
        "generate_seconds": round(outcome.generate_seconds, 1),
        "check_seconds": round(outcome.check_seconds, 1),
        "schema_checked": outcome.validated,
        "left_out_as_known_deviations": outcome.deviations_left_out,
        "problems": outcome.problems,
    }
    width = max(len(name) for name in figures)
    print()
    for name in ("seed", "when_max_in_flight", "max_line_bytes", "lines_fed", "bytes_fed", "lines_by_kind",
                 "answers_expected", "answer_lines", "batch_answers", "answers_by_code", "batch_members_refused",
                 "batches_wholly_refused", "notifications", "seconds", "lines_per_second", "rss_peak_mb", "rss_end_mb",
                 "exit_code", "generate_seconds", "check_seconds", "schema_checked", "left_out_as_known_deviations"):
        print(f"{name:<{width}}  {figures[name]}")
    print(f"{'problems':<{width}}  {len(outcome.problems)}")
    for problem in outcome.problems[:50]:
        print("  -", problem[:1000])
    return figures


if __name__ == "__main__":
    sys.exit(main())
