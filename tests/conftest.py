import pytest

from tests.factories import make_user


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
