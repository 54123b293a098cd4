"""The HTTP API (FastAPI): `create_app(services)`; served by `kb serve`."""

from api.app import create_app

__all__ = ["create_app"]
