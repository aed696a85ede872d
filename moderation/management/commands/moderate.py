"""python manage.py moderate VIDEO --prompt "..." [--model VERSION] [--json]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generation.encoding import NotAVideo, check_video_file
from generation.models import Video
from moderation.frames import UnreadableVideo
from moderation.models import ModelState, ModerationModel
from moderation.predict import ArtifactError


class Command(BaseCommand):
    help = "Print a moderation model's scores for a video file (or a stored video's id) and a prompt."

    def add_arguments(self, parser):
        parser.add_argument("video", help="path to a video file, or the id of a stored video")
        parser.add_argument("--prompt", default=None, help="the prompt (default for a stored video: its input text)")
        parser.add_argument("--model", type=int, default=None, help="model version (default: the active one)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        from moderation.screening import moderator_for

        model = self._model(options["model"])
        path = Path(options["video"])
        video = None if path.exists() else Video.objects.filter(pk=options["video"]).first()
        if not path.exists() and video is None:
            raise CommandError(f"{options['video']}: no such file and no stored video with that id")
        prompt = options["prompt"]
        if prompt is None and video is None:
            raise CommandError("--prompt is required for a video file")
        if prompt is not None and not prompt.strip():
            raise CommandError("--prompt must not be empty")
        if video is None:
            try:
                check_video_file(path)  # the same rule as import_videos and the moderation API
            except NotAVideo as exc:
                raise CommandError(f"{path}: {exc}") from None
        try:
            if video is not None:
                from moderation.screening import score_video

                scores = score_video(video, model, prompt)
            else:
                scores = moderator_for(model).score(path, prompt)
        except (UnreadableVideo, ArtifactError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"model_version": model.version, **scores.as_dict()}, indent=2))
            return
        verdict = self.style.ERROR("FLAGGED") if scores.flagged else self.style.SUCCESS("not flagged")
        self.stdout.write(f"moderation v{model.version}: {verdict}  unsafe {scores.unsafe_probability:.3f}")
        for key, p in sorted(scores.categories.items(), key=lambda kv: -kv[1]):
            mark = " <- over threshold" if key in scores.flagged_categories else ""
            self.stdout.write(f"  {key:<22} {p:.3f}  (threshold {scores.thresholds[key]:.3f}){mark}")

    def _model(self, version: int | None) -> ModerationModel:
        if version is None:
            model = ModerationModel.active()
            if model is None:
                raise CommandError("no moderation model is active; give --model VERSION or activate one")
            return model
        model = ModerationModel.objects.filter(version=version).first()
        if model is None or model.state != ModelState.READY:
            raise CommandError(f"no trained moderation model with version {version}")
        return model
