from django.urls import path

from . import views

app_name = "crowd"

urlpatterns = [
    path("crowd/onboard/", views.onboard, name="onboard"),
    path("crowd/set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
    path("crowd/set-password/done/", views.SetPasswordDoneView.as_view(), name="set_password_done"),
    path("join/", views.join_code, name="join_code"),
    path("join/<str:code>/", views.join, name="join"),
    path("crowd/enter/<str:key>/", views.enter, name="enter"),
    path("crowd/done/<int:campaign_id>/", views.done, name="done"),
    path("crowd/qualify/<int:campaign_id>/", views.qualify, name="qualify"),
    path("crowd/qualify/<int:campaign_id>/answers/<int:answer_id>/", views.qualify_feedback,
         name="qualify_feedback"),
    path("crowd/qualify/<int:campaign_id>/videos/<str:video_id>.mp4", views.qualification_video,
         name="qualification_video"),
    path("crowd/qualify/<int:campaign_id>/posters/<str:video_id>.jpg", views.qualification_poster,
         name="qualification_poster"),
    path("crowd/payments/", views.payment_report, name="payments"),
]
