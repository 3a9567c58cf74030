"""The Hermes Station web server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hermes-station")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
