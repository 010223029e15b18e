"""Timing helpers and the result rows: alternating runs, medians, ratios against targets.

Every comparison runs its contestants in turn within one loop (ours, peer, peer, ours, ...: the order flips
each round so neither side always runs first after the other), so that a slow minute on the machine falls on
both sides. Warm-up rounds are run the same way and dropped. Figures are medians.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Sequence

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
    unit: str  # "s" (timed) or "requests" (counted)
    limit: float
    ratio: Optional[float] = None
    met: bool = False
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def timed(cls, measure: str, peer: str, target: str, limit: float, ours: Sequence[float],
              theirs: Sequence[float], *, notes: Sequence[str] = (), must: bool = True) -> "Row":
        """A ratio row from both sides' samples; ``must`` is a further condition (e.g. zero requests)."""
        mine, other = median(ours), median(theirs)
        ratio = mine / other
        return cls(measure=measure, peer=peer, target=target, ours=mine, theirs=other, unit="s", limit=limit,
                   ratio=ratio, met=ratio <= limit and must, samples={"ours": list(ours), "peer": list(theirs)},
                   notes=list(notes))

    @classmethod
    def counted(cls, measure: str, peer: str, target: str, limit: float, ours: Sequence[float],
                theirs: Sequence[float], *, notes: Sequence[str] = (), must: bool = True) -> "Row":
        """A count row: the worst of our rounds must be within ``limit``."""
        return cls(measure=measure, peer=peer, target=target, ours=max(ours), theirs=max(theirs),
                   unit="requests", limit=limit, met=max(ours) <= limit and must,
                   samples={"ours": list(ours), "peer": list(theirs)}, notes=list(notes))

    def figures(self) -> tuple[str, str]:
        if self.unit == "requests":
            return f"{self.ours:g}", f"{self.theirs:g}"
        return _duration(self.ours), _duration(self.theirs)

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
    head = ["measure", "peer", "ours", "peer's", "ours / peer", "target", "met"]
    lines = [head]
    for row in rows:
        ours, theirs = row.figures()
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else f"{row.ours:g} vs {row.theirs:g}"
        lines.append([row.measure, row.peer, ours, theirs, ratio, row.target, "yes" if row.met else "NO"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    out = [fmt(lines[0]), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    out.extend(fmt(line) for line in lines[1:])
    return "\n".join(out)


def markdown(rows: Sequence[Row], document: dict[str, Any]) -> str:
    """The run as Markdown: the table, each row's notes, and how it was run."""
    out = [table(rows), ""]
    for row in rows:
        out.extend(f"- {row.measure} vs {row.peer}: {note}" for note in row.notes)
    settings = ", ".join(f"{key}={value}" for key, value in document["settings"].items())
    machine = document["machine"]
    out += ["", f"Run {document['when']} in {document['seconds']} s on {machine['platform']}, Python "
            f"{machine['python']}, {machine['cpus']} CPUs; settings: {settings}."]
    return "\n".join(out) + "\n"
