from django.urls import path  # noqa: F401

from . import views

app_name = "annotation"

urlpatterns: list = [
    # crowdworker pages, reviewer queue and dashboard (annotation.views), media (annotation.media)
    path("annotate/", views.annotate, name="annotate"),
    path("annotate/<int:assignment_id>/submit/", views.submit, name="submit"),
    path("annotate/<int:assignment_id>/skip/", views.skip, name="skip"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<str:pair_id>/", views.review_pair, name="review_pair"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
