import pytest

from tests.factories import make_user
from tests.s3 import s3_server


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes media into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def staff_user(db):
    return make_user("staff", role=None, staff=True)


@pytest.fixture
def crowdworker(db):
    return make_user("alice")


@pytest.fixture
def other_crowdworker(db):
    return make_user("bob")


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible endpoint (moto's server), shared by the tests that store media in S3."""
    with s3_server() as url:
        yield url
