"""The device flow (RFC 8628) that `zenml login --pro` uses, and a user's devices."""
