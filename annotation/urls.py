from django.urls import path  # noqa: F401

app_name = "annotation"

urlpatterns: list = [
    # crowdworker pages, reviewer queue and dashboard (annotation.views), media (annotation.media)
]
