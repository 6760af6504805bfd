"""Leaf helpers every layer may use: atomic file writes, thread-pool settings, L2-normalised rows.

It imports no other ``labellight`` package (an import-linter contract), so ``index``, ``ml`` and the rest
can depend on it without depending on each other."""
