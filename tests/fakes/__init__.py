"""Fakes shared by the tests: a local OpenAI-compatible server with latency and fault injection."""
