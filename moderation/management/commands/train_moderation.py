"""python manage.py train_moderation --export <ExportRun id | release folder> [options]"""

from django.core.management.base import BaseCommand, CommandError

from moderation.jobs import JobError, create_model, find_resumable, run_training
from moderation.network import model_config
from moderation.train import TrainConfig


class Command(BaseCommand):
    help = ("Train a moderation model (a new version) from an export snapshot: an ExportRun id or a SafeSora-format "
            "release folder. Prints per-epoch metrics; the report lands in the model's run folder.")

    def add_arguments(self, parser):
        parser.add_argument("--export", required=True, help="ExportRun id, or path to a release / label folder")
        parser.add_argument("--resume", action="store_true",
                            help="continue the newest unfinished model trained from this snapshot (its own settings)")
        parser.add_argument("--epochs", type=int, default=None)
        parser.add_argument("--frames", type=int, default=None, help="frames sampled per video (default 8)")
        parser.add_argument("--size", type=int, default=None, help="frame side for the small backbone (default 64)")
        parser.add_argument("--backbone", default=None, help="small (default) or hf:<local path or hub id>")
        parser.add_argument("--text", default=None, help="hashed (default), minilm or hf:<local path or hub id>")
        parser.add_argument("--width", type=int, default=None, help="width of the temporal head (default 128)")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--lr", type=float, default=None)
        parser.add_argument("--patience", type=int, default=None, help="epochs without improvement before stopping")
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument("--workers", type=int, default=None, help="processes decoding videos")
        parser.add_argument("--device", default=None, help="cpu (default), cuda, cuda:1 ...")
        parser.add_argument("--name", default="")
        parser.add_argument("--activate", action="store_true", help="make it the active model when it succeeds")
        parser.add_argument("--queue", action="store_true",
                            help="hand the job to a Celery worker on the train queue instead of running it here")

    def handle(self, *args, **options):
        try:
            if options["resume"]:
                model = find_resumable(options["export"])
                self.stdout.write(f"resuming moderation v{model.version} from {model.run_dir}")
            else:
                model = create_model(options["export"], self._config(options), name=options["name"])
                self.stdout.write(f"training moderation v{model.version} from {model.snapshot_path} "
                                  f"into {model.run_dir}")
        except (JobError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["queue"]:
            from moderation.tasks import train_model

            train_model.delay(model.pk, activate=options["activate"])
            self.stdout.write(f"queued moderation v{model.version} on the train queue")
            return
        try:
            model = run_training(model, progress=options["verbosity"] > 0, activate=options["activate"])
        except Exception as exc:
            raise CommandError(f"training moderation v{model.version} failed: {exc}") from exc
        summary = model.summary()
        self.stdout.write(self.style.SUCCESS(
            f"moderation v{model.version} ready: macro-F1 {_fmt(summary['macro_f1'])}, macro-AUROC "
            f"{_fmt(summary['macro_auroc'])}, unsafe AUROC {_fmt(summary['unsafe_auroc'])} on held-out videos"
            + (" (active)" if model.is_active else "")))
        self.stdout.write(f"report: {model.report_path}/model_card.md")
        warning = model.size_warning()
        if warning:
            self.stdout.write(self.style.WARNING(f"WARNING: {warning}"))

    def _config(self, options) -> TrainConfig:
        model = model_config(frames=options["frames"], size=options["size"], backbone=options["backbone"],
                             text=options["text"], width=options["width"])
        fields = {"epochs": options["epochs"], "seed": options["seed"], "batch_size": options["batch_size"],
                  "lr": options["lr"], "patience": options["patience"], "threads": options["threads"],
                  "workers": options["workers"], "device": options["device"]}
        config = TrainConfig(model=model, **{k: v for k, v in fields.items() if v is not None})
        if config.epochs < 1 or config.batch_size < 2 or config.patience < 1:
            raise ValueError("--epochs and --patience must be at least 1, --batch-size at least 2")
        return config


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
