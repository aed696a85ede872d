"""CogVideoX text-to-video (`CogVideoXPipeline`): T5 text encoder, CogVideoX 3D VAE, expert-adaLN DiT."""

from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel

from generation.pipelines.tiny import seeded, t5_encoder, t5_tokenizer

PIPELINE_CLASS = "CogVideoXPipeline"
SUPPORTS_BATCH = True
# Frames are 1 + a multiple of 8: the VAE compresses time by 4 and its decoder makes 4n+1 frames only
# from an odd number n+1 of latent frames (an even count decodes to extra frames). Sides are
# multiples of 16 (VAE 8 x patch 2).
FRAME_MULTIPLE = 8
SIZE_MULTIPLE = 16

# Published defaults of CogVideoX 1.0: 49 frames at 8 fps (6 s) at 480x720, 50 steps, CFG 6.
# The 2B model was trained in float16, the 5B models in bfloat16.
DEFAULTS = {
    "num_frames": 49, "fps": 8, "height": 480, "width": 720, "num_inference_steps": 50,
    "guidance_scale": 6.0, "negative_prompt": "", "dtype": "bfloat16",
}
CHECKPOINTS = {
    "cogvideox-2b": ("THUDM/CogVideoX-2b", {"dtype": "float16"}),
    "cogvideox-5b": ("THUDM/CogVideoX-5b", {}),
    "cogvideox1.5-5b": ("THUDM/CogVideoX1.5-5B", {"num_frames": 81, "fps": 16, "height": 768, "width": 1360}),
}
TINY = {
    "num_frames": 9, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 6.0, "negative_prompt": "blurry, low quality", "dtype": "float32",
    "extra_params": {"max_sequence_length": 32},
}


def build_tiny(seed: int = 0) -> CogVideoXPipeline:
    """A CogVideoXPipeline of the real classes at toy size with random weights drawn from `seed`."""
    tokenizer = t5_tokenizer()
    with seeded(seed):
        text_encoder = t5_encoder(tokenizer)
        vae = AutoencoderKLCogVideoX(
            down_block_types=("CogVideoXDownBlock3D",) * 4, up_block_types=("CogVideoXUpBlock3D",) * 4,
            block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1, norm_num_groups=2,
            temporal_compression_ratio=4,
        ).eval()
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=8,
            text_embed_dim=32, num_layers=2, sample_width=4, sample_height=4, sample_frames=9, patch_size=2,
            temporal_compression_ratio=4, max_text_seq_length=32,
        ).eval()
    scheduler = CogVideoXDDIMScheduler()
    return CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                             scheduler=scheduler)
