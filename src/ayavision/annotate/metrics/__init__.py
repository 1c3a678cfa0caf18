"""Measures of the annotated data: answer tokens, words, MTLD, chrF and (optionally) COMET, per language and step."""

from ayavision.annotate.metrics.mtld import mtld, mtld_tokens

__all__ = ["mtld", "mtld_tokens"]
