"""The real app for the benchmarks: production settings, unchanged (the pool `check=` clash this
module once worked around is fixed in elearn/settings/base.py)."""

from elearn.settings.production import *  # noqa: F403
