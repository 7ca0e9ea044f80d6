"""What the tests share beyond fixtures: real processes (``processes``)."""
