from django.apps import AppConfig


class PreferenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "preference"
    verbose_name = "Preference models"
