"""Faults: what annotators see, and what the database keeps, while parts of the platform die.

Starts its own PostgreSQL (initdb + pg_ctl from /usr/lib/postgresql/*/bin, in a temporary folder,
on a spare port; as the `postgres` user when run as root) and its own redis-server on a spare
port (never the shared ones), migrates, seeds one campaign (overlap 3), serves the platform with
gunicorn and runs closed-loop annotators through the API: most log in with the login form and
use the session cookie and CSRF token, as the browser does; the rest use API tokens. Each cycle
is `next` + `submit`, plus every few cycles a page, the status and the history; one annotator
logs out and in again now and then. A request that fails is retried as a real client would (a
submit with the same lease: submits are idempotent).

Faults, one after another, with some quiet seconds around each:

1. `kill -9` of one gunicorn worker (the master starts another);
2. a PostgreSQL restart (`pg_ctl restart -m immediate`: a crash and recovery);
3. Redis down for 20 s (SIGKILL, started again empty);
4. `kill -9` of `manage.py export` halfway, then the same export again;
5. `kill -9` of a Celery generation worker (tiny-wan) in the middle of a job, then a new worker.

Per fault: submits sent, acknowledged (200), annotation rows found for them, acknowledged but
missing, duplicates, over-assigned pairs, counter drift, failed requests (anything but the
expected answer), the session requests' success rate while the fault lasted, and the seconds
from the end of the fault to the last failed request (0 when none failed after it ended).

    python bench/faults.py [--pairs 10000] [--annotators 8] [--token-annotators 2] [--redis-down 20]

Needs PostgreSQL's server binaries and redis-server installed; takes 6-8 minutes on two busy
cores. Writes bench/results/faults.json.
"""

import argparse
import asyncio
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from common import ROOT, write_result

PASSWORD = "bench-password-1"
ANSWERS = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
           "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_1",
           "video_0": {"is_safe": False, "categories": ["violence"]}, "video_1": {"is_safe": True, "categories": []}}
REQUEST_TIMEOUT = 15


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


# --- private services -------------------------------------------------------------------------

class Postgres:
    """A throwaway cluster: initdb in a temporary folder, trust auth, one port on 127.0.0.1."""

    def __init__(self, folder: Path):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1]).parent
        self.folder, self.port = folder, free_port()
        self.data, self.log = folder / "pgdata", folder / "postgres.log"
        # initdb refuses to run as root: run the server as `postgres` then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        self.folder.chmod(0o777)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N")
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
                   "-c max_connections=100 -c fsync=on")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "restart")

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class Redis:
    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# --- the annotators -------------------------------------------------------------------------

class Http:
    """One keep-alive HTTP/1.1 connection that reconnects after any error."""

    def __init__(self, port: int):
        self.port, self.reader, self.writer = port, None, None
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                      content_type: str = "application/json") -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, body, headers or {}, content_type),
                                          REQUEST_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            self.close()
            return 0, b""  # no answer: connection refused or reset, timeout

    async def _request(self, method, path, body, headers, content_type):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        if body:
            lines.append(f"Content-Type: {content_type}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed")
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                if val and "max-age=0" not in value.lower():
                    self.cookies[key] = val
                else:
                    self.cookies.pop(key, None)
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
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Record:
    """What the annotators did, with times (monotonic), shared with the main thread."""

    def __init__(self):
        # (sent at, auth, kind, ok, status, answered at)
        self.requests: list[tuple[float, str, str, bool, int, float]] = []
        self.submits: dict[int, dict] = {}  # assignment id -> {"sent": time, "acked": time | None}
        self.lock = threading.Lock()

    def request(self, sent: float, auth: str, kind: str, ok: bool, status: int) -> None:
        self.requests.append((sent, auth, kind, ok, status, time.monotonic()))


class Annotator:
    def __init__(self, port: int, username: str, token: str | None, record: Record, relogin_every: int = 0):
        self.http, self.username, self.token, self.record = Http(port), username, token, record
        self.auth = "token" if token else "session"
        self.headers: dict[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
        self.relogin_every = relogin_every

    async def call(self, kind: str, method: str, path: str, body: bytes = b"", expect=(200,), **kw) -> tuple:
        sent = time.monotonic()
        status, payload = await self.http.request(method, path, body, self.headers, **kw)
        self.record.request(sent, self.auth, kind, status in expect, status)
        return status, payload

    async def log_in(self) -> None:
        if self.token:
            return
        while True:
            self.http.cookies.clear()
            status, _ = await self.call("login page", "GET", "/accounts/login/")
            if status == 200 and "csrftoken" in self.http.cookies:
                form = urllib.parse.urlencode({"username": self.username, "password": PASSWORD,
                                               "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}).encode()
                status, _ = await self.call("login", "POST", "/accounts/login/", form, expect=(302,),
                                            content_type="application/x-www-form-urlencoded")
                if status == 302 and "sessionid" in self.http.cookies:
                    self.headers = {"X-CSRFToken": self.http.cookies["csrftoken"]}
                    return
            await asyncio.sleep(0.1)

    async def log_out(self) -> None:
        await self.call("logout", "POST", "/accounts/logout/", expect=(302,))

    async def submit(self, lease: int) -> None:
        body = json.dumps({"answers": ANSWERS, "time_spent_ms": random.randint(5000, 60000)}).encode()
        self.record.submits.setdefault(lease, {"sent": time.monotonic(), "acked": None})
        while True:
            status, _ = await self.call("submit", "POST", f"/api/annotation/assignments/{lease}/submit", body)
            if status == 200:
                self.record.submits[lease]["acked"] = time.monotonic()
                return
            if status in (401, 403) and not self.token:
                await self.log_in()
            elif status in (404, 409):  # not this worker's any more: nothing to retry
                return
            await asyncio.sleep(0.05)

    async def run(self, stop: threading.Event, think: float) -> None:
        await self.log_in()
        cycles = 0
        while not stop.is_set():
            status, payload = await self.call("next", "POST", "/api/annotation/next", b'{"count": 2}')
            if status != 200:
                if status in (401, 403) and not self.token:
                    await self.log_in()
                await asyncio.sleep(0.05)
                continue
            leases = json.loads(payload)["assignments"]
            if not leases:
                await asyncio.sleep(0.5)
                continue
            await self.submit(leases[0]["assignment_id"])
            cycles += 1
            if cycles % 5 == 0:
                if not self.token:  # the page is for the browser
                    await self.call("page", "GET", "/annotate/")
                await self.call("status", "GET", "/api/annotation/status")
                await self.call("history", "GET", "/api/annotation/history?limit=10")
            if self.relogin_every and cycles % self.relogin_every == 0:
                await self.log_out()
                await self.log_in()
            await asyncio.sleep(think)


def run_annotators(annotators: list[Annotator], stop: threading.Event, think: float) -> threading.Thread:
    def main() -> None:
        async def all_of_them():
            await asyncio.gather(*(a.run(stop, think) for a in annotators))
        asyncio.run(all_of_them())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread


# --- checks -------------------------------------------------------------------------------------

def fresh_connection() -> None:
    """This process's own connection may predate the PostgreSQL restart: open a new one."""
    from django.db import connection

    connection.close()


def database_checks(campaign, lease_ids: list[int], acked_ids: list[int]) -> dict:
    from annotation_throughput import over_assigned
    from django.db import connection

    fresh_connection()
    checks = over_assigned(campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT assignment_id FROM annotation_annotation WHERE assignment_id = ANY(%s)", [lease_ids])
        found = {row[0] for row in cursor.fetchall()}
        cursor.execute("""SELECT (SELECT count(*) FROM (SELECT 1 FROM annotation_annotation GROUP BY pair_id, user_id
                                                         HAVING count(*) > 1) a)
                               + (SELECT count(*) FROM (SELECT 1 FROM annotation_annotation GROUP BY assignment_id
                                                         HAVING count(*) > 1) b)""")
        duplicates = cursor.fetchone()[0]
    return {"rows_found": len(found), "acknowledged_missing": len(set(acked_ids) - found), "duplicates": duplicates,
            "over_assigned": checks["over_assigned"], "counter_drift": checks["counter_drift"]}


def summarize(record: Record, campaign, name: str, start: float, fault_start: float, fault_end: float,
              end: float, extra: dict | None = None) -> dict:
    with record.lock:
        requests = [r for r in record.requests if start <= r[0] < end]
        submits = {k: v for k, v in record.submits.items() if start <= v["sent"] < end}
    failed = [r for r in requests if not r[3]]
    during = [r for r in requests if fault_start <= r[0] <= fault_end and r[1] == "session"]
    # Recovered: every request sent after this moment succeeded (a request sent during the fault
    # may fail after its end; that is not slowness to recover).
    last_failure = max((r[0] for r in failed if r[5] >= fault_start), default=None)
    acked = [k for k, v in submits.items() if v["acked"] is not None]
    kinds: dict[str, int] = {}
    for r in failed:  # e.g. "submit 500", "next 0" (0: no answer)
        kinds[f"{r[2]} {r[4]}"] = kinds.get(f"{r[2]} {r[4]}", 0) + 1
    row = {"fault": name, "submits_sent": len(submits), "acknowledged": len(acked),
           **database_checks(campaign, list(submits), acked),
           "requests": len(requests), "failed_requests": len(failed),
           "session_requests_during_fault": len(during),
           "session_success_during_fault": round(sum(r[3] for r in during) / len(during), 4) if during else None,
           "failures": kinds, "fault_seconds": round(fault_end - fault_start, 2),
           "seconds_to_recover": round(max(0.0, last_failure - fault_end), 2) if last_failure else 0.0,
           **(extra or {})}
    print(json.dumps(row), flush=True)
    return row


# --- the run ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--annotators", type=int, default=8, help="annotators in all")
    parser.add_argument("--token-annotators", type=int, default=2, help="of which this many use API tokens")
    parser.add_argument("--think", type=float, default=0.02, help="seconds between an annotator's cycles")
    parser.add_argument("--quiet", type=float, default=6, help="seconds of normal work before and after each fault")
    parser.add_argument("--redis-down", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip", default="", help="comma-separated faults to leave out (gunicorn,postgres,redis,"
                                                   "export,celery)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and its logs")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    folder = Path(tempfile.mkdtemp(prefix="safesora-faults-"))
    pg, redis_server = Postgres(folder), Redis(folder)
    server = worker = None
    data_dir = folder / "data"
    try:
        pg.init()
        redis_server.start()
        subprocess.run([*pg.as_user, str(pg.bin / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                        "faults"], check=True)
        env = {**os.environ, "DATABASE_URL": pg.url("faults"), "DB_CONN_MAX_AGE": "600", "DEBUG": "false",
               "CACHE_URL": f"redis://127.0.0.1:{redis_server.port}/1",
               "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_server.port}/0",
               "SAFESORA_DATA_DIR": str(data_dir), "ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "ERROR",
               "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DJANGO_SETTINGS_MODULE": "safesora.settings"}
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "SAFESORA_DATA_DIR",
                                                "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")})
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

        import django

        django.setup()
        sys.path.insert(0, str(ROOT / "bench"))
        from annotation_throughput import seed
        from django.core.management import call_command

        t0 = time.perf_counter()
        campaigns, users, tokens = seed(args.pairs, [3], args.annotators, 100)
        campaign = campaigns[3]
        campaign.workers.add(*users)
        call_command("register_generators", tiny_only=True, verbosity=0)
        print(f"seeded {args.pairs} pairs at overlap 3 in {time.perf_counter() - t0:.1f}s", flush=True)

        port = free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "safesora.wsgi:application", "--bind", f"127.0.0.1:{port}",
                    "--workers", str(args.workers), "--threads", str(args.threads), "--keep-alive", "30",
                    "--log-level", "critical"]
        server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=(folder / "gunicorn.log").open("ab"))
        wait_port(port)

        record = Record()
        sessions = args.annotators - args.token_annotators
        annotators = [Annotator(port, u.username, tokens[u.username] if i >= sessions else None, record,
                                relogin_every=10 if i == 0 else 0) for i, u in enumerate(users)]
        stop = threading.Event()
        thread = run_annotators(annotators, stop, args.think)
        deadline = time.monotonic() + 120  # every annotator in and working before the first fault
        while sum(v["acked"] is not None for v in list(record.submits.values())) < 4 * args.annotators:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the annotators did not get going; see {folder / 'gunicorn.log'}")
            time.sleep(0.2)
        time.sleep(args.quiet)
        rows = []

        def phase(name: str, inject, extra=None) -> None:
            start = time.monotonic()
            time.sleep(args.quiet)
            fault_start = time.monotonic()
            outcome = inject() or {}
            fault_end = outcome.pop("fault_end", time.monotonic())
            time.sleep(args.quiet)
            end = time.monotonic()
            time.sleep(1.5)  # let the submits sent before `end` be answered
            rows.append(summarize(record, campaign, name, start, fault_start, fault_end, end, outcome))

        def kill_gunicorn_worker() -> dict:
            victim = children(server.pid)[0]
            os.kill(victim, signal.SIGKILL)
            return {}

        def restart_postgres() -> dict:
            pg.restart()
            return {}

        def redis_down() -> dict:
            redis_server.kill()
            time.sleep(args.redis_down)
            redis_server.start()
            return {}

        def kill_export() -> dict:
            from exports.models import ExportRun

            fresh_connection()

            command = [sys.executable, "manage.py", "export", "--name", "faults", "--no-videos", "--batch-prompts",
                       "5", "--include-incomplete", "--no-progress"]
            first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while not ExportRun.objects.filter(name="faults", progress_done__gt=0).exists():
                if first.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the export did not start")
                time.sleep(0.05)
            first.kill()
            first.wait()
            killed_at = time.monotonic()
            first_pk = ExportRun.objects.get(name="faults").pk
            again = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Recovered when the same name is accepted again: the new run exists.
            while not ExportRun.objects.filter(name="faults", pk__gt=first_pk).exists():
                if again.poll() is not None:
                    break
                time.sleep(0.02)
            accepted = time.monotonic() - killed_at
            _, stderr = again.communicate(timeout=600)
            states = list(ExportRun.objects.filter(name="faults").order_by("pk").values_list("state", flat=True))
            exports = data_dir / "exports"
            partials = [p.name for p in exports.iterdir() if ".partial-" in p.name] if exports.exists() else []
            return {"export_rerun_exit": again.returncode, "export_states": states,
                    "export_partials_left": len(partials), "export_name_accepted_after_s": round(accepted, 2),
                    **({"export_error": stderr.decode()[-300:]} if again.returncode else {})}

        def kill_generation_worker() -> dict:
            from generation import jobs
            from generation.models import GenerationJob, Generator, JobState, Prompt, Video
            from generation.tasks import enqueue

            log = folder / "celery.log"

            def start_worker() -> subprocess.Popen:
                offset = log.stat().st_size if log.exists() else 0
                process = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", "gen.tiny-wan", "--concurrency",
                     "1", "--prefetch-multiplier", "1", "-n", f"faults-{time.time_ns()}@%h", "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "-l", "INFO"],
                    cwd=ROOT, env={**env, "CELERY_VISIBILITY_TIMEOUT": "4", "LOG_LEVEL": "INFO"},
                    stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
                deadline = time.monotonic() + 120
                while "ready." not in log.read_text()[offset:]:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the Celery worker did not start; see {log}")
                    time.sleep(0.1)
                return process

            nonlocal worker
            fresh_connection()
            worker = start_worker()
            generator = Generator.objects.get(name="tiny-wan")
            created = jobs.create_jobs([Prompt.objects.order_by("id").first()], [generator], [0],
                                       params={"num_inference_steps": 300})
            job = created.get()
            enqueue(created)
            deadline = time.monotonic() + 120
            while not GenerationJob.objects.filter(id=job.id, state=JobState.RUNNING).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("the generation job did not start")
                time.sleep(0.05)
            time.sleep(0.5)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            worker = start_worker()
            fault_end = time.monotonic()
            deadline = time.monotonic() + 300
            while not GenerationJob.objects.filter(id=job.id, state__in=jobs.FINAL_STATES).exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            job.refresh_from_db()
            return {"fault_end": fault_end, "job_state": job.state, "job_attempts": job.attempts,
                    "job_done_after_restart_s": round(time.monotonic() - fault_end, 1),
                    "videos_of_job": Video.objects.filter(prompt=job.prompt, generator=generator).count()}

        faults = [("gunicorn", "kill -9 of a gunicorn worker", kill_gunicorn_worker),
                  ("postgres", "PostgreSQL restart (immediate)", restart_postgres),
                  ("redis", f"Redis down {args.redis_down:g} s", redis_down),
                  ("export", "kill -9 of an export", kill_export),
                  ("celery", "kill -9 of a Celery generation worker mid-job", kill_generation_worker)]
        for key, name, inject in faults:
            if key not in skip:
                print(f"--- {name}", flush=True)
                phase(name, inject)
        stop.set()
        thread.join(timeout=REQUEST_TIMEOUT + 5)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        from django.db import connections

        connections.close_all()
        if redis_server.process is not None:
            redis_server.kill()
        pg.stop()
        if args.keep:
            print(f"kept {folder} (logs: postgres.log, gunicorn.log, celery.log)")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    columns = ["submits_sent", "acknowledged", "rows_found", "acknowledged_missing", "duplicates", "over_assigned",
               "counter_drift", "failed_requests", "session_success_during_fault", "seconds_to_recover"]
    print("\n| fault | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for row in rows:
        print(f"| {row['fault']} | " + " | ".join(str(row[c]) for c in columns) + " |")
    targets_met = all(r["acknowledged_missing"] == 0 and r["duplicates"] == 0 and r["over_assigned"] == 0
                      and r["counter_drift"] == 0 and r["seconds_to_recover"] <= 2 for r in rows) and all(
        (r["session_success_during_fault"] or 0) >= 0.99 for r in rows if r["fault"].startswith("Redis"))
    write_result("faults", {"annotators": args.annotators, "token_annotators": args.token_annotators,
                            "pairs": args.pairs, "gunicorn": " ".join(gunicorn[3:]), "faults": rows,
                            "targets_met": targets_met})
    if not targets_met:
        sys.exit(1)


if __name__ == "__main__":
    main()
