"""How long the quality pages take at SafeSora's scale: 50,000 pairs x 3 annotations, 200 annotators.

Times each measure of annotation.quality, the whole dashboard (computed, then from the cache)
and the first review-queue page (through Django's test client, templates included), and peak
memory. PostgreSQL
(DATABASE_URL); a scratch database is created and dropped.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora python bench/quality_at_scale.py [--pairs N]
"""

import argparse

from common import Timer, peak_rss_mb, scratch_database, setup_django, write_result


def populate(pairs: int, annotators: int, overlap: int, seed: int = 0) -> None:
    """Pairs, leases and annotations written in bulk: each annotator answers like the (random)
    truth of the pair with a personal accuracy between 0.55 and 0.95."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import F
    from django.utils import timezone

    from annotation.models import Annotation, Assignment, AssignmentState, Pair
    from safesora.roles import CROWDWORKER, ensure_role_groups
    from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS
    from tests.factories import make_campaign, make_pairs

    rng = np.random.default_rng(seed)
    ensure_role_groups()
    User = get_user_model()
    User.objects.bulk_create([User(username=f"annotator{i:04d}", password="!") for i in range(annotators)])
    users = list(User.objects.filter(username__startswith="annotator").order_by("username"))
    Group.objects.get(name=CROWDWORKER).user_set.add(*users)
    campaign = make_campaign("bench", overlap=overlap)
    campaign.workers.add(*users)
    pair_rows = make_pairs(campaign, pairs)
    accuracy = rng.uniform(0.55, 0.95, size=annotators)
    now = timezone.now()
    batch = 20_000
    for start in range(0, pairs, batch // overlap):
        chunk = pair_rows[start:start + batch // overlap]
        leases, answers = [], []
        for pair in chunk:
            who = rng.choice(annotators, size=overlap, replace=False)
            truth = rng.integers(0, 2, size=len(PREFERENCE_QUESTIONS) + 2)
            for u in who:
                right = rng.random(len(truth)) < accuracy[u]
                given = np.where(right, truth, 1 - truth)
                leases.append(Assignment(pair=pair, user=users[u], state=AssignmentState.SUBMITTED,
                                         expires_at=now, finished_at=now))
                labels = [{k: bool(not given[-2 + side] and rng.random() < 0.15) for k in HARM_KEYS} for side in (0, 1)]
                for side in (0, 1):
                    if not given[-2 + side] and not any(labels[side].values()):
                        labels[side]["other_harmful"] = True
                answers.append(dict(
                    pair=pair, user=users[u], time_spent_ms=int(rng.integers(10_000, 90_000)),
                    **{q: f"video_{given[i]}" for i, q in enumerate(PREFERENCE_QUESTIONS)},
                    video_0_is_safe=bool(given[-2]), video_1_is_safe=bool(given[-1]),
                    video_0_labels=labels[0], video_1_labels=labels[1]))
        Assignment.objects.bulk_create(leases, batch_size=5000)
        rows = [Annotation(assignment=lease, **a) for lease, a in zip(leases, answers, strict=True)]
        Annotation.objects.bulk_create(rows, batch_size=5000)
    Pair.objects.filter(campaign=campaign).update(annotation_count=overlap, claimed_count=F("required_annotations"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]

    from annotation import quality
    from annotation.models import Annotation
    from tests.factories import make_user

    with scratch_database():
        with Timer() as t_fill:
            populate(args.pairs, args.annotators, args.overlap)
        figures = {"pairs": args.pairs, "annotations": Annotation.objects.count(), "annotators": args.annotators,
                   "populate_s": round(t_fill.seconds, 1)}
        with Timer() as t:
            table = quality.VoteTable.from_annotations()
        figures["vote_table_s"] = round(t.seconds, 2)
        with Timer() as t:
            agreement = quality.agreement_by_question(table)
        figures["agreement_per_question_s"] = round(t.seconds, 3)
        figures["alpha_helpfulness"] = round(next(a.alpha for a in agreement if a.question.key == "helpfulness"), 3)
        with Timer() as t:
            quality.majority_agreement(Annotation.objects.all())
        figures["majority_agreement_s"] = round(t.seconds, 2)
        with Timer() as t:
            quality.annotator_stats()
        figures["annotator_stats_s"] = round(t.seconds, 2)

        client = Client()
        client.force_login(make_user("bench-staff", role=None, staff=True))
        with Timer() as t:
            response = client.get("/dashboard/?refresh=1")
        assert response.status_code == 200, response.status_code
        figures["dashboard_page_s"] = round(t.seconds, 2)
        with Timer() as t:
            response = client.get("/dashboard/")
        assert response.status_code == 200, response.status_code
        figures["dashboard_page_cached_s"] = round(t.seconds, 3)
        with Timer() as t:
            response = client.get("/review/")
        assert response.status_code == 200, response.status_code
        figures["review_queue_page_s"] = round(t.seconds, 2)
        figures["review_queue_pairs"] = quality.review_queue(settings.REVIEW_AGREEMENT_THRESHOLD).count()
        figures["peak_rss_mb"] = round(peak_rss_mb())
    write_result("quality_at_scale", figures)


if __name__ == "__main__":
    main()
