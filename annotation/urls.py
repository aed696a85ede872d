from django.urls import path  # noqa: F401

from . import media

app_name = "annotation"

urlpatterns: list = [
    # crowdworker pages, reviewer queue and dashboard (annotation.views), media (annotation.media)
    path("annotation/videos/<str:video_id>.mp4", media.video, name="video"),
    path("annotation/posters/<str:video_id>.jpg", media.poster, name="poster"),
]
