"""python manage.py train_preference --export <ExportRun id | release folder> --dimension <name>|all [options]"""

from django.core.management.base import BaseCommand, CommandError

from moderation.network import model_config
from preference.data import DIMENSIONS
from preference.jobs import JobError, create_models, run_training
from preference.train import PreferenceConfig


class Command(BaseCommand):
    help = ("Train reward models (and the harmlessness cost model) from an export's pair records: a new version per "
            "dimension. Prints per-epoch validation agreement; each report lands in the model's run folder.")

    def add_arguments(self, parser):
        parser.add_argument("--export", required=True, help="ExportRun id, or path to a release / preference folder")
        parser.add_argument("--dimension", required=True, choices=[*DIMENSIONS, "all"])
        parser.add_argument("--epochs", type=int, default=None)
        parser.add_argument("--frames", type=int, default=None, help="frames sampled per video (default 8)")
        parser.add_argument("--size", type=int, default=None, help="frame side for the small backbone (default 64)")
        parser.add_argument("--backbone", default=None, help="small (default) or hf:<local path or hub id>")
        parser.add_argument("--text", default=None, help="hashed (default), minilm or hf:<local path or hub id>")
        parser.add_argument("--width", type=int, default=None, help="width of the temporal head (default 128)")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--lr", type=float, default=None)
        parser.add_argument("--regularization", type=float, default=None,
                            help="weight of the mean squared score (default 0.001, as safe-rlhf)")
        parser.add_argument("--patience", type=int, default=None)
        parser.add_argument("--val-fraction", type=float, default=None, help="share of train prompts for validation")
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument("--workers", type=int, default=None, help="processes decoding videos")
        parser.add_argument("--device", default=None, help="cpu (default), cuda ...")
        parser.add_argument("--name", default="")
        parser.add_argument("--activate", action="store_true", help="make each its dimension's active model")
        parser.add_argument("--queue", action="store_true", help="hand the jobs to a Celery worker (cpu queue)")

    def handle(self, *args, **options):
        try:
            config = self._config(options)
            models = create_models(options["export"], options["dimension"], config, name=options["name"])
        except (JobError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["queue"]:
            from preference.tasks import train_preference_model

            for model in models:
                train_preference_model.delay(model.pk, activate=options["activate"])
                self.stdout.write(f"queued {model}")
            return
        for model in models:
            self.stdout.write(f"training {model} from {model.snapshot_path} into {model.run_dir}")
            try:
                model = run_training(model, progress=options["verbosity"] > 1, activate=options["activate"])
            except Exception as exc:
                raise CommandError(f"training {model} failed: {exc}") from exc
            s = model.summary()
            line = (f"{model} ready: held-out agreement {_fmt(s['agreement'])} "
                    f"[{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}]")
            if s["cost_sign_accuracy"] is not None:
                line += f", cost sign accuracy {_fmt(s['cost_sign_accuracy'])}"
            self.stdout.write(self.style.SUCCESS(line))
            self.stdout.write(f"report: {model.report_path}/model_card.md")

    def _config(self, options) -> PreferenceConfig:
        model = model_config(frames=options["frames"], size=options["size"], backbone=options["backbone"],
                             text=options["text"], width=options["width"])
        fields = {"epochs": options["epochs"], "seed": options["seed"], "batch_size": options["batch_size"],
                  "lr": options["lr"], "regularization": options["regularization"], "patience": options["patience"],
                  "val_fraction": options["val_fraction"], "threads": options["threads"],
                  "workers": options["workers"], "device": options["device"]}
        dimension = DIMENSIONS[0] if options["dimension"] == "all" else options["dimension"]
        return PreferenceConfig(dimension=dimension, model=model, **{k: v for k, v in fields.items() if v is not None})


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
