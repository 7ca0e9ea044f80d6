"""What a workspace holds, on the console, with the signed-in user's own rights: its
projects, pipelines, recent runs (status, duration), a run's steps and step graph, its
stacks and their components — read from the workspace's ZenML server
(``console.zenml_client``) at the addresses ZenML's own links use
(``/workspaces/<name>/projects/<project id>/runs/<id>``, ``/stacks?id=``,
``/components/<id>``; spec browser-handoff.md).

The guard is the API's (``workspaces.deps``: who may read the workspace in zenpro); the
workspace then decides what this user may read there (its 403 → "your role does not
allow this"). A workspace that is down or slow is said so within
``ZENPRO_WORKSPACE_PAGE_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from zenpro.auth.principal import UserPrincipal
from zenpro.authz.guards import Scoped
from zenpro.config import Settings
from zenpro.console import widgets
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, console_router, flash, page, url
from zenpro.console.organizations import org_crumbs
from zenpro.console.run_graph import graph, status_class, steps_of
from zenpro.console.workspace_session import Live, attempt, reading, settle, within
from zenpro.console.zenml_client import (
    Component,
    Dag,
    Pipeline,
    Project,
    Reader,
    Run,
    Stack,
    WorkspaceProblem,
)
from zenpro.deps import DB, AppSettings
from zenpro.kit.schemas import TEXT_PATTERN
from zenpro.models import Workspace
from zenpro.organizations import repository as org_repo
from zenpro.workspaces.deps import WsRead

router = console_router()
RUNS_SHOWN = 10
ProjectQuery = Annotated[
    str | None,
    Query(max_length=255, pattern=TEXT_PATTERN, description="The project shown (id or name)."),
]


def problem_notice(exc: WorkspaceProblem) -> Markup:
    return flash(exc.message, "error")


# --- Small pieces --------------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def run_badge(status: str) -> Markup:
    return h('<span class="badge r-$c">$s</span>', c=status_class(status), s=status[:40])


HIDDEN = "Hidden: your role does not allow this"


def _hidden_row(cols: int) -> Markup:
    return h('<tr><td colspan="$n">$t</td></tr>', n=cols, t=HIDDEN)


def _run_path(live: Live, run: Run) -> str:
    project = run.body.project_id if run.body else None
    return f"{live.base}/projects/{project}/runs/{run.id}"


def _runs_table(request: Request, live: Live, runs: list[Run]) -> Markup:
    if not runs:
        return widgets.empty("No runs yet.")
    rows = []
    for run in runs:
        if run.permission_denied:
            rows.append(_hidden_row(6))
            continue
        res = run.resources
        cells = {
            "Pipeline": res.pipeline.name if res and res.pipeline else "—",
            "Status": run_badge(run.status),
            "Started": widgets.when(run.metadata.start_time if run.metadata else None),
            "Duration": duration_text(run.duration) or "—",
            "Stack": res.stack.name if res and res.stack else "—",
        }
        rows.append(widgets.row(widgets.link(request, _run_path(live, run), run.name), cells))
    head = ("Run", "Pipeline", "Status", "Started", "Duration", "Stack")
    return widgets.table("Recent runs", head, rows)


def _pipelines_table(pipelines: list[Pipeline]) -> Markup:
    if not pipelines:
        return widgets.empty("No pipelines yet: run one with the zenml client.")
    rows = []
    for p in pipelines:
        if p.permission_denied:
            rows.append(_hidden_row(3))
            continue
        latest = p.resources.latest_run_status if p.resources else None
        cells = {
            "Latest run": run_badge(latest) if latest else "—",
            "Created": widgets.when(p.body.created if p.body else None),
        }
        rows.append(widgets.row(p.name, cells))
    return widgets.table("Pipelines", ("Pipeline", "Latest run", "Created"), rows)


def _component_links(request: Request, live: Live, stack: Stack) -> Markup:
    comps = stack.metadata.components if stack.metadata else {}
    items = [
        h(
            "<li>$t: $l</li>",
            t=kind.replace("_", " "),
            l=widgets.link(request, f"{live.base}/components/{c.id}", c.name),
        )
        for kind, listed in sorted(comps.items())
        for c in listed
        if not c.permission_denied
    ]
    return h('<ul class="plain">$i</ul>', i=join(items)) if items else Markup("—")


def _stacks_table(request: Request, live: Live, stacks: list[Stack]) -> Markup:
    if not stacks:
        return widgets.empty("No stacks you may see.")
    rows = []
    for s in stacks:
        if s.permission_denied:
            rows.append(_hidden_row(2))
            continue
        name = widgets.link(request, f"{live.base}/stacks?id={s.id}", s.name)
        rows.append(widgets.row(name, {"Components": _component_links(request, live, s)}))
    return widgets.table("Stacks", ("Stack", "Components"), rows)


def _section(ident: str, title: str, content: Markup) -> Markup:
    return h(
        '<section aria-labelledby="$i"><h2 id="$i">$t</h2>$c</section>',
        i=ident,
        t=title,
        c=content,
    )


def _shown(value: Any, render: Callable[[Any], Markup]) -> Markup:
    return problem_notice(value) if isinstance(value, WorkspaceProblem) else render(value)


# --- The workspace page's part -------------------------------------------------------


def _chosen(projects: list[Project], wanted: str | None) -> Project | None:
    visible = [p for p in projects if not p.permission_denied]
    for p in visible:
        if wanted in (str(p.id), p.name):
            return p
    return visible[0] if visible and wanted is None else None


def _project_nav(request: Request, live: Live, projects: list[Project], chosen: Project) -> Markup:
    if len(projects) < 2:
        return Markup("")
    items = join(
        h(
            '<li><a href="$u"$c>$l</a></li>',
            u=url(request, f"{live.base}?project={p.id}"),
            c=Markup(' aria-current="page"') if p.id == chosen.id else Markup(""),
            l=p.name,
        )
        for p in projects
        if not p.permission_denied
    )
    return h('<nav class="tabs" aria-label="Projects"><ul>$i</ul></nav>', i=items)


async def _project_part(
    request: Request, reader: Reader, live: Live, projects: list[Project], wanted: str | None
) -> Markup:
    chosen = _chosen(projects, wanted)
    if chosen is None:
        if wanted is not None:
            return problem_notice(WorkspaceProblem(f"No project {wanted!r} you may see."))
        return widgets.empty("No projects yet: create one with `zenml project register <name>`.")
    pid = str(chosen.id)
    pipelines, runs = await asyncio.gather(
        attempt(reader.listing(Pipeline, "/pipelines", "pipelines", {"project": pid})),
        attempt(
            reader.listing(
                Run,
                "/runs",
                "runs",
                {
                    "project": pid,
                    "hydrate": "true",
                    "size": str(RUNS_SHOWN),
                    "sort_by": "desc:created",
                },
            )
        ),
    )
    settle(pipelines, runs)
    label = chosen.body.display_name if chosen.body and chosen.body.display_name else chosen.name
    return join(
        [
            _project_nav(request, live, projects, chosen),
            h("<p>Project <strong>$p</strong></p>", p=label),
            _section(
                "ws-pipelines", "Pipelines", _shown(pipelines, lambda v: _pipelines_table(v.items))
            ),
            _section(
                "ws-runs",
                "Recent runs",
                _shown(runs, lambda v: _runs_table(request, live, v.items)),
            ),
        ]
    )


async def _holdings(request: Request, reader: Reader, live: Live, wanted: str | None) -> Markup:
    projects, stacks = await asyncio.gather(
        attempt(reader.listing(Project, "/projects", "projects", {"size": "100"})),
        attempt(reader.listing(Stack, "/stacks", "stacks", {"hydrate": "true", "size": "50"})),
    )
    settle(projects, stacks)
    if isinstance(projects, WorkspaceProblem):
        project_part = problem_notice(projects)
    else:
        project_part = await _project_part(request, reader, live, projects.items, wanted)
    stacks_part = _shown(stacks, lambda v: _stacks_table(request, live, v.items))
    return join([project_part, _section("ws-stacks", "Stacks", stacks_part)])


async def holdings(
    request: Request,
    db: DB,
    principal: UserPrincipal,
    ws: Workspace,
    settings: Settings,
    wanted: str | None,
) -> Markup:
    """The workspace page's "In this workspace" section: what its server holds, as this
    user may see it, or in words why it cannot be shown."""
    live = Live.of(ws, settings)
    down = live.down_reason()
    if down is not None:
        content = widgets.empty(down)
    else:
        try:

            async def work() -> Markup:
                async with reading(request, db, principal, live, settings) as reader:
                    return await _holdings(request, reader, live, wanted)

            content = await within(settings, work())
        except WorkspaceProblem as exc:
            content = problem_notice(exc)
    return _section("ws-holds", "In this workspace", content)


# --- Pages made only of workspace data -----------------------------------------------


async def _workspace_page(
    request: Request,
    db: DB,
    scoped: Scoped[Workspace],
    title: str,
    trail: list[Crumb],
    settings: Settings,
    work: Callable[[Reader, Live], Awaitable[Markup]],
) -> Response:
    ws, principal = scoped.obj, scoped.access.principal
    live = Live.of(ws, settings)
    org = await org_repo.get(db, ws.organization_id)
    assert org is not None  # a workspace's organization outlives it
    crumbs = org_crumbs(org, Crumb(ws.name, live.base), *trail)
    down = live.down_reason()
    if down is not None:
        return page(request, title, widgets.empty(down), crumbs, status=503)

    async def read() -> Markup:
        async with reading(request, db, principal, live, settings) as reader:
            return await work(reader, live)

    try:
        body = await within(settings, read())
    except WorkspaceProblem as exc:
        return page(request, title, problem_notice(exc), crumbs, status=exc.status)
    return page(request, title, body, crumbs)


def _run_facts(run: Run) -> Markup:
    res, meta = run.resources, run.metadata
    rows: list[tuple[str, Any]] = [
        ("Run", run.name),
        ("Pipeline", res.pipeline.name if res and res.pipeline else "—"),
        ("Status", run_badge(run.status)),
        ("Started", widgets.when(meta.start_time if meta else None)),
        ("Ended", widgets.when(meta.end_time if meta else None)),
        ("Duration", duration_text(run.duration) or "—"),
        ("Stack", res.stack.name if res and res.stack else "—"),
        ("Run by", res.user.name if res and res.user else "—"),
    ]
    return h(
        '<dl class="facts">$r</dl>',
        r=join(h("<dt>$k</dt><dd>$v</dd>", k=k, v=v) for k, v in rows),
    )


def _steps_table(dag: Dag) -> Markup:
    steps = steps_of(dag)
    if not steps:
        return widgets.empty("No steps yet.")
    rows = [
        widgets.row(
            s.name,
            {
                "Status": run_badge(s.metadata.status or "unknown"),
                "Started": widgets.when(s.metadata.start_time),
                "Duration": duration_text(s.metadata.duration) or "—",
            },
        )
        for s in steps
    ]
    return widgets.table("Steps", ("Step", "Status", "Started", "Duration"), rows)


async def _run_body(reader: Reader, run_id: uuid.UUID) -> tuple[Run, Dag | WorkspaceProblem]:
    run, dag = await asyncio.gather(
        attempt(reader.one(Run, f"/runs/{run_id}", "run", {"hydrate": "true"})),
        attempt(reader.one(Dag, f"/runs/{run_id}/dag", "run graph")),
    )
    settle(run, dag)
    if isinstance(run, WorkspaceProblem):
        raise run
    return run, dag


@router.get("/console/workspaces/{workspace_id}/projects/{project_id}/runs/{run_id}")
async def console_workspace_run(
    request: Request,
    db: DB,
    scoped: WsRead,
    settings: AppSettings,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
) -> Response:
    """One pipeline run: its facts, its steps with status, its step graph (SVG)."""

    async def work(reader: Reader, live: Live) -> Markup:
        run, dag = await _run_body(reader, run_id)
        if isinstance(dag, WorkspaceProblem):
            steps = graph_part = problem_notice(dag)
        else:
            durations = {
                n.node_id: duration_text(n.metadata.duration) for n in dag.nodes if n.type == "step"
            }
            steps = _steps_table(dag)
            graph_part = h(
                '<div class="scroll">$g</div>',
                g=graph(dag, f"Step graph of run {run.name}", durations),
            )
        return join(
            [
                _run_facts(run),
                _section("run-graph", "Step graph", graph_part),
                _section("run-steps", "Steps", steps),
            ]
        )

    return await _workspace_page(
        request, db, scoped, "Pipeline run", [Crumb("Run")], settings, work
    )


@router.get("/console/workspaces/{workspace_id}/projects/{project_id}")
async def console_workspace_project(
    request: Request, scoped: WsRead, project_id: uuid.UUID
) -> Response:
    """A project: the workspace page showing it."""
    target = f"/console/workspaces/{scoped.obj.name}?project={project_id}"
    return RedirectResponse(url(request, target), status_code=303)


def _stack_facts(request: Request, live: Live, stack: Stack) -> Markup:
    comps = stack.metadata.components if stack.metadata else {}
    rows = [
        widgets.row(
            widgets.link(request, f"{live.base}/components/{c.id}", c.name),
            {
                "Type": kind.replace("_", " "),
                "Flavor": c.body.flavor_name if c.body else "—",
            },
        )
        for kind, listed in sorted(comps.items())
        for c in listed
        if not c.permission_denied
    ]
    table = widgets.table("Components", ("Component", "Type", "Flavor"), rows)
    return table if rows else widgets.empty("No components you may see.")


@router.get("/console/workspaces/{workspace_id}/stacks")
async def console_workspace_stacks(
    request: Request,
    db: DB,
    scoped: WsRead,
    settings: AppSettings,
    id: Annotated[uuid.UUID | None, Query(description="One stack.")] = None,
) -> Response:
    """The workspace's stacks, or one stack (``?id=``, as ZenML links it) with its
    components."""

    async def work(reader: Reader, live: Live) -> Markup:
        if id is None:
            stacks = await reader.listing(Stack, "/stacks", "stacks", {"hydrate": "true"})
            return _stacks_table(request, live, stacks.items)
        stack = await reader.one(Stack, f"/stacks/{id}", "stack", {"hydrate": "true"})
        return join(
            [
                h("<p>Stack <strong>$n</strong></p>", n=stack.name),
                _stack_facts(request, live, stack),
            ]
        )

    return await _workspace_page(request, db, scoped, "Stacks", [Crumb("Stacks")], settings, work)


@router.get("/console/workspaces/{workspace_id}/components/{component_id}")
async def console_workspace_component(
    request: Request, db: DB, scoped: WsRead, settings: AppSettings, component_id: uuid.UUID
) -> Response:
    """One stack component: its type, flavor and integration."""

    async def work(reader: Reader, live: Live) -> Markup:
        c = await reader.one(Component, f"/components/{component_id}", "component")
        body = c.body
        rows: list[tuple[str, Any]] = [
            ("Name", c.name),
            ("Type", (body.type or "—").replace("_", " ") if body else "—"),
            ("Flavor", body.flavor_name or "—" if body else "—"),
            ("Integration", body.integration or "—" if body else "—"),
            ("Created", widgets.when(body.created if body else None)),
        ]
        return h(
            '<dl class="facts">$r</dl>',
            r=join(h("<dt>$k</dt><dd>$v</dd>", k=k, v=v) for k, v in rows),
        )

    return await _workspace_page(
        request, db, scoped, "Stack component", [Crumb("Component")], settings, work
    )
