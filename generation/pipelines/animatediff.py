"""AnimateDiff text-to-video (`AnimateDiffPipeline`): a Stable Diffusion 1.5 model plus a motion adapter.

A real AnimateDiff generator names two checkpoints: the SD 1.5 base model in `checkpoint` and the
motion adapter in `extra_params["motion_adapter"]` (loaded as a pipeline component, not passed to the call).
"""

import logging

from diffusers import AnimateDiffPipeline, AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from generation.pipelines.tiny import clip_tokenizer, diffusers_log_level, seeded

PIPELINE_CLASS = "AnimateDiffPipeline"
SUPPORTS_BATCH = True
# Any frame count (the motion modules see up to 32); sides multiples of 8 (the SD VAE).
FRAME_MULTIPLE = 1
SIZE_MULTIPLE = 8
# extra_params entries that name a checkpoint for a pipeline component: loaded, not passed to the call.
COMPONENTS = {"motion_adapter": "MotionAdapter"}

# Published defaults (diffusers' AnimateDiff guide): 16 frames at 8 fps, 512x512, 25 steps, CFG 7.5.
DEFAULTS = {
    "num_frames": 16, "fps": 8, "height": 512, "width": 512, "num_inference_steps": 25,
    "guidance_scale": 7.5, "negative_prompt": "bad quality, worse quality", "dtype": "float16",
}
CHECKPOINTS = {
    "animatediff-v1-5-2": ("emilianJR/epiCRealism",
                           {"extra_params": {"motion_adapter": "guoyww/animatediff-motion-adapter-v1-5-2"}}),
}
TINY = {
    "num_frames": 8, "fps": 8, "height": 32, "width": 32, "num_inference_steps": 2,
    "guidance_scale": 7.5, "negative_prompt": "bad quality, worse quality", "dtype": "float32",
    "extra_params": {},
}


def after_load(pipe: AnimateDiffPipeline) -> None:
    """The scheduler settings AnimateDiff's authors recommend, on top of the base model's own schedule."""
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, clip_sample=False, timestep_spacing="linspace",
                                               beta_schedule="linear", steps_offset=1)


def build_tiny(seed: int = 0) -> AnimateDiffPipeline:
    """An AnimateDiffPipeline of the real classes at toy size with random weights drawn from `seed`."""
    tokenizer = clip_tokenizer()
    with seeded(seed):
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, projection_dim=16,
            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
            bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )).eval()
        unet = UNet2DConditionModel(
            block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=16, norm_num_groups=2, attention_head_dim=4,
        )
        motion_adapter = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2,
                                       motion_num_attention_heads=2)
        vae = AutoencoderKL(
            block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
            down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
            up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        ).eval()
        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False,
                                  timestep_spacing="linspace", steps_offset=1)
        # The pipeline merges the UNet and the adapter into a UNetMotionModel, drawing its new layers here too.
        # (That merge casts with .to(), which warns about float32 modules this model does not have.)
        with diffusers_log_level(logging.ERROR):
            pipe = AnimateDiffPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                       motion_adapter=motion_adapter, scheduler=scheduler)
    pipe.unet.eval()
    return pipe
