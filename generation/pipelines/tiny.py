"""What the tiny pipelines share: seeded construction and tokenizers built in memory (no files, no downloads).

transformers 5 tokenizers are backed by the `tokenizers` library and accept a vocabulary in code,
so each tiny twin gets a real tokenizer of the same kind its checkpoint ships (T5/UMT5 Unigram,
CLIP byte-level BPE, Llama BPE with byte fallback), only with a small vocabulary.
"""

import contextlib
import string
from collections.abc import Iterator

import torch
from diffusers.utils import logging as diffusers_logging
from transformers import (
    CLIPTokenizer,
    LlamaTokenizer,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
    UMT5Config,
    UMT5EncoderModel,
)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Random weights drawn from `seed`, without disturbing the caller's global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def diffusers_log_level(level: int) -> Iterator[None]:
    before = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity(level)
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(before)


# Common words of video prompts become single tokens; anything else falls back to characters.
_WORDS = (
    "a an the of in on at with and to from by for is are his her their it this that as "
    "man woman person people child dog cat bird horse car city street room forest sea sky sun "
    "night day light water fire tree house road walking running flying standing sitting holding "
    "slowly fast camera close up wide shot view video scene style realistic cinematic red blue "
    "green black white small big old young"
).split()
_CHARS = string.ascii_lowercase + string.ascii_uppercase + string.digits + string.punctuation


def t5_tokenizer(model_max_length: int = 512) -> T5Tokenizer:
    """A Unigram tokenizer laid out as T5's and UMT5's are: <pad>=0, </s>=1, <unk>=2."""
    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]
    vocab += [(f"▁{word}", -5.0) for word in _WORDS]
    vocab += [(char, -8.0) for char in _CHARS]
    vocab += [(f"▁{char}", -9.0) for char in _CHARS]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=model_max_length)


def t5_encoder(tokenizer: T5Tokenizer, umt5: bool = False) -> T5EncoderModel | UMT5EncoderModel:
    """A 2-layer, 32-wide T5 text encoder (UMT5 for Wan) over `tokenizer`; build it inside seeded()."""
    config_class, model_class = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    return model_class(config_class(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )).eval()


def _bytes_to_unicode() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, which byte-level BPE works on."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    shifted, extra = [], 0
    for byte in range(256):
        if byte in printable:
            shifted.append(chr(byte))
        else:
            shifted.append(chr(256 + extra))
            extra += 1
    return shifted


def clip_tokenizer(model_max_length: int = 77) -> CLIPTokenizer:
    """CLIP's byte-level BPE over single bytes plus common words, with CLIP's special tokens."""
    symbols = _bytes_to_unicode()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in _WORDS:  # merge left to right so each listed word becomes one token
        piece = word[0]
        for i, char in enumerate(word[1:], start=1):
            last = i == len(word) - 1
            right = char + "</w>" if last else char
            merges.append((piece, right))
            piece += right
            vocab.setdefault(piece, len(vocab))
    unique_merges = list(dict.fromkeys(merges))
    return CLIPTokenizer(vocab=vocab, merges=unique_merges, model_max_length=model_max_length)


# The chat-template markers HunyuanVideo's prompt template uses (Llama 3 style).
LLAMA_SPECIAL_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def llama_tokenizer(model_max_length: int = 512) -> LlamaTokenizer:
    """Llama's BPE with byte fallback: whole words where listed, raw bytes for the rest; pads on the right."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for char in "▁" + _CHARS:
        vocab.setdefault(char, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in _WORDS:
        piece = "▁"
        for char in word:
            merges.append((piece, char))
            piece += char
            vocab.setdefault(piece, len(vocab))
    unique_merges = list(dict.fromkeys(merges))
    tokenizer = LlamaTokenizer(vocab=vocab, merges=unique_merges, pad_token="<pad>", padding_side="right",
                               model_max_length=model_max_length)
    tokenizer.add_tokens(LLAMA_SPECIAL_TOKENS, special_tokens=True)
    return tokenizer
