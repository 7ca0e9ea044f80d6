"""Resource strings (spec §6): strict parsing, and the memo never changes an answer."""

from __future__ import annotations

import uuid

import pytest

from zenpro.authz import resources as res

P, R = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stack", res.Resource("stack")),
        (f"stack/{R}", res.Resource("stack", R)),
        (f"{P}:pipeline", res.Resource("pipeline", None, P)),
        (f"{P}:pipeline/{R}", res.Resource("pipeline", R, P)),
        (f"{P}:pipeline/{str(R).upper()}", res.Resource("pipeline", R, P)),
    ],
)
def test_valid_strings_parse(raw: str, expected: res.Resource) -> None:
    assert res.parse(raw) == expected
    assert res.parse(raw) == expected  # again, from the memo


@pytest.mark.parametrize(
    "raw",
    [
        "stack\n",  # a trailing newline is not the end of the string
        "\nstack",
        " stack",
        "stack/",
        "stack/not-a-uuid",
        "pipeline",  # project-scoped type without its project
        f"{P}:stack",  # global type with a project
        "nosuchtype",
        f"{P}:pipeline/{R}/extra",
    ],
)
def test_malformed_strings_are_refused_every_time(raw: str) -> None:
    for _ in range(2):  # errors are not memoized: the second call refuses too
        with pytest.raises(res.BadResource):
            res.parse(raw)


def test_an_id_can_be_refused() -> None:
    assert res.parse(f"stack/{R}") == res.Resource("stack", R)
    with pytest.raises(res.BadResource, match="without an id"):
        res.parse(f"stack/{R}", allow_id=False)
