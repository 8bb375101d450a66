"""The side port under abuse, by hand and for longer: Tests/contract/test_side_port_abuse.py's
measurement (forged and unsigned requests at full speed from separate processes while the sidecar
answers paced `health` and sends paced emails), run against any build, with the figures printed.

The timed part alternates baseline and flood windows (--window seconds each, a short settle gap
after each flood) for --seconds in all. Then, on request: --by-kind floods with one kind of forgery at
a time, and --modes with every kind over keep-alive connections only, then over a new connection per
request only, to say what costs the sidecar the most (its CPU per forged request, and the stdio p99
meanwhile); --burn adds a reference window where the load generator processes send nothing and only
keep a CPU busy each (what sharing the machine's CPUs with them costs the stdio p99 by itself).

The verdict line is the contract test's bound: the flood's p99 of `health` <= max(2 x the baseline's
p99, the baseline's p99 + 5 ms). The load generators run in sessions of their own at autogroup
niceness --nice (19 by default: they get the CPU the sidecar leaves, as if they ran elsewhere; see
`_worker` in the test). On a machine busy with other work they get little, and the flood is weak:
the figures say how fast it went.

    .venv/bin/python Tests/bench/side_port_abuse.py [--binary PATH] [--seconds 60] [--processes 2]
        [--connections 16] [--window 10] [--by-kind] [--modes] [--burn] [--nice N] [--json PATH]

The binary defaults to .build-release/release/crm-sidecar, then .build/release/crm-sidecar, then the
debug build. Ratios within one run are what to compare; absolute times depend on the machine.
"""
import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "contract"))

import test_side_port_abuse as abuse  # noqa: E402


def default_binary():
    for candidate in (ROOT / ".build-release" / "release" / "crm-sidecar", ROOT / ".build" / "release" / "crm-sidecar"):
        if candidate.exists():
            return str(candidate)
    return str(ROOT / ".build" / "debug" / "crm-sidecar")


def plan_for(options):
    rounds = max(1, round(options.seconds / (2 * options.window + abuse.SETTLE)))
    plan = abuse.standard_plan(phase=options.window, rounds=rounds)
    if options.by_kind:
        for kind in abuse.FORGERIES:
            plan += [("baseline", options.window / 2, None), (f"flood:{kind}", options.window / 2, [kind]), ("settle", abuse.SETTLE, None)]
    if options.burn:
        plan += [("baseline", options.window / 2, None), ("flood:burn", options.window / 2, ["none"], "burn"), ("settle", abuse.SETTLE, None)]
    if options.modes:
        for mode in ("keep-alive", "new"):
            plan += [("baseline", options.window / 2, None), (f"flood:{mode}", options.window / 2, abuse.FORGERIES, mode),
                     ("settle", abuse.SETTLE, None)]
    return plan


def finite(value):
    """JSON has no NaN."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--seconds", type=float, default=60, help="length of the baseline/flood alternation (default 60)")
    parser.add_argument("--window", type=float, default=10, help="seconds of each baseline and flood window (default 10)")
    parser.add_argument("--processes", type=int, default=abuse.PROCESSES, help="load generator processes (default 2)")
    parser.add_argument("--connections", type=int, default=abuse.CONNECTIONS, help="sockets per load generator (default 16)")
    parser.add_argument("--nice", type=int, default=abuse.LOAD_NICE,
                        help="autogroup niceness of the load generators, each in a session of its own (default 19: they get "
                             "the CPU the sidecar leaves, as if they ran elsewhere; 0: they compete with it as equals)")
    parser.add_argument("--health-rate", type=float, default=abuse.HEALTH_RATE, help="paced health requests/s (default 200)")
    parser.add_argument("--communicate-rate", type=float, default=abuse.COMMUNICATE_RATE, help="paced emails/s (default 20)")
    parser.add_argument("--by-kind", action="store_true", help="then flood with each kind of forgery alone")
    parser.add_argument("--modes", action="store_true", help="then flood over keep-alive connections only, and new connections only")
    parser.add_argument("--burn", action="store_true",
                        help="then a reference window where the load generator processes only burn CPU, sending nothing")
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("--keep", action="store_true", help="keep the sidecar's folder (its log, its store)")
    options = parser.parse_args()

    binary = str(pathlib.Path(options.binary).resolve())
    folder = tempfile.mkdtemp(prefix="side-port-abuse-")
    plan = plan_for(options)
    print(f"binary: {binary}")
    print(f"plan: {sum(p[1] for p in plan):.0f} s; {options.processes} load generator processes x {options.connections} connections "
          f"(nice {options.nice}); stdio: health {options.health_rate:g}/s, communicate {options.communicate_rate:g}/s")
    started = time.monotonic()
    try:
        raw = abuse.measure(binary, folder, plan, processes=options.processes, connections=options.connections, nice=options.nice,
                            health_rate=options.health_rate, communicate_rate=options.communicate_rate)
        figures = abuse.summarize(raw)
        abuse.report(figures)
        problems = []
        try:
            abuse.check(raw, figures)
        except AssertionError as error:
            problems.append(str(error)[:2000])
    finally:
        if options.keep:
            print(f"folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    baseline, flood = figures["baseline"], figures["flood"]
    b, f = baseline["health"]["p99_ms"], flood["health"]["p99_ms"]
    bc, fc = baseline["communicate"]["p99_ms"], flood["communicate"]["p99_ms"]
    bound = abuse.bound_ms(b)
    print()
    print(f"forged requests: {flood['forged_per_second']:,.0f}/s ({flood['forged']:,} in {flood['seconds']:.0f} s), "
          f"statuses {dict(sorted(flood['statuses'].items(), key=str))}")
    print(f"health p50/p99: baseline {baseline['health']['p50_ms']:.2f}/{b:.2f} ms, flood {flood['health']['p50_ms']:.2f}/{f:.2f} ms, "
          f"p99 ratio {f / b:.2f}")
    print(f"communicate p50/p99: baseline {baseline['communicate']['p50_ms']:.1f}/{bc:.1f} ms, "
          f"flood {flood['communicate']['p50_ms']:.1f}/{fc:.1f} ms, p99 ratio {fc / bc:.2f}")
    print(f"bound: flood health p99 {f:.2f} ms <= max(2 x {b:.2f}, {b:.2f} + {abuse.FLOOR_MS:g}) = {bound:.2f} ms: "
          f"{'holds' if f <= bound else 'DOES NOT HOLD'}")
    burn = figures.get("flood:burn")
    if burn:
        print(f"reference, load generators burning CPU and sending nothing: health p50/p99 {burn['health']['p50_ms']:.2f}/"
              f"{burn['health']['p99_ms']:.2f} ms ({burn['health']['p99_ms'] / b:.1f}x baseline), machine {burn['machine_busy']:.0%} busy")
    costs = [(label[len("flood:"):], figure) for label, figure in figures.items() if label.startswith("flood:") and "forged" in figure]
    if costs:
        print("\nwhat each costs the sidecar (alone, or by connection mode), most expensive first:")
        for name, figure in sorted(costs, key=lambda item: -item[1]["sidecar_cpu_us_per_forged"]):
            print(f"  {name:<28} {figure['sidecar_cpu_us_per_forged']:7.0f} us CPU per request, {figure['forged_per_second']:7,.0f}/s, "
                  f"sidecar CPU {figure['cpu_seconds'] / figure['seconds']:4.0%}, health p99 {figure['health']['p99_ms']:6.2f} ms "
                  f"({figure['health']['p99_ms'] / b:.1f}x baseline)  {dict(sorted(figure['statuses'].items(), key=str))}")
    for problem in problems:
        print(f"\nPROBLEM: {problem}")
    print(f"\n{time.monotonic() - started:.0f} s in all")
    if options.json:
        pathlib.Path(options.json).write_text(json.dumps(finite({"binary": binary, "options": vars(options), "figures": figures}), indent=2))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
