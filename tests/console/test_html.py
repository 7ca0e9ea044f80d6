"""The template helper escapes every value unless it is Markup, once."""

from __future__ import annotations

from zenpro.console.html import Markup, esc, h, join


def test_values_are_escaped_and_markup_is_kept() -> None:
    out = h('<p title="$t">$b</p>', t='"><script>', b=Markup("<b>ok</b>"))
    assert out == '<p title="&quot;&gt;&lt;script&gt;"><b>ok</b></p>'
    assert isinstance(out, Markup)


def test_a_value_is_not_substituted_again_and_none_is_empty() -> None:
    assert h("$a|$b", a="$b", b=None) == "$b|"
    assert esc(3) == "3"
    assert join(["<i>", Markup("<i>")]) == "&lt;i&gt;<i>"
