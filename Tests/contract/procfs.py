"""What Linux's /proc says of a process and of the machine: shared by the contract tests and Tests/bench."""
import contextlib
import os

TICK = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these ticks a second


def status(pid):
    """RSS and its high-water mark (MB, as "VmRSS" and "VmHWM") and "threads", from /proc/PID/status;
    empty once the process is gone."""
    values = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as lines:
        for line in lines:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024  # from kB
            elif key == "Threads":
                values["threads"] = int(rest)
    return values


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far; NaN once it is gone, so that a figure taken after
    an exit spoils only itself."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name in parentheses may hold spaces: the fields are counted after its ")".
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine so far, all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    total = sum(fields[:8])  # guest and guest_nice are counted in user and nice already
    return (total - idle) / TICK, total / TICK
