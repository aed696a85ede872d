from django.apps import AppConfig


class SafesoraConfig(AppConfig):
    name = "safesora"
    verbose_name = "SafeSora platform"
