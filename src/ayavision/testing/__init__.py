"""Offline stand-ins used by the tests and benchmarks, and by users testing their own pipelines without a server."""
