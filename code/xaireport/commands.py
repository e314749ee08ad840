"""Imports every module that registers a CLI subcommand (kept separate so ``cli`` stays small)."""
from __future__ import annotations
