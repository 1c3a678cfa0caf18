"""Tests of the annotation pipeline: steps, executors, cache, ledger, metrics, CLI."""
