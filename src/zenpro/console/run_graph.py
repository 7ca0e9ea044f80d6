"""A run's step graph as an SVG picture drawn on the server (no script: the console's
CSP allows none inline), from the DAG a ZenML 0.98 server answers at
``GET /runs/{id}/dag``: step nodes, artifact nodes and the edges between them. Steps are
drawn, joined where one's output feeds the next (step → artifact → step) or where one
runs after the other (step → step). Columns are the longest path from a first step, so
whatever the workspace sends (cycles included) is laid out in finite time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from zenpro.console.html import Markup, h, join
from zenpro.console.zenml_client import Dag, Node

MAX_STEPS = 200  # beyond this the table alone describes the run
MAX_EDGES = 400  # … or beyond this many connections between steps
MAX_LISTED = 60  # connections spelled out in the text alternative; beyond, counted
NAME_IN_TEXT = 80  # a step's name in the text alternative and tooltips, at most
W, H, GAP_X, GAP_Y, PAD = 200, 56, 56, 18, 12
KNOWN_STATUSES = frozenset(
    {
        "completed",
        "cached",
        "failed",
        "running",
        "initializing",
        "provisioning",
        "stopped",
        "stopping",
        "retrying",
        "retried",
        "paused",
        "skipped",
    }
)


def status_class(status: str | None) -> str:
    """A CSS class for a ZenML execution status (an unknown one gets a neutral class)."""
    return status if status in KNOWN_STATUSES else "unknown"


def steps_of(dag: Dag) -> list[Node]:
    """The step nodes, in the order they would run (see :func:`_columns`)."""
    steps = [n for n in dag.nodes if n.type == "step"]
    cols = _columns(steps, step_edges(dag))
    return sorted(steps, key=lambda n: (cols[n.node_id], n.name))


def step_edges(dag: Dag) -> set[tuple[str, str]]:
    """(step, later step) pairs: directly, or through an artifact one writes and the
    other reads. Bit sets keep this linear in the edges whatever the workspace sends; a
    run of more than MAX_STEPS steps gets none (it is not drawn)."""
    steps = [n.node_id for n in dag.nodes if n.type == "step"]
    if len(steps) > MAX_STEPS:
        return set()
    index = {s: i for i, s in enumerate(steps)}
    artifacts = {n.node_id for n in dag.nodes if n.type == "artifact"}
    readers: dict[str, int] = defaultdict(int)  # artifact -> steps that read it
    for e in dag.edges:
        if e.source in artifacts and e.target in index:
            readers[e.source] |= 1 << index[e.target]
    later = [0] * len(steps)  # step -> steps that come after it
    for e in dag.edges:
        if e.source in index:
            if e.target in index:
                later[index[e.source]] |= 1 << index[e.target]
            elif e.target in readers:
                later[index[e.source]] |= readers[e.target]
    return {
        (steps[i], steps[j])
        for i, bits in enumerate(later)
        for j in range(len(steps))
        if bits >> j & 1 and i != j
    }


def _columns(steps: list[Node], edges: set[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a step with no predecessor (Kahn's order); steps on a cycle go
    one column past the rest."""
    ids = {n.node_id for n in steps}
    preds: dict[str, set[str]] = {i: set() for i in ids}
    succs: dict[str, set[str]] = {i: set() for i in ids}
    for a, b in edges:
        if a in ids and b in ids:
            preds[b].add(a)
            succs[a].add(b)
    col = dict.fromkeys(ids, 0)
    waiting = {i: len(p) for i, p in preds.items()}
    ready = sorted(i for i, n in waiting.items() if n == 0)
    done: set[str] = set()
    while ready:
        i = ready.pop()
        done.add(i)
        for j in succs[i]:
            col[j] = max(col[j], col[i] + 1)
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    last = max((col[i] for i in done), default=-1)
    for i in ids - done:
        col[i] = last + 1
    return col


@dataclass(frozen=True)
class _Box:
    node: Node
    x: int
    y: int


def _label(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box(b: _Box, duration: str) -> Markup:
    status = b.node.metadata.status or "unknown"
    line = f"{status} · {duration}" if duration else status
    return h(
        '<g class="step st-$c"><title>$full</title>'
        '<rect x="$x" y="$y" width="$w" height="$hh" rx="8"></rect>'
        '<text x="$tx" y="$ty1" class="name">$name</text>'
        '<text x="$tx" y="$ty2" class="status">$line</text></g>',
        c=status_class(b.node.metadata.status),
        full=f"{_label(b.node.name, NAME_IN_TEXT)}: {_label(status, 30)}",
        x=b.x,
        y=b.y,
        w=W,
        hh=H,
        tx=b.x + 12,
        ty1=b.y + 22,
        ty2=b.y + 42,
        name=_label(b.node.name),
        line=_label(line, 30),
    )


def _arrow(a: _Box, b: _Box) -> Markup:
    x1, y1 = a.x + W, a.y + H // 2
    x2, y2 = b.x - 4, b.y + H // 2
    mid = (x1 + x2) // 2
    return h(
        '<path class="edge" d="M$x1 $y1 C$m $y1, $m $y2, $x2 $y2" marker-end="url(#dag-arrow)">'
        "</path>",
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        m=mid,
    )


def graph(dag: Dag, title: str, durations: dict[str, str]) -> Markup:
    """The picture, or a sentence when there is nothing (or too much) to draw. Its text
    alternative (``<title>``, ``<desc>``) names every step with its status; the steps
    table beside it says the same."""
    steps = [n for n in dag.nodes if n.type == "step"]
    if not steps:
        return h('<p class="empty">This run has no steps yet.</p>')
    if len(steps) > MAX_STEPS:
        return h('<p class="empty">$n steps: too many to draw; see the table.</p>', n=len(steps))
    edges = step_edges(dag)
    if len(edges) > MAX_EDGES:
        return h(
            '<p class="empty">$n connections between steps: too many to draw; see the table.</p>',
            n=len(edges),
        )
    cols = _columns(steps, edges)
    rows: dict[int, int] = defaultdict(int)
    boxes: dict[str, _Box] = {}
    for n in sorted(steps, key=lambda n: (cols[n.node_id], n.name)):
        c = cols[n.node_id]
        boxes[n.node_id] = _Box(n, PAD + c * (W + GAP_X), PAD + rows[c] * (H + GAP_Y))
        rows[c] += 1
    width = PAD * 2 + (max(cols.values()) + 1) * (W + GAP_X) - GAP_X
    height = PAD * 2 + max(rows.values()) * (H + GAP_Y) - GAP_Y

    def named(b: _Box) -> str:
        return _label(b.node.name, NAME_IN_TEXT)

    desc = "; ".join(f"{named(b)} ({b.node.metadata.status or 'unknown'})" for b in boxes.values())
    links = [f"{named(boxes[a])} to {named(boxes[b])}" for a, b in sorted(edges)]
    if len(links) > MAX_LISTED:
        desc += f". {len(links)} connections between steps."
    elif links:
        desc += ". Order: " + "; ".join(links)
    return h(
        '<svg class="dag" role="img" aria-labelledby="dag-t dag-d" xmlns="http://www.w3.org/2000/svg"'
        ' viewBox="0 0 $w $hh" width="$w" height="$hh">'
        '<title id="dag-t">$t</title><desc id="dag-d">$d</desc>'
        '<defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8"'
        ' markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"></path>'
        "</marker></defs>$edges$boxes</svg>",
        w=width,
        hh=height,
        t=title,
        d=desc,
        edges=join(
            _arrow(boxes[a], boxes[b]) for a, b in sorted(edges) if a in boxes and b in boxes
        ),
        boxes=join(_box(b, durations.get(b.node.node_id, "")) for b in boxes.values()),
    )
