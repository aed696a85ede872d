from django.urls import path, register_converter  # noqa: F401

from safesora.inputs import IdConverter

from . import media, views

register_converter(IdConverter, "id")

app_name = "annotation"

urlpatterns: list = [
    # crowdworker pages, reviewer queue and dashboard (annotation.views), media (annotation.media)
    path("annotation/videos/<str:video_id>.mp4", media.video, name="video"),
    path("annotation/posters/<str:video_id>.jpg", media.poster, name="poster"),
    path("annotate/", views.annotate, name="annotate"),
    path("annotate/<id:assignment_id>/submit/", views.submit, name="submit"),
    path("annotate/<id:assignment_id>/skip/", views.skip, name="skip"),
    path("annotate/settings/shortcuts/", views.shortcut_setting, name="shortcut_setting"),
    path("annotate/history/", views.history, name="history"),
    path("annotate/corrections/<id:annotation_id>/", views.correct, name="correct"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<str:pair_id>/", views.review_pair, name="review_pair"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
