from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .api import api
from .login import LoginView, RateLimitedAdminAuthenticationForm

admin.site.site_header = "SafeSora platform"
admin.site.site_title = "SafeSora"
admin.site.login_form = RateLimitedAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("annotation.urls")),
    path("", include("preference.urls")),
]
