"""Form controls and small pieces of pages, each labelled and escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class _Field:
    """What every control needs: its id, the value to show (as posted, else the given
    one), and its error (attributes for the control, the message below it)."""

    ident: str
    value: str
    attrs: Markup
    error: Markup

    @classmethod
    def of(cls, form: Form | None, name: str, value: str | None) -> _Field:
        ident = f"f-{name}"
        attrs, error = _error(form, name, ident)
        shown = form.get(name) if form and name in form.values else (value or "")
        return cls(ident, shown, attrs, error)

    def wrap(self, label: Markup | str, control: Markup) -> Markup:
        return h(
            '<div class="field"><label for="$i">$l</label>$c$e</div>',
            i=self.ident,
            l=label,
            c=control,
            e=self.error,
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
    f = _Field.of(form, name, value)
    i = f.ident
    hint_html = h('<p class="hint" id="$i-hint">$t</p>', i=i, t=hint) if hint else Markup("")
    described = h(' aria-describedby="$i-hint"', i=i) if hint and not f.error else Markup("")
    control = h(
        '$hint<input id="$i" name="$n" type="$k" value="$v" autocomplete="$a"$req$attrs$d>',
        hint=hint_html,
        i=i,
        n=name,
        k=kind,
        v=f.value,
        a=autocomplete,
        req=Markup(" required") if required else Markup(""),
        attrs=f.attrs,
        d=described,
    )
    marker = Markup(' <span class="req">(required)</span>') if required else Markup("")
    return f.wrap(h("$l$r", l=label, r=marker), control)


def lifetime_field(form: Form | None) -> Markup:
    """How long a new key works, in minutes (empty: for ever)."""
    return text_field(
        form,
        "expires_in_minutes",
        "Lifetime in minutes",
        kind="number",
        hint="Empty: it never expires.",
    )


def textarea(form: Form | None, name: str, label: str, *, value: str | None = None) -> Markup:
    f = _Field.of(form, name, value)
    return f.wrap(
        label,
        h(
            '<textarea id="$i" name="$n" rows="3"$a>$v</textarea>',
            i=f.ident,
            n=name,
            a=f.attrs,
            v=f.value,
        ),
    )


def select(
    form: Form | None,
    name: str,
    label: str,
    options: Sequence[tuple[str, str]],
    *,
    value: str | None = None,
) -> Markup:
    f = _Field.of(form, name, value)
    opts = join(
        h(
            '<option value="$v"$s>$l</option>',
            v=v,
            l=label_,
            s=Markup(" selected") if v == f.value else Markup(""),
        )
        for v, label_ in options
    )
    return f.wrap(
        label,
        h('<select id="$i" name="$n"$a>$o</select>', i=f.ident, n=name, a=f.attrs, o=opts),
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


def csrf_form(request: Request, action: str, cls: str, content: Markup) -> Markup:
    """A form posting to ``action`` (under the app's base), with the CSRF token first."""
    return h(
        '<form method="post" action="$a" class="$c">$t$x</form>',
        a=url(request, action),
        c=cls,
        t=hidden_csrf(request),
        x=content,
    )


def post_form(request: Request, action: str, fields: Markup, submit: str) -> Markup:
    submit_html = h('<div class="actions"><button type="submit">$s</button></div>', s=submit)
    return csrf_form(request, action, "stack", join([fields, submit_html]))


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
    button = h(
        '<button type="submit" class="$c"$aria>$l</button>',
        c="danger" if danger else "secondary",
        aria=aria,
        l=label,
    )
    return csrf_form(request, action, "inline", join([extra, button]))


def remove_button(
    request: Request, action: str, label: str, describe: str, **hidden: str
) -> Markup:
    """A danger-styled one-button form for one item of a list (revoke, remove, delete…),
    named for screen readers by ``describe``, the item's id in ``hidden``."""
    return action_button(
        request, action, label, danger=True, hidden=hidden or None, describe=describe
    )


def row(head: Any, cells: Mapping[str, Any], actions: Markup | None = None) -> Markup:
    """A table row: its heading cell, the cells (labelled for narrow screens by their
    column, ``data-label``) and, unless None, a last cell of the row's actions."""
    tds = join(h('<td data-label="$l">$v</td>', l=label, v=value) for label, value in cells.items())
    end = h("<td>$a</td>", a=actions) if actions is not None else Markup("")
    return h('<tr><th scope="row">$h</th>$c$e</tr>', h=head, c=tds, e=end)


def table(
    caption: str,
    head: Sequence[str],
    rows: Iterable[Markup],
    *,
    after: Markup | str = "",
    caption_shown: bool = False,
) -> Markup:
    """A table with a caption (for screen readers only, unless ``caption_shown``), its
    column headings and ``rows``; ``after`` (a pager) follows it."""
    cols = join(h('<th scope="col">$c</th>', c=c) for c in head)
    return h(
        "<table><caption$v>$c</caption><thead><tr>$h</tr></thead><tbody>$r</tbody></table>$after",
        v=Markup("") if caption_shown else Markup(' class="vh"'),
        c=caption,
        h=cols,
        r=join(rows),
        after=after,
    )


def secret_notice(title: str, secret: str) -> Markup:
    """A new secret, shown in this answer only."""
    return h(
        '<div class="notice ok" role="status"><p>$t Copy it now: it is shown only here.</p>'
        '<pre class="secret" tabindex="0">$s</pre></div>',
        t=title,
        s=secret,
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
