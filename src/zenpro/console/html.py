"""A small, escaping template helper: every value is HTML-escaped unless it is
:class:`Markup` (already-built HTML), so a page cannot forget to escape a name."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Any


class Markup(str):
    """A string that is HTML already: inserted as it is."""

    __slots__ = ()


def esc(value: Any) -> Markup:
    """``value`` as HTML: Markup stays, None is empty, anything else is escaped."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(escape(str(value), quote=True))


def h(template: str, **values: Any) -> Markup:
    """Fill ``$name`` placeholders of ``template`` (a literal of trusted HTML) with the
    escaped ``values``."""
    return Markup(Template(template).substitute({k: esc(v) for k, v in values.items()}))


def join(parts: Iterable[Markup | str]) -> Markup:
    return Markup("".join(esc(p) for p in parts))


@lru_cache
def _file(name: str) -> Template:
    return Template(files("zenpro.console").joinpath("templates", name).read_text("utf-8"))


def render_file(name: str, **values: Any) -> Markup:
    """A template file of this package (``templates/<name>``), filled like :func:`h`."""
    return Markup(_file(name).substitute({k: esc(v) for k, v in values.items()}))
