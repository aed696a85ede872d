from django.urls import path

from . import views

urlpatterns = [
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("leaderboard.csv", views.leaderboard_csv, name="leaderboard_csv"),
    path("leaderboard.png", views.leaderboard_png, name="leaderboard_png"),
]
