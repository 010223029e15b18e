"""Timing helpers and the result rows: alternating runs, medians, ratios against targets.

Every comparison runs its contestants in turn within one loop (ours, peer, peer, ours, ...: the order flips
each round so neither side always runs first after the other), so that a slow minute on the machine falls on
both sides. Warm-up rounds are run the same way and dropped. Figures are medians.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

#: A contestant: runs the measured thing once and returns the seconds it took (it times itself, so that its
#: own set-up and checks stay outside the figure).
Contestant = Callable[[], float]


def alternate(contestants: dict[str, Contestant], *, runs: int, warmup: int) -> dict[str, list[float]]:
    """``runs`` timed samples per contestant after ``warmup`` dropped rounds, in alternating order."""
    names = list(contestants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + runs):
        for name in (names if index % 2 == 0 else names[::-1]):
            elapsed = contestants[name]()
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def timed(action: Callable[[], Any], check: Optional[Callable[[Any], None]] = None) -> Contestant:
    """A contestant timing ``action()``; ``check(result)`` runs after the clock stopped."""
    def run() -> float:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
        if check is not None:
            check(result)
        return elapsed
    return run


def per_call(action: Callable[[], Any], calls: int) -> Contestant:
    """A contestant timing ``calls`` back-to-back calls of ``action()``; returns seconds per call."""
    def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            action()
        return (time.perf_counter() - started) / calls
    return run


def process(argv: Sequence[str], *, env: dict[str, str], check: Optional[Callable[[str], None]] = None) -> Contestant:
    """A contestant timing a whole new process, start to exit (wall clock); it must exit 0."""
    def run() -> float:
        started = time.perf_counter()
        done = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])} ... exited {done.returncode}: {done.stderr.strip()[-500:]}")
        if check is not None:
            check(done.stdout)
        return elapsed
    return run


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], share: float) -> float:
    """The ``share`` (0..1) quantile of ``samples``, nearest rank (p99 of 1,000 samples is the 990th)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


def rss_mb() -> float:
    """This process's resident memory now (Linux ``/proc``; 0 elsewhere)."""
    return _status_mb("VmRSS")


def reset_peak() -> bool:
    """Reset this process's peak resident memory (``VmHWM``) to its current size; False where Linux does not."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """This process's peak resident memory since start or ``reset_peak()`` (Linux ``/proc``; 0 elsewhere)."""
    return _status_mb("VmHWM")


def _status_mb(field_name: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_growth(action: Callable[[], Any]) -> tuple[Any, float]:
    """``action()``'s result and how far resident memory rose above its level at the start (MB, peak)."""
    reset_peak()
    before = rss_mb()
    result = action()
    return result, max(0.0, peak_mb() - before)


@dataclass
class Row:
    """One line of the table: our figure against one peer's, and whether the target holds.

    Timed rows have ``ours``/``peer`` in seconds and ``ratio`` = ours / peer (lower is better for us);
    counted rows (requests) have counts and no ratio. ``limit`` is the largest ratio (or count) the target
    allows.
    """

    measure: str
    peer: str
    target: str
    ours: float
    theirs: float
    unit: str  # "s" (timed), or what a counted row counts ("requests", "MB")
    limit: float
    ratio: Optional[float] = None
    met: bool = False
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def timed(cls, measure: str, peer: str, target: str, limit: float, ours: Sequence[float],
              theirs: Sequence[float], *, notes: Sequence[str] = (), must: bool = True) -> Row:
        """A ratio row from both sides' samples; ``must`` is a further condition (e.g. zero requests)."""
        mine, other = median(ours), median(theirs)
        ratio = mine / other
        return cls(measure=measure, peer=peer, target=target, ours=mine, theirs=other, unit="s", limit=limit,
                   ratio=ratio, met=ratio <= limit and must, samples={"ours": list(ours), "peer": list(theirs)},
                   notes=list(notes))

    @classmethod
    def counted(cls, measure: str, peer: str, target: str, limit: float, ours: Sequence[float],
                theirs: Sequence[float], *, notes: Sequence[str] = (), must: bool = True,
                unit: str = "requests") -> Row:
        """A count row: the worst of our rounds must be within ``limit``. ``theirs`` may be empty (no peer:
        an absolute target); the peer's figure is then shown as a dash."""
        return cls(measure=measure, peer=peer, target=target, ours=max(ours), theirs=max(theirs, default=0.0),
                   unit=unit, limit=limit, met=max(ours) <= limit and must,
                   samples={"ours": list(ours), "peer": list(theirs)}, notes=list(notes))

    @classmethod
    def absolute(cls, measure: str, target: str, limit: float, value: float, samples: Sequence[float], *,
                 unit: str = "s", notes: Sequence[str] = (), must: bool = True) -> Row:
        """A row with no peer: ``value`` (a p99, a peak...) computed from ``samples`` must be within ``limit``."""
        return cls(measure=measure, peer="— (absolute target)", target=target, ours=value, theirs=0.0, unit=unit,
                   limit=limit, met=value <= limit and must, samples={"ours": list(samples), "peer": []},
                   notes=list(notes))

    def figures(self) -> tuple[str, str]:
        """Both sides' figures, each with its spread over the runs (min–max) where there were several."""
        return self._figure(self.ours, self.samples.get("ours", [])), \
            self._figure(self.theirs, self.samples.get("peer", []))

    def _figure(self, value: float, samples: Sequence[float]) -> str:
        if not samples:
            return "—"
        text = self._format(value)
        if len(samples) > 1 and min(samples) != max(samples):
            text += f" ({self._format(min(samples))}–{self._format(max(samples))})"
        return text

    def _format(self, value: float) -> str:
        if self.unit == "s":
            return _duration(value)
        if self.unit == "MB":
            return f"{value:.1f} MB"
        return f"{value:g}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (what ``python -m bench`` prints and RESULTS.md keeps)."""
    head = ["measure", "peer", "ours (min–max)", "peer's (min–max)", "ours / peer", "target", "met"]
    lines = [head]
    for row in rows:
        ours, theirs = row.figures()
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        lines.append([row.measure, row.peer, ours, theirs, ratio, row.target, "yes" if row.met else "NO"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    out = [fmt(lines[0]), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    out.extend(fmt(line) for line in lines[1:])
    return "\n".join(out)


def profile(action: Callable[[], Any], calls: int = 1, top: int = 8, *, own_time: bool = False) -> str:
    """Where ``action()`` spends its time: cProfile over ``calls`` calls, the ``top`` functions by cumulative time
    per call (``own_time``: by time spent in the function itself, built-ins such as socket reads included), as one
    line for a row's notes (the rows add it when a target is missed)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        action()
    profiler.disable()
    entries = []
    for (filename, line, name), entry in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        if filename == "~":
            label = name
        elif "/netkit_msal/" in filename:
            label = f"netkit_msal/{filename.split('/netkit_msal/')[-1]}:{line}({name})"
        elif "site-packages/" in filename:
            label = f"{filename.split('site-packages/')[-1]}:{line}({name})"
        else:
            continue
        if own_time or filename != "~":
            entries.append((entry[2] if own_time else entry[3], label))
    entries.sort(reverse=True)
    shown = "; ".join(f"{label} {seconds / calls * 1e3:.2f} ms" for seconds, label in entries[:top])
    kind = "own time" if own_time else "cumulative"
    return f"profile of ours ({kind} per call, under cProfile): {shown}"


def missed(rows: Sequence[Row]) -> list[Row]:
    """The rows whose target does not hold (what ``--strict`` fails on)."""
    return [row for row in rows if not row.met]
