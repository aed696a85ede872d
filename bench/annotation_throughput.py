"""Annotation throughput: 16 closed-loop annotators over HTTP against gunicorn + PostgreSQL.

Each annotator logs in (session cookie + CSRF token, as the browser does; or `--auth token`),
then repeats: POST /api/annotation/next, POST .../submit. Reported per overlap (1 and 3): cycles
per second, p50/p99 latency of next and of submit, and the number of over-assigned pairs
(must be 0), with the gunicorn settings used and the CPU each side burned. Each overlap runs a
warm-up, then ANALYZE of the engine's tables (what autovacuum does on a live database), then
the measured seconds.

The load generator is a lean hand-written HTTP/1.1 keep-alive client on asyncio streams: the
machine's 2 cores are the limit, and a heavier client (httpx costs 4-5 ms CPU per cycle) takes
them from the server under test (docs/assignment.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora CACHE_URL=redis://127.0.0.1:6379/1 \
        python bench/annotation_throughput.py [--pairs 50000] [--annotators 16] [--seconds 30] \
        [--workers 2 --threads 8] [--auth session|token]
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from common import ROOT, peak_rss_mb, scratch_database, setup_django, write_result

PASSWORD = "bench-password-1"
ANSWERS = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
           "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_1",
           "video_0": {"is_safe": False, "categories": ["violence"]}, "video_1": {"is_safe": True, "categories": []}}
GOLD_ANSWERS = {"harmlessness": "video_1"}


# --- the lean HTTP/1.1 client -------------------------------------------------------------------

class HttpConnection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            lines.append(f"Content-Type: {content_type}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle connection: once more on a new one
            self.close()
            return await self.request(method, path, body, headers, content_type)
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                self.cookies[key] = val
            response_headers[name] = value
        if "content-length" in response_headers:
            payload = await self.reader.readexactly(int(response_headers["content-length"]))
        elif response_headers.get("transfer-encoding") == "chunked":
            payload = b""
            while size := int((await self.reader.readline()).strip(), 16):
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            payload = await self.reader.read()
            self.close()
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, response_headers, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Annotator:
    def __init__(self, host: str, port: int, username: str, auth: str, token: str | None):
        self.http = HttpConnection(host, port)
        self.username, self.auth, self.token = username, auth, token
        self.headers: dict[str, str] = {}

    async def log_in(self) -> None:
        if self.auth == "token":
            self.headers = {"Authorization": f"Bearer {self.token}"}
            return
        await self.http.request("GET", "/accounts/login/")
        form = urllib.parse.urlencode({"username": self.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}).encode()
        status, _, _ = await self.http.request("POST", "/accounts/login/", form,
                                               content_type="application/x-www-form-urlencoded")
        assert status == 302 and "sessionid" in self.http.cookies, f"login failed for {self.username}: {status}"
        self.headers = {"X-CSRFToken": self.http.cookies["csrftoken"]}  # rotated at login

    async def cycle(self, count: int) -> tuple[float, float] | None:
        """next + submit; returns their latencies in ms, or None when nothing is left."""
        start = time.perf_counter()
        status, _, body = await self.http.request("POST", "/api/annotation/next",
                                                  json.dumps({"count": count}).encode(), self.headers)
        middle = time.perf_counter()
        assert status == 200, (status, body[:300])
        leases = json.loads(body)["assignments"]
        if not leases:
            return None
        submit = json.dumps({"answers": ANSWERS, "time_spent_ms": random.randint(5000, 60000)}).encode()
        status, _, body = await self.http.request(
            "POST", f"/api/annotation/assignments/{leases[0]['assignment_id']}/submit", submit, self.headers)
        end = time.perf_counter()
        assert status == 200, (status, body[:300])
        return (middle - start) * 1000, (end - middle) * 1000


async def drive(annotators: list[Annotator], warmup: float, seconds: float, count: int, server_cpu) -> dict:
    for a in annotators:
        await a.log_in()
    next_ms: list[float] = []
    submit_ms: list[float] = []
    measuring = {"on": False, "cycles": 0}
    stop_at = time.perf_counter() + warmup + seconds

    async def loop(annotator: Annotator) -> None:
        while time.perf_counter() < stop_at:
            result = await annotator.cycle(count)
            if result is None:
                return
            if measuring["on"]:
                next_ms.append(result[0])
                submit_ms.append(result[1])
                measuring["cycles"] += 1

    async def clock() -> None:
        await asyncio.sleep(warmup)
        await asyncio.to_thread(refresh_statistics)
        measuring["on"] = True
        measuring["started"] = time.perf_counter()
        measuring["cpu"] = time.process_time()
        measuring["server_cpu"] = server_cpu()

    await asyncio.gather(clock(), *(loop(a) for a in annotators))
    elapsed = time.perf_counter() - measuring["started"]
    client_cpu = time.process_time() - measuring["cpu"]
    server_cpu_used = server_cpu() - measuring["server_cpu"]
    for a in annotators:
        a.http.close()
    return {"cycles": measuring["cycles"], "elapsed": elapsed, "client_cpu": client_cpu, "server_cpu": server_cpu_used,
            "next_ms": next_ms, "submit_ms": submit_ms}


def refresh_statistics() -> None:
    """ANALYZE the engine's tables, as autovacuum does on a live database.

    The seed analyzes empty lease and annotation tables; prepared statements planned from those
    statistics scan them sequentially, and on a server with autovacuum off (as on the CI
    machine) nothing would ever replan them. Runs in its own thread: Django's connections are
    per thread and the event loop may not block on one.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_assignment, annotation_annotation, annotation_pair")
    connection.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)], 1) if ordered else float("nan")


# --- data, server, checks ---------------------------------------------------------------------

def seed(pairs_per_campaign: int, overlaps: list[int], annotators: int, gold_pairs: int):
    """Prompts, videos, one campaign of `pairs_per_campaign` pairs per overlap, users with tokens."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotation.models import Campaign, Pair
    from generation.models import Generator, Prompt, Video, stable_id, text_hash
    from safesora.db import bulk_insert
    from safesora.models import ApiToken
    from safesora.roles import CROWDWORKER, ensure_role_groups

    per_prompt = 5  # pairs per prompt: videos i and i + 1 of six videos
    n_prompts = -(-(pairs_per_campaign + gold_pairs) // per_prompt)
    generators = [Generator.objects.create(name=f"bench-{i}", family="wan", pipeline_class="WanPipeline")
                  for i in range(2)]
    prompts = []
    for i in range(n_prompts):
        text = f"bench prompt number {i}: a fox crosses a neon street at night"
        prompts.append(Prompt(id=text_hash(text), text=text, text_hash=text_hash(text), prompt_type="safety_neutral"))
    bulk_insert(Prompt, prompts)
    videos = [Video(id=stable_id("bench-video", p.id, j), prompt_id=p.id, generator=generators[j % 2],
                    video_text=p.text, file=f"videos/{p.id}/{j}.mp4", fps=8, num_frames=16, width=64, height=64,
                    duration=2.0, sha256="0" * 64) for p in prompts for j in range(per_prompt + 1)]
    bulk_insert(Video, videos)
    campaigns = {}
    for overlap in overlaps:
        campaign = Campaign.objects.create(name=f"bench overlap {overlap}", overlap=overlap, gold_rate=0.1,
                                           lease_seconds=900)
        rows = []
        for k in range(pairs_per_campaign + gold_pairs):
            prompt, j = prompts[k // per_prompt], k % per_prompt
            first = (k // per_prompt) * (per_prompt + 1) + j
            v0, v1 = videos[first], videos[first + 1]
            gold = k >= pairs_per_campaign
            rows.append(Pair(id=stable_id("pair", campaign.pk, v0.id, v1.id), campaign=campaign, prompt_id=prompt.id,
                             video_0=v0, video_1=v1, required_annotations=overlap, claimed_count=0,
                             annotation_count=0, is_gold=gold, gold_answers=GOLD_ANSWERS if gold else None))
        bulk_insert(Pair, rows)
        campaigns[overlap] = campaign
    ensure_role_groups()
    group = Group.objects.get(name=CROWDWORKER)
    users, tokens = [], {}
    hashed = get_user_model()(username="x")
    hashed.set_password(PASSWORD)  # one hash for all: the bench measures the engine, not PBKDF2
    for i in range(annotators):
        user = get_user_model().objects.create(username=f"annotator{i:02d}", password=hashed.password)
        user.groups.add(group)
        tokens[user.username] = ApiToken.issue(user)
        users.append(user)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return campaigns, users, tokens


def server_setting(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_gunicorn(port: int, args) -> tuple[subprocess.Popen, list[str]]:
    command = [sys.executable, "-m", "gunicorn", "safesora.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30",
               "--backlog", "256", "--log-level", "warning"]
    env = {**os.environ, "DATABASE_URL": database_url(), "DB_CONN_MAX_AGE": "600", "DEBUG": "false",
           "CACHE_URL": args.cache_url,
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError("gunicorn did not start")
    return server, command


def process_tree_cpu(root_pid: int) -> float:
    """User + system CPU seconds of a process and its children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def over_assigned(campaign) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT
              (SELECT count(*) FROM (
                 SELECT a.pair_id FROM annotation_assignment a JOIN annotation_pair p ON p.id = a.pair_id
                 WHERE p.campaign_id = %(c)s AND NOT p.is_gold AND a.state IN ('active', 'submitted')
                 GROUP BY a.pair_id, p.required_annotations HAVING count(*) > p.required_annotations) x),
              (SELECT count(*) FROM annotation_pair p WHERE p.campaign_id = %(c)s AND NOT p.is_gold AND
                 p.claimed_count <> (SELECT count(*) FROM annotation_assignment a
                                     WHERE a.pair_id = p.id AND a.state IN ('active', 'submitted'))),
              (SELECT count(*) FROM annotation_pair p WHERE p.campaign_id = %(c)s AND
                 p.annotation_count > p.required_annotations),
              (SELECT count(*) FROM annotation_annotation an JOIN annotation_pair p ON p.id = an.pair_id
                 WHERE p.campaign_id = %(c)s),
              (SELECT count(*) FROM annotation_assignment a JOIN annotation_pair p ON p.id = a.pair_id
                 WHERE p.campaign_id = %(c)s AND a.state = 'submitted')
        """, {"c": campaign.pk})
        over, drift, over_annotated, annotations, submitted = cursor.fetchone()
    return {"over_assigned": over + over_annotated, "counter_drift": drift,
            "annotations": annotations, "submitted_leases": submitted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--gold-pairs", type=int, default=100)
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument("--overlaps", default="1,3")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--count", type=int, default=2, help="pairs asked per next (the UI asks 2: show + preload)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread, keep-alive)")
    parser.add_argument("--auth", choices=["session", "token"], default="session")
    parser.add_argument("--cache-url", default=os.environ.get("CACHE_URL") or os.environ.get("TEST_REDIS_URL", ""),
                        help="Redis for the server's cache and sessions, as in production (default: CACHE_URL, "
                             "else TEST_REDIS_URL; empty: sessions from the database only)")
    args = parser.parse_args()
    overlaps = [int(o) for o in args.overlaps.split(",")]
    setup_django()

    with scratch_database():
        t0 = time.perf_counter()
        campaigns, users, tokens = seed(args.pairs, overlaps, args.annotators, args.gold_pairs)
        print(f"seeded {args.pairs} pairs (+{args.gold_pairs} gold) per campaign for overlaps {overlaps} "
              f"in {time.perf_counter() - t0:.1f}s", flush=True)
        port = free_port()
        server, command = start_gunicorn(port, args)
        gunicorn = " ".join(command[command.index("safesora.wsgi:application"):])
        sessions = "cached_db (Redis)" if args.cache_url else "db"
        print(f"gunicorn {gunicorn}  (worker class {'gthread' if args.threads > 1 else 'sync'}, "
              f"DB_CONN_MAX_AGE=600, sessions {sessions})", flush=True)
        figures: dict = {"pairs": args.pairs, "gold_pairs": args.gold_pairs, "annotators": args.annotators,
                         "auth": args.auth, "pairs_per_next": args.count, "gunicorn": gunicorn,
                         "sessions": sessions,
                         "client": "hand-written HTTP/1.1 keep-alive over asyncio streams",
                         "cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0],
                         "server_autovacuum": server_setting("autovacuum"),
                         "statistics": "ANALYZE of the engine's tables after each warm-up"}
        try:
            for overlap in overlaps:
                campaign = campaigns[overlap]
                for other in campaigns.values():
                    other.workers.clear()
                campaign.workers.add(*users)
                annotators = [Annotator("127.0.0.1", port, u.username, args.auth, tokens[u.username]) for u in users]
                result = asyncio.run(drive(annotators, args.warmup, args.seconds, args.count,
                                           lambda: process_tree_cpu(server.pid)))
                checks = over_assigned(campaign)
                cycles = result["cycles"]
                prefix = f"overlap_{overlap}"
                figures.update({
                    f"{prefix}_cycles_per_second": round(cycles / result["elapsed"], 1),
                    f"{prefix}_cycles": cycles,
                    f"{prefix}_next_p50_ms": percentile(result["next_ms"], 0.50),
                    f"{prefix}_next_p99_ms": percentile(result["next_ms"], 0.99),
                    f"{prefix}_submit_p50_ms": percentile(result["submit_ms"], 0.50),
                    f"{prefix}_submit_p99_ms": percentile(result["submit_ms"], 0.99),
                    f"{prefix}_over_assigned_pairs": checks["over_assigned"],
                    f"{prefix}_counter_drift_pairs": checks["counter_drift"],
                    f"{prefix}_annotations": checks["annotations"],
                    f"{prefix}_client_cpu_ms_per_cycle": round(1000 * result["client_cpu"] / max(cycles, 1), 2),
                    f"{prefix}_gunicorn_cpu_ms_per_cycle": round(1000 * result["server_cpu"] / max(cycles, 1), 2),
                })
                assert checks["over_assigned"] == 0 and checks["counter_drift"] == 0, checks
                assert checks["annotations"] == checks["submitted_leases"], checks
                print(f"overlap {overlap}: {figures[f'{prefix}_cycles_per_second']} cycles/s", flush=True)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        figures["load_average_after"] = os.getloadavg()[0]
        figures["peak_rss_mb_bench_process"] = round(peak_rss_mb())
        write_result("annotation_throughput", figures)


if __name__ == "__main__":
    main()
