"""Letting a person into a campaign: straight onto its workers list, or through its qualification."""

from django.contrib.auth.models import AbstractBaseUser, Group
from django.utils import timezone

from annotation.models import Campaign
from safesora.roles import CROWDWORKER, ensure_role_groups

from .models import CrowdSettings, Enrolment, EnrolmentState


def crowd_settings(campaign: Campaign) -> CrowdSettings:
    """The campaign's crowd settings; defaults (no marketplace, no qualification) when never saved."""
    try:
        return campaign.crowd
    except CrowdSettings.DoesNotExist:
        return CrowdSettings(campaign=campaign)


def needs_qualification(campaign: Campaign) -> bool:
    return crowd_settings(campaign).qualification_required


def give_role(user: AbstractBaseUser, role: str) -> None:
    ensure_role_groups()
    user.groups.add(Group.objects.get(name=role))


def do_enrol(user: AbstractBaseUser, campaign: Campaign, source: str, **ids: str) -> Enrolment:
    """Enrol `user` in `campaign` (again: keeps the state, updates marketplace ids).

    Without a qualification requirement they go straight onto the workers list; with one they
    take the qualification first (crowd.qualification admits them when they pass).
    """
    enrolment, created = Enrolment.objects.get_or_create(
        user=user, campaign=campaign,
        defaults={"source": source, "state": EnrolmentState.QUALIFYING, **ids})
    if not created and ids:
        for name, value in ids.items():
            setattr(enrolment, name, value)
        enrolment.save(update_fields=list(ids))
    if enrolment.state == EnrolmentState.QUALIFYING and not needs_qualification(campaign):
        do_admit(enrolment)
    return enrolment


def do_admit(enrolment: Enrolment) -> None:
    """Put the person on the campaign's workers list (what the next-pair engine reads)."""
    give_role(enrolment.user, CROWDWORKER)
    enrolment.campaign.workers.add(enrolment.user)
    enrolment.state = EnrolmentState.WORKING
    enrolment.qualified_at = enrolment.qualified_at or timezone.now()
    enrolment.save(update_fields=["state", "qualified_at"])
