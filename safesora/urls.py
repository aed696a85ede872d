from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from . import views
from .api import api
from .health import PlatformHealthView
from .login import LimitedAdminAuthenticationForm, LoginView

admin.site.site_header = "SafeSora platform"
admin.site.site_title = "SafeSora"
admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    # Pages without base.html (the admin) and browsers that ask anyway get the same icon.
    path("favicon.ico", RedirectView.as_view(url=static("safesora/favicon.svg"), permanent=True)),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health/", PlatformHealthView.as_view(), name="health"),
    path("", include("annotation.urls")),
    path("", include("crowd.urls")),
    path("", include("preference.urls")),
]
