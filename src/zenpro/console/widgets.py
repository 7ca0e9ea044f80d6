"""Form controls and small pieces of pages, each labelled and escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import Request

from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import hidden_csrf, url


def _error(form: Form | None, name: str, ident: str) -> tuple[Markup, Markup]:
    message = form.error(name) if form else None
    if not message:
        return Markup(""), Markup("")
    return (
        h(' aria-invalid="true" aria-describedby="$i-error"', i=ident),
        h('<p class="field-error" id="$i-error">$m</p>', i=ident, m=message),
    )


def text_field(
    form: Form | None,
    name: str,
    label: str,
    *,
    value: str | None = None,
    required: bool = False,
    kind: str = "text",
    hint: str | None = None,
    autocomplete: str = "off",
) -> Markup:
    ident = f"f-{name}"
    attrs, error = _error(form, name, ident)
    shown = form.get(name) if form and name in form.values else (value or "")
    hint_html = h('<p class="hint" id="$i-hint">$t</p>', i=ident, t=hint) if hint else Markup("")
    described = h(' aria-describedby="$i-hint"', i=ident) if hint and not error else Markup("")
    return h(
        '<div class="field"><label for="$i">$l$r</label>$hint'
        '<input id="$i" name="$n" type="$k" value="$v" autocomplete="$a"$req$attrs$d>'
        "$err</div>",
        i=ident,
        l=label,
        r=Markup(' <span class="req">(required)</span>') if required else Markup(""),
        hint=hint_html,
        n=name,
        k=kind,
        v=shown,
        a=autocomplete,
        req=Markup(" required") if required else Markup(""),
        attrs=attrs,
        d=described,
        err=error,
    )


def textarea(form: Form | None, name: str, label: str, *, value: str | None = None) -> Markup:
    ident = f"f-{name}"
    attrs, error = _error(form, name, ident)
    shown = form.get(name) if form and name in form.values else (value or "")
    return h(
        '<div class="field"><label for="$i">$l</label>'
        '<textarea id="$i" name="$n" rows="3"$attrs>$v</textarea>$err</div>',
        i=ident,
        l=label,
        n=name,
        v=shown,
        attrs=attrs,
        err=error,
    )


def select(
    form: Form | None,
    name: str,
    label: str,
    options: Sequence[tuple[str, str]],
    *,
    value: str | None = None,
) -> Markup:
    ident = f"f-{name}"
    attrs, error = _error(form, name, ident)
    chosen = form.get(name) if form and name in form.values else (value or "")
    opts = join(
        h(
            '<option value="$v"$s>$l</option>',
            v=v,
            l=label_,
            s=Markup(" selected") if v == chosen else Markup(""),
        )
        for v, label_ in options
    )
    return h(
        '<div class="field"><label for="$i">$l</label>'
        '<select id="$i" name="$n"$attrs>$o</select>$err</div>',
        i=ident,
        l=label,
        n=name,
        o=opts,
        attrs=attrs,
        err=error,
    )


def form_errors(form: Form | None, problem: str | None) -> Markup:
    """The API's answer in plain words, above the form that caused it."""
    if problem:
        return h('<p class="notice error" role="alert">$m</p>', m=problem)
    if form and form.errors:
        return h(
            '<p class="notice error" role="alert">$m</p>',
            m="Some fields need attention: see the messages below them.",
        )
    return Markup("")


def post_form(request: Request, action: str, fields: Markup, submit: str) -> Markup:
    return h(
        '<form method="post" action="$a" class="stack">$t$f'
        '<div class="actions"><button type="submit">$s</button></div></form>',
        a=url(request, action),
        t=hidden_csrf(request),
        f=fields,
        s=submit,
    )


def action_button(
    request: Request,
    action: str,
    label: str,
    *,
    danger: bool = False,
    hidden: dict[str, str] | None = None,
    describe: str | None = None,
) -> Markup:
    """A one-button form (deactivate, delete, remove…): works without JavaScript."""
    extra = join(
        h('<input type="hidden" name="$n" value="$v">', n=k, v=v) for k, v in (hidden or {}).items()
    )
    aria = h(' aria-label="$d"', d=describe) if describe else Markup("")
    return h(
        '<form method="post" action="$a" class="inline">$t$x'
        '<button type="submit" class="$c"$aria>$l</button></form>',
        a=url(request, action),
        t=hidden_csrf(request),
        x=extra,
        c="danger" if danger else "secondary",
        aria=aria,
        l=label,
    )


def when(moment: datetime | None) -> Markup:
    """A time as UTC text in a machine-readable ``<time>``."""
    if moment is None:
        return Markup("—")
    return h(
        '<time datetime="$iso">$text</time>',
        iso=moment.isoformat(),
        text=moment.strftime("%Y-%m-%d %H:%M UTC"),
    )


def link(request: Request, path: str, label: str, cls: str = "") -> Markup:
    return h('<a href="$u" class="$c">$l</a>', u=url(request, path), c=cls, l=label)


def empty(text: str) -> Markup:
    return h('<p class="empty">$t</p>', t=text)
