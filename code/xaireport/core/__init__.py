"""Shared infrastructure: settings, the result cache, devices and fast inference, progress, errors, file output
and downloads. Nothing here knows about a particular method or chapter."""
