from django.db import migrations, models
from django.utils.crypto import salted_hmac


def stamp_existing_tokens(apps, schema_editor):
    """Tokens issued before this migration keep working until the next password change."""
    ApiToken = apps.get_model("safesora", "ApiToken")
    for token in ApiToken.objects.select_related("user"):
        token.password_stamp = salted_hmac("safesora.ApiToken.password_stamp", token.user.password or "",
                                           algorithm="sha256").hexdigest()
        token.save(update_fields=["password_stamp"])


class Migration(migrations.Migration):

    dependencies = [
        ("safesora", "0001_api_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="password_stamp",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="password stamp"),
        ),
        migrations.RunPython(stamp_existing_tokens, migrations.RunPython.noop),
    ]
