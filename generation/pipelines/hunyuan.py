"""HunyuanVideo text-to-video (`HunyuanVideoPipeline`): Llama and CLIP text encoders, a 3D VAE, a two-stream DiT."""

from diffusers import (
    AutoencoderKLHunyuanVideo,
    FlowMatchEulerDiscreteScheduler,
    HunyuanVideoPipeline,
    HunyuanVideoTransformer3DModel,
)
from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import DEFAULT_PROMPT_TEMPLATE
from transformers import CLIPTextConfig, CLIPTextModel, LlamaConfig, LlamaModel

from generation.pipelines.tiny import clip_tokenizer, llama_tokenizer, seeded

PIPELINE_CLASS = "HunyuanVideoPipeline"
SUPPORTS_BATCH = True
# diffusers' HunyuanVideo guide: the transformer in bfloat16 (the generator's dtype), the rest in float16.
COMPONENT_DTYPES = {"vae": "float16", "text_encoder": "float16", "text_encoder_2": "float16"}
# Frames are 1 + a multiple of 4 (the VAE compresses time by 4); sides multiples of 16 (VAE 8 x patch 2).
FRAME_MULTIPLE = 4
SIZE_MULTIPLE = 16

# Published defaults (model card): 129 frames at 24 fps, 720x1280, 50 steps, embedded guidance 6.
# HunyuanVideo is guidance-distilled: a negative prompt only acts with extra_params true_cfg_scale > 1.
DEFAULTS = {
    "num_frames": 129, "fps": 24, "height": 720, "width": 1280, "num_inference_steps": 50,
    "guidance_scale": 6.0, "negative_prompt": "", "dtype": "bfloat16",
}
CHECKPOINTS = {
    # 13B transformer plus an 8B Llama: decode 720p in tiles.
    "hunyuanvideo": ("hunyuanvideo-community/HunyuanVideo", {"memory_options": {"vae_tiling": True}}),
}


def _tiny_template() -> dict:
    """The real prompt template, with the number of template tokens the tiny tokenizer makes before the prompt."""
    prefix = DEFAULT_PROMPT_TEMPLATE["template"].split("{}")[0]
    return {"template": DEFAULT_PROMPT_TEMPLATE["template"], "crop_start": len(llama_tokenizer()(prefix).input_ids)}


TINY = {
    "num_frames": 5, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 6.0, "negative_prompt": "", "dtype": "float32",
    "extra_params": {"max_sequence_length": 32, "prompt_template": _tiny_template()},
}


def build_tiny(seed: int = 0) -> HunyuanVideoPipeline:
    """A HunyuanVideoPipeline of the real classes at toy size with random weights drawn from `seed`."""
    tokenizer, tokenizer_2 = llama_tokenizer(), clip_tokenizer()
    with seeded(seed):
        text_encoder = LlamaModel(LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=1, eos_token_id=2,
        )).eval()
        text_encoder_2 = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer_2), hidden_size=8, intermediate_size=16, projection_dim=8,
            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
            bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )).eval()
        vae = AutoencoderKLHunyuanVideo(
            latent_channels=4, down_block_types=("HunyuanVideoDownBlock3D",) * 4,
            up_block_types=("HunyuanVideoUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
            norm_num_groups=4, spatial_compression_ratio=8, temporal_compression_ratio=4,
            mid_block_add_attention=True,
        ).eval()
        transformer = HunyuanVideoTransformer3DModel(
            in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
            num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=True,
            text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4),
        ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    return HunyuanVideoPipeline(text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer, vae=vae,
                                scheduler=scheduler, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2)
