"""The web console under ``/console``: server-rendered pages on the API's services and
guards (design.md "Browser pages"): no second authorization path, no inline script, every
form with a CSRF token besides the same-origin check."""
