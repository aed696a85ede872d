"""The one REST API (django-ninja); each app adds its router here. OpenAPI schema at /api/openapi.json."""

from ninja import NinjaAPI

api = NinjaAPI(title="SafeSora platform API", version="1", urls_namespace="api")

# Routers are attached below as the apps provide them, e.g.
#   from annotation.api import router as annotation_router
#   api.add_router("/annotation/", annotation_router)

from moderation.api import router as moderation_router  # noqa: E402

api.add_router("/moderation/", moderation_router)
