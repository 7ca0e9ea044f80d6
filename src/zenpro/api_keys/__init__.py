"""API keys: personal access tokens (`ZENPROKEY_…`) and service-account keys."""
