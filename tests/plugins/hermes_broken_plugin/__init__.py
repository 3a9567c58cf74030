"""A plugin whose import fails, as one with a missing dependency would."""

raise ImportError("hermes_broken_plugin needs a library that is not installed")
