"""zenpro: an open, self-hosted server for the ZenML Pro management API."""

__version__ = "0.1.0"
