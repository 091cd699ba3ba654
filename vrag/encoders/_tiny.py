"""Tiny tokenizer for the test-only encoder variants: character WordPiece built in code, no download."""

from __future__ import annotations

import string
from typing import Any

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
PAD, UNK, CLS, SEP = range(4)


def tiny_vocab() -> dict[str, int]:
    chars = string.ascii_lowercase + string.digits
    tokens = [*SPECIALS, *chars, *(f"##{c}" for c in chars), *".,!?'-"]
    return {t: i for i, t in enumerate(tokens)}


def tiny_tokenizer() -> Any:
    """A ~80-token character tokenizer (lowercase letters, digits, punctuation) for random-weight tests."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(tiny_vocab(), unk_token="[UNK]", max_input_chars_per_word=64))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )
