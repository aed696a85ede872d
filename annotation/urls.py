from django.urls import path  # noqa: F401

from . import media, views

app_name = "annotation"

urlpatterns: list = [
    # crowdworker pages, reviewer queue and dashboard (annotation.views), media (annotation.media)
    path("annotation/videos/<str:video_id>.mp4", media.video, name="video"),
    path("annotation/posters/<str:video_id>.jpg", media.poster, name="poster"),
    path("annotate/", views.annotate, name="annotate"),
    path("annotate/<int:assignment_id>/submit/", views.submit, name="submit"),
    path("annotate/<int:assignment_id>/skip/", views.skip, name="skip"),
    path("annotate/history/", views.history, name="history"),
    path("annotate/corrections/<int:annotation_id>/", views.correct, name="correct"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<str:pair_id>/", views.review_pair, name="review_pair"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
