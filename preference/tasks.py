"""Celery tasks of the preference stage, on the cpu queue (settings.CELERY_TASK_ROUTES: preference.*)."""

from celery import shared_task

from moderation.models import ModelState

from .models import PreferenceModel


@shared_task(name="preference.tasks.train_preference_model", acks_late=True)
def train_preference_model(model_id: int, activate: bool = False) -> dict | None:
    """Train a PreferenceModel created by preference.jobs.create_models; progress lands on the row."""
    from .jobs import run_training

    model = PreferenceModel.objects.filter(pk=model_id).first()
    if model is None or model.state == ModelState.READY:
        return None
    try:
        model = run_training(model, activate=activate)
    except Exception as exc:  # recorded on the model by run_training
        return {"model": str(model), "error": str(exc)}
    return {"model": str(model), "summary": model.summary()}
