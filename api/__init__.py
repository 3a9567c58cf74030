"""The Hermes Station web server."""

__version__ = "0.1.0"
