"""Wan 2.1 text-to-video (`WanPipeline`): UMT5 text encoder, Wan 3D causal VAE, flow-matching DiT."""

from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

from generation.pipelines.tiny import seeded, t5_encoder, t5_tokenizer

PIPELINE_CLASS = "WanPipeline"
SUPPORTS_BATCH = True
# The VAE of the published pipelines is meant to run in float32 beside a bfloat16 transformer.
COMPONENT_DTYPES = {"vae": "float32"}
# Frames are 1 + a multiple of 4 (the VAE compresses time by 4); sides multiples of 16 (VAE 8 x patch 2).
FRAME_MULTIPLE = 4
SIZE_MULTIPLE = 16

# The negative prompt of the Wan 2.1 model card (English rendering of the original).
NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards"
)

# Published defaults: 81 frames at 16 fps (about 5 s), 480p for 1.3B, 720p for 14B, 50 steps, CFG 5.
DEFAULTS = {
    "num_frames": 81, "fps": 16, "height": 480, "width": 832, "num_inference_steps": 50,
    "guidance_scale": 5.0, "negative_prompt": NEGATIVE_PROMPT, "dtype": "bfloat16",
}
CHECKPOINTS = {
    "wan2.1-t2v-1.3b": ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {}),
    "wan2.1-t2v-14b": ("Wan-AI/Wan2.1-T2V-14B-Diffusers", {"height": 720, "width": 1280}),
}
TINY = {
    "num_frames": 5, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 5.0, "negative_prompt": "blurry, low quality", "dtype": "float32",
    "extra_params": {"max_sequence_length": 32},
}


def build_tiny(seed: int = 0) -> WanPipeline:
    """A WanPipeline of the real classes at toy size with random weights drawn from `seed`."""
    tokenizer = t5_tokenizer()
    with seeded(seed):
        text_encoder = t5_encoder(tokenizer, umt5=True)
        vae = AutoencoderKLWan(base_dim=8, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True]).eval()
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
            text_dim=32, freq_dim=32, ffn_dim=48, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer)
