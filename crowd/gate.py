"""The check in front of the next-pair engine: qualification first, and marketplace workers stop
(and get their completion code) when their quota is done or their campaign runs out.

The labelling page and the API call `stop_for` before asking the engine for pairs. It costs one
prepared index lookup for people this app never enrolled, so the engine's hot path barely notices
(bench/crowd_gate.py measures it).
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.translation import gettext as _

from annotation.models import Campaign
from safesora.db import fetch_prepared

from .enrolment import crowd_settings, do_admit
from .marketplace import progress
from .models import Enrolment, EnrolmentState, Marketplace

_ENROLLED_SQL = f"SELECT state, source FROM {Enrolment._meta.db_table} WHERE user_id = %(user)s"
MARKETPLACES = frozenset({Marketplace.PROLIFIC, Marketplace.MTURK})


@dataclass(frozen=True)
class Stop:
    url: str  # where the worker goes instead
    reason: str  # for the API


def stop_for(user: AbstractBaseUser, campaign: Campaign | int | None) -> Stop | None:
    """Where to send `user` instead of serving pairs (of `campaign`, or of any campaign), or None."""
    if not user.is_authenticated:
        return None
    # Most people: one prepared index lookup, no ORM query to build. Only a pending
    # qualification, a failed one or a marketplace enrolment can stop anyone.
    rows = fetch_prepared(_ENROLLED_SQL, {"user": user.pk})
    if not any(state != EnrolmentState.WORKING or source in MARKETPLACES for state, source in rows):
        return None
    found = Enrolment.objects.filter(user_id=user.pk).select_related("campaign__crowd", "user")
    if campaign is not None:
        found = found.filter(campaign_id=getattr(campaign, "pk", campaign))
    for enrolment in found:
        stop = _stop(enrolment, explicit=campaign is not None)
        if stop:
            return stop
    return None


def _stop(enrolment: Enrolment, *, explicit: bool) -> Stop | None:
    crowd = crowd_settings(enrolment.campaign)
    qualify = reverse("crowd:qualify", args=[enrolment.campaign_id])
    if enrolment.state == EnrolmentState.QUALIFYING:
        if not crowd.qualification_required:
            do_admit(enrolment)  # the requirement was lifted
        elif enrolment.campaign.is_active:
            return Stop(qualify, _("Pass the qualification of “%(name)s” first.") % {"name": enrolment.campaign.name})
    # Without a campaign asked for, a failed qualification stops only someone with nothing else to do.
    if enrolment.state == EnrolmentState.FAILED and (
            explicit or not enrolment.user.campaigns.filter(is_active=True).exists()):
        return Stop(qualify, _("You did not pass the qualification of “%(name)s”.") % {"name": enrolment.campaign.name})
    if enrolment.source in MARKETPLACES and enrolment.state == EnrolmentState.WORKING:
        if progress(enrolment, crowd).finished:
            done = reverse("crowd:done", args=[enrolment.campaign_id])
            return Stop(done, _("You are done with “%(name)s”: your completion code is on the page %(url)s.") % {
                "name": enrolment.campaign.name, "url": done})
    return None
