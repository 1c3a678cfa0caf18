"""ayavision: build, train, merge and evaluate multilingual vision-language models the Aya Vision way."""

__version__ = "0.1.0"
