"""Tiny pretrained parts for the shapes world, each made by one call and cached by its config.

- ``pretrain_tokenizer``: a byte-level BPE trained on the world's 23-language corpus, with the Cohere chat
  template and the image tokens.
- ``pretrain_encoder``: a tiny SigLIP (vision + text towers) trained with the sigmoid loss on world
  image-caption pairs; saved as a ``SiglipModel`` folder whose vision tower composes into a VLM.
- ``pretrain_text_llm``: a tiny Cohere2 causal LM trained on the text task, written-scene questions and
  descriptions in all languages: the "text LLM" a VLM starts from and is merged back with.

The package ships one build of each at the default settings (``shipped``); a recipe at those settings copies them.

Each prints and stores (in ``world.json``) its score against chance.
"""

from ayavision.world.pretrain.configs import EncoderConfig, LLMConfig, TokenizerConfig
from ayavision.world.pretrain.encoder import pretrain_encoder
from ayavision.world.pretrain.llm import pretrain_text_llm
from ayavision.world.pretrain.tokenizer import pretrain_tokenizer

__all__ = [
    "EncoderConfig",
    "LLMConfig",
    "TokenizerConfig",
    "pretrain_encoder",
    "pretrain_text_llm",
    "pretrain_tokenizer",
]
