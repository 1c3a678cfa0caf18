"""Tests of the model backends: openai (against a local fake server) and transformers (tiny random models)."""
