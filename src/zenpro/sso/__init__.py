"""Single sign-on with OpenID Connect providers (issue 15).

``config`` parses ``ZENPRO_OIDC_PROVIDERS``; ``discovery`` fetches and caches each
provider's metadata and keys; ``tokens`` validates ID tokens; ``flow`` runs the
authorization-code flow with PKCE; ``accounts`` decides which user a sign-in is;
``pages`` serves the browser side.
"""
