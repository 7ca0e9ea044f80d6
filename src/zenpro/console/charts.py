"""Small charts drawn on the server as SVG: no script, colours from the stylesheet (so
both themes), a title and description for screen readers, and the same numbers as a
table beside each chart (the text alternative)."""

from __future__ import annotations

from collections.abc import Sequence

from zenpro.console.html import Markup, h, join

Bar = tuple[str, int]
_W = 560  # viewBox width; the SVG scales to its box
_ROW = 26


def _numbers(caption: str, head: tuple[str, str], items: Sequence[Bar]) -> Markup:
    rows = join(h('<tr><th scope="row">$l</th><td>$n</td></tr>', l=k, n=v) for k, v in items)
    return h(
        '<details class="numbers"><summary>$c as a table</summary><table>'
        '<caption class="vh">$c</caption><thead><tr><th scope="col">$a</th>'
        '<th scope="col">$b</th></tr></thead><tbody>$r</tbody></table></details>',
        c=caption,
        a=head[0],
        b=head[1],
        r=rows,
    )


def bars(
    ident: str,
    title: str,
    description: str,
    items: Sequence[Bar],
    head: tuple[str, str],
    kinds: Sequence[str] = (),
) -> Markup:
    """Horizontal bars, one per (label, number), the number written at the bar's end;
    ``kinds`` names each bar's colour class (else they take turns)."""
    if not items:
        return Markup("")
    top = max(max(n for _, n in items), 1)
    label_w, bar_w = 170, _W - 170 - 60
    shapes = []
    for i, (label, n) in enumerate(items):
        y = i * _ROW + 4
        w = round(bar_w * n / top) if n else 0
        shapes.append(
            h(
                '<g><text class="label" x="$lx" y="$ty" text-anchor="end">$l</text>'
                '<rect class="bar $k" x="$x" y="$y" width="$w" height="18" rx="3"/>'
                '<text class="value" x="$vx" y="$ty">$n</text></g>',
                lx=label_w - 8,
                ty=y + 14,
                l=label,
                k=kinds[i] if i < len(kinds) else f"b{i % 6}",
                x=label_w,
                y=y,
                w=max(w, 2),
                vx=label_w + max(w, 2) + 6,
                n=n,
            )
        )
    height = len(items) * _ROW + 8
    return h(
        '<figure class="chart"><svg role="img" aria-labelledby="$i-t $i-d" viewBox="0 0 $vw $vh" '
        'width="100%" preserveAspectRatio="xMinYMin meet"><title id="$i-t">$t</title>'
        '<desc id="$i-d">$d</desc>$s</svg><figcaption>$t</figcaption>$n</figure>',
        i=ident,
        vw=_W,
        vh=height,
        t=title,
        d=description,
        s=join(shapes),
        n=_numbers(title, head, items),
    )


def columns(
    ident: str, title: str, description: str, items: Sequence[Bar], head: tuple[str, str]
) -> Markup:
    """Vertical bars over time (oldest left), the first, middle and last labels below."""
    if not items:
        return Markup("")
    top = max(max(n for _, n in items), 1)
    plot_h, base_y = 120, 130
    step = _W / len(items)
    width = max(step - 3, 1)
    shapes = []
    for i, (label, n) in enumerate(items):
        bh = round(plot_h * n / top)
        shapes.append(
            h(
                '<rect class="bar b0" x="$x" y="$y" width="$w" height="$bh"><title>$l: $n</title>'
                "</rect>",
                x=round(i * step, 1),
                y=base_y - bh,
                w=round(width, 1),
                bh=max(bh, 1 if n else 0),
                l=label,
                n=n,
            )
        )
    marks = {0: "start", len(items) // 2: "middle", len(items) - 1: "end"}
    ticks = [
        h(
            '<text class="label" x="$x" y="$y" text-anchor="$a">$l</text>',
            x=round(i * step + width / 2, 1) if anchor == "middle" else (0 if i == 0 else _W),
            y=base_y + 18,
            a=anchor,
            l=items[i][0],
        )
        for i, anchor in marks.items()
    ]
    most = h('<text class="value" x="0" y="10">most in a day: $n</text>', n=top)
    return h(
        '<figure class="chart"><svg role="img" aria-labelledby="$i-t $i-d" viewBox="0 0 $vw 156" '
        'width="100%" preserveAspectRatio="xMinYMin meet"><title id="$i-t">$t</title>'
        '<desc id="$i-d">$d</desc>$m<line class="axis" x1="0" y1="$b" x2="$vw" y2="$b"/>$s$k'
        "</svg><figcaption>$t</figcaption>$n</figure>",
        i=ident,
        vw=_W,
        b=base_y,
        t=title,
        d=description,
        m=most,
        s=join(shapes),
        k=join(ticks),
        n=_numbers(title, head, items),
    )
