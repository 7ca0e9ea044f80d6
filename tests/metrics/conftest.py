from tests.ratelimit.conftest import make_app  # noqa: F401  (the same app factory)
