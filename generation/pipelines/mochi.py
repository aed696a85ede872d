"""Mochi 1 text-to-video (`MochiPipeline`): T5 text encoder, asymmetric DiT, a VAE compressing time by 6."""

from diffusers import AutoencoderKLMochi, FlowMatchEulerDiscreteScheduler, MochiPipeline, MochiTransformer3DModel

from generation.pipelines.tiny import seeded, t5_encoder, t5_tokenizer

PIPELINE_CLASS = "MochiPipeline"
SUPPORTS_BATCH = True
# Frames are 1 + a multiple of 6 (the VAE compresses time by 6); sides multiples of 16 (VAE 8 x patch 2).
FRAME_MULTIPLE = 6
SIZE_MULTIPLE = 16

# Published defaults (model card and diffusers docs): 480x848 at 30 fps, 64 steps, CFG 4.5; 85 frames
# (about 2.8 s) keeps one video within a 80 GB GPU, decoding the VAE in tiles.
DEFAULTS = {
    "num_frames": 85, "fps": 30, "height": 480, "width": 848, "num_inference_steps": 64,
    "guidance_scale": 4.5, "negative_prompt": "", "dtype": "bfloat16",
}
CHECKPOINTS = {
    "mochi-1-preview": ("genmo/mochi-1-preview", {"memory_options": {"vae_tiling": True}}),
}
TINY = {
    "num_frames": 7, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 4.5, "negative_prompt": "blurry, low quality", "dtype": "float32",
    "extra_params": {"max_sequence_length": 32},
}


def build_tiny(seed: int = 0) -> MochiPipeline:
    """A MochiPipeline of the real classes at toy size with random weights drawn from `seed`.

    The pipeline assumes the published VAE's compression (8 in space, 6 in time), so the tiny VAE
    keeps those expansions and 12 latent channels, with narrow layers.
    """
    tokenizer = t5_tokenizer()
    with seeded(seed):
        text_encoder = t5_encoder(tokenizer)
        vae = AutoencoderKLMochi(
            latent_channels=12, out_channels=3, encoder_block_out_channels=(32, 32, 32, 32),
            decoder_block_out_channels=(32, 32, 32, 32), layers_per_block=(1, 1, 1, 1, 1),
        ).eval()
        transformer = MochiTransformer3DModel(
            patch_size=2, num_attention_heads=2, attention_head_dim=8, num_layers=2, pooled_projection_dim=16,
            in_channels=12, qk_norm="rms_norm", text_embed_dim=32, time_embed_dim=4, activation_fn="swiglu",
            max_sequence_length=32,
        ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler()
    return MochiPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                         transformer=transformer)
