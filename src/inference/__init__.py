"""The inference service each tenant runs: FastAPI + a scikit-learn sentiment model.

Entry points: `python -m inference serve` and `python -m inference train`; `inference.app.create_app` builds the
ASGI app. Nothing here imports mlopsctl: the service image carries only this package and its few dependencies.
"""

__version__ = "0.1.0"
