"""The Hermes Station web server."""

from hermes_agent import __version__

__all__ = ["__version__"]
