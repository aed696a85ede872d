"""LTX-Video text-to-video (`LTXPipeline`): T5 text encoder, a highly compressing video VAE, and a DiT."""

from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXPipeline, LTXVideoTransformer3DModel

from generation.pipelines.tiny import seeded, t5_encoder, t5_tokenizer

PIPELINE_CLASS = "LTXPipeline"
SUPPORTS_BATCH = True
# Frames are 1 + a multiple of 8 and sides multiples of 32: the VAE compresses time by 8 and space by 32.
FRAME_MULTIPLE = 8
SIZE_MULTIPLE = 32
# LTX conditions its positional embeddings on the frame rate: the generator's fps is passed as it.
FPS_ARGUMENT = "frame_rate"

# Published defaults (diffusers' LTX-Video example): 161 frames at 24 fps, 480x704, 50 steps, CFG 3.
DEFAULTS = {
    "num_frames": 161, "fps": 24, "height": 480, "width": 704, "num_inference_steps": 50,
    "guidance_scale": 3.0, "negative_prompt": "worst quality, inconsistent motion, blurry, jittery, distorted",
    "dtype": "bfloat16",
}
CHECKPOINTS = {
    "ltx-video": ("Lightricks/LTX-Video", {}),
}
# The tiny VAE compresses space by 4 only, so sides need only be multiples of 32 to satisfy the real rule.
TINY = {
    "num_frames": 9, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 3.0, "negative_prompt": "blurry, low quality", "dtype": "float32",
    "extra_params": {"max_sequence_length": 32},
}


def build_tiny(seed: int = 0) -> LTXPipeline:
    """An LTXPipeline of the real classes at toy size with random weights drawn from `seed`."""
    tokenizer = t5_tokenizer()
    with seeded(seed):
        text_encoder = t5_encoder(tokenizer)
        vae = AutoencoderKLLTXVideo(
            latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
            spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
            decoder_inject_noise=(False,) * 5, upsample_residual=(False,) * 4, upsample_factor=(1,) * 4,
            timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        ).eval()
        transformer = LTXVideoTransformer3DModel(
            in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
            attention_head_dim=8, cross_attention_dim=32, num_layers=2, caption_channels=32,
        ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler()
    return LTXPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                       transformer=transformer)
