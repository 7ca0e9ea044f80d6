from tests.ratelimit.conftest import make_app  # noqa: F401  (apps with their own settings)
