"""Shared infrastructure: the result cache and the import-graph code digests of its keys, devices and fast
inference, progress, errors, file output and downloads. Nothing here knows about a particular method or chapter,
and nothing here imports from the rest of the package."""
