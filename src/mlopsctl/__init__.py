"""mlopsctl: a multi-tenant ML inference platform on Kubernetes, and the proof that it works."""

__version__ = "0.1.0"
