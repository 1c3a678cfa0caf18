"""Tests of the conversation data format: records, IO, validation, importers and the data CLI."""
