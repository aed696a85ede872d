"""A synthetic annotated project at any scale, built inside PostgreSQL (INSERT ... SELECT generate_series).

Scale 1 is SafeSora's size: 14,711 prompts, 57,333 videos (3 or 4 per prompt, one per generator),
51,691 pairs (3 or 4 per prompt) and `overlap` annotations per pair. Videos are rows without
files. Answers agree with a per-pair "true" answer 80% of the time, so there is disagreement;
about 3% of videos get each harm label. Used by bench/export_scale.py and the export tests.
"""

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from annotation.models import Campaign
from generation.models import Generator
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS

SAFESORA = {"prompts": 14_711, "videos": 57_333, "pairs": 51_691}
PAIR_TEMPLATES = "(VALUES (0, 0, 1), (1, 1, 2), (2, 0, 2), (3, 2, 3)) AS t(k, a, b)"


def _labels(probability: float) -> str:
    return "jsonb_build_object(" + ", ".join(f"'{k}', random() < {probability}" for k in HARM_KEYS) + ")"


def _sha(expr: str) -> str:
    return f"encode(sha256(({expr})::bytea), 'hex')"


@transaction.atomic
def build_synthetic_project(scale: float = 1.0, *, overlap: int = 3, users: int = 60,
                            campaign_name: str = "synthetic") -> dict:
    """Insert the project; return its counts. PostgreSQL only."""
    prompts = round(SAFESORA["prompts"] * scale)
    videos = round(SAFESORA["videos"] * scale)
    pairs = round(SAFESORA["pairs"] * scale)
    four_videos, four_pairs = videos - 3 * prompts, pairs - 3 * prompts
    assert 0 <= four_pairs <= four_videos <= prompts
    generators = [Generator.objects.get_or_create(name=f"synthetic-{i}", defaults={
        "family": "wan", "pipeline_class": "WanPipeline"})[0].pk for i in range(4)]
    campaign = Campaign.objects.create(name=campaign_name, overlap=overlap)
    User = get_user_model()
    User.objects.bulk_create([User(username=f"{campaign_name}-worker-{i}", password="!") for i in range(users)])
    user_ids = list(User.objects.filter(username__startswith=f"{campaign_name}-worker-").values_list("pk", flat=True))
    prompt_id, video_id = _sha("'prompt:' || i"), _sha("'video:' || i || ':' || j")
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO generation_prompt (id, text, text_hash, prompt_type, prompt_labels, source, split, created_at)
            SELECT h, 'synthetic prompt number ' || i, h,
                   CASE WHEN i %% 2 = 0 THEN 'safety_critical' ELSE 'safety_neutral' END,
                   CASE WHEN i %% 2 = 0 THEN {_labels(0.1)} ELSE {_labels(0)} END, 'synthetic', '', now()
            FROM (SELECT i, {prompt_id} AS h FROM generate_series(0, %s - 1) AS i) AS s""", [prompts])
        cur.execute(f"""
            INSERT INTO generation_video (id, video_text, seed, file, poster, fps, num_frames, width, height,
                duration, size_bytes, sha256, origin, created_at, flagged, generator_id, prompt_id)
            SELECT v, 'synthetic prompt number ' || i, j, 'videos/' || p || '/' || v || '.mp4', '', 16, 49, 832,
                   480, 3.0625, 0, repeat('0', 64), 'generated', now(), false, (%s::bigint[])[j + 1], p
            FROM (SELECT i, j, {prompt_id} AS p, {video_id} AS v
                  FROM generate_series(0, %s - 1) AS i, generate_series(0, 3) AS j
                  WHERE j < 3 OR i < %s) AS s""", [generators, prompts, four_videos])
        cur.execute(f"""
            INSERT INTO annotation_pair (id, required_annotations, claimed_count, annotation_count, is_gold,
                created_at, campaign_id, prompt_id, video_0_id, video_1_id)
            SELECT {_sha("'pair:' || i || ':' || k")}, %s, %s, %s, false, now(), %s, {prompt_id},
                   CASE WHEN (i + k) %% 2 = 0 THEN {_sha("'video:' || i || ':' || a")}
                        ELSE {_sha("'video:' || i || ':' || b")} END,
                   CASE WHEN (i + k) %% 2 = 0 THEN {_sha("'video:' || i || ':' || b")}
                        ELSE {_sha("'video:' || i || ':' || a")} END
            FROM generate_series(0, %s - 1) AS i, {PAIR_TEMPLATES}
            WHERE k < 3 OR i < %s""", [overlap, overlap, overlap, campaign.pk, prompts, four_pairs])
        cur.execute("""
            INSERT INTO annotation_assignment (state, created_at, expires_at, finished_at, skip_reason, user_id,
                pair_id)
            SELECT 'submitted', now(), now(), now(), '', (%s::int[])[((abs(hashtext(p.id)) + r) %% %s) + 1], p.id
            FROM annotation_pair AS p, generate_series(0, %s - 1) AS r
            WHERE p.campaign_id = %s""", [user_ids, len(user_ids), overlap, campaign.pk])
        truth = "((hashtext(a.pair_id || '{q}') & 1) = 0)"
        choices = ", ".join(
            f"CASE WHEN (random() < 0.8) = {truth.format(q=q)} THEN 'video_0' ELSE 'video_1' END AS {q}"
            for q in PREFERENCE_QUESTIONS)
        has_label = "@? '$.* ? (@ == true)'"
        cur.execute(f"""
            INSERT INTO annotation_annotation ({", ".join(PREFERENCE_QUESTIONS)}, video_0_labels, video_1_labels,
                video_0_is_safe, video_1_is_safe, time_spent_ms, submitted_at, user_id, assignment_id, pair_id)
            SELECT {", ".join(PREFERENCE_QUESTIONS)}, l0, l1, NOT (l0 {has_label}), NOT (l1 {has_label}),
                   30000, now(), u, aid, pid
            FROM (SELECT {choices}, {_labels(0.03)} AS l0, {_labels(0.03)} AS l1,
                         a.user_id AS u, a.id AS aid, a.pair_id AS pid
                  FROM annotation_assignment AS a JOIN annotation_pair AS p ON p.id = a.pair_id
                  WHERE p.campaign_id = %s) AS s""", [campaign.pk])
    return {"prompts": prompts, "videos": videos, "pairs": pairs, "annotations": pairs * overlap}
