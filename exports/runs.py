"""ExportRun state changes, in one place: create, run, cancel, and notice runs whose process died.

queued -> running -> succeeded | failed | cancelled. Every change is a conditional UPDATE on the
current state, so a cancel racing the end of a run leaves exactly one outcome (a release whose
run was cancelled at the last moment is removed).
"""

import logging
import os
import shutil
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ExportRun, ExportState
from .options import ExportOptions
from .release import ExportCancelled, ProgressFn, build_release, remove_partials_of, sweep_partials

log = logging.getLogger(__name__)

ACTIVE = (ExportState.QUEUED, ExportState.RUNNING)


def process_tag() -> str:
    """How the process executing a run is recorded on it (task_id), so its death can be noticed."""
    return f"pid:{socket.gethostname()}:{os.getpid()}"


def default_target(name: str) -> Path:
    return Path(settings.EXPORTS_ROOT) / name


def name_in_use(name: str, target: Path | None = None) -> str | None:
    """Why `name` cannot be used for a new export now, or None.

    A run whose process died (kill -9, a lost machine) is marked failed first, its partial folder
    removed, so it does not block its own name.
    """
    target = target or default_target(name)
    fail_dead_runs()
    if target.exists():
        return _("a release folder %(path)s already exists") % {"path": target}
    if ExportRun.objects.filter(output_path=str(target), state__in=ACTIVE).exists():
        return _("an export to %(path)s is already queued or running") % {"path": target}
    return None


def create_run(options: ExportOptions, user=None, target: Path | None = None) -> ExportRun:
    target = Path(target or default_target(options.name)).resolve()
    return ExportRun.objects.create(name=options.name, options=options.to_json(), created_by=user,
                                    output_path=str(target))


def enqueue(options: ExportOptions, user=None) -> ExportRun:
    """Create a run and hand it to a Celery worker (queue cpu) once the transaction commits."""
    from .tasks import run_export

    run = create_run(options, user)

    def send() -> None:
        from safesora.celery import BrokerUnavailable

        try:
            result = run_export.delay(run.pk)
        except BrokerUnavailable as exc:  # Redis down: say so on the run instead of a 500
            log.error("export %s not sent to the workers: %s", run.pk, exc)
            ExportRun.objects.filter(pk=run.pk, state=ExportState.QUEUED).update(
                state=ExportState.FAILED, finished_at=timezone.now(),
                error=_("the task queue is unreachable (%(error)s); nothing was started, try again")
                % {"error": exc}, progress_message=_("not started"))
            return
        ExportRun.objects.filter(pk=run.pk, task_id="").update(task_id=result.id or "")

    transaction.on_commit(send)
    return run


def execute(run_id: int, *, progress: ProgressFn | None = None) -> ExportRun:
    """Run an export to the end. Used by the Celery task and the management command.

    A run already running is taken over (Celery redelivers a task whose worker died). Errors end
    in state `failed` with the error text; nothing half-written is left in the release folder.
    """
    fail_dead_runs()
    claimed = ExportRun.objects.filter(pk=run_id, state__in=ACTIVE).update(
        state=ExportState.RUNNING, started_at=timezone.now(), error="", progress_done=0,
        progress_message=_("starting"), task_id=process_tag(), heartbeat_at=timezone.now())
    run = ExportRun.objects.get(pk=run_id)
    if not claimed:
        log.info("export %s is %s; not running it", run_id, run.state)
        return run

    def report(done: int, total: int, message: str) -> None:
        ExportRun.objects.filter(pk=run_id).update(progress_done=done, progress_total=total,
                                                   progress_message=message[:200])
        if progress:
            progress(done, total, message)

    def cancelled() -> bool:
        return ExportRun.objects.filter(pk=run_id, state=ExportState.CANCELLED).exists()

    target = Path(run.output_path)
    try:
        options = ExportOptions.from_json(run.options)
        with heartbeat(run_id):
            manifest = build_release(options, target, progress=report, should_cancel=cancelled)
    except ExportCancelled:
        ExportRun.objects.filter(pk=run_id).update(finished_at=timezone.now(),
                                                   progress_message=_("cancelled; nothing was written"))
        return ExportRun.objects.get(pk=run_id)
    except Exception as exc:
        log.exception("export %s failed", run_id)
        ExportRun.objects.filter(pk=run_id, state=ExportState.RUNNING).update(
            state=ExportState.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}",
            progress_message=_("failed; nothing was written"))
        return ExportRun.objects.get(pk=run_id)
    done = ExportRun.objects.filter(pk=run_id, state=ExportState.RUNNING).update(
        state=ExportState.SUCCEEDED, finished_at=timezone.now(), manifest=manifest,
        progress_message=_("done"))
    if not done:  # cancelled while the last files were written: do not leave a release behind
        shutil.rmtree(target, ignore_errors=True)
    return ExportRun.objects.get(pk=run_id)


def cancel(run: ExportRun, user=None) -> bool:
    """Stop a queued or running export. A running one stops at its next batch and writes nothing."""
    who = getattr(user, "username", None) or _("an administrator")
    changed = ExportRun.objects.filter(pk=run.pk, state__in=ACTIVE).update(
        state=ExportState.CANCELLED, error=_("cancelled by %(who)s") % {"who": who},
        progress_message=_("cancelling"))
    if changed and run.task_id and not run.task_id.startswith("pid:"):
        from safesora.celery import app

        app.control.revoke(run.task_id)  # a queued task is then dropped by the worker
    return bool(changed)


@contextmanager
def heartbeat(run_id: int):
    """While the block runs, a thread records a sign of life on the run every few seconds.

    A run is dead when its process is gone (checked on its own host) or when it has been silent
    for EXPORT_DEAD_AFTER_SECONDS (seen from any host: a lost machine, a container elsewhere,
    a pid reused). Plain rows and timestamps, so SQLite and PostgreSQL behave the same.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.EXPORT_HEARTBEAT_SECONDS):
                ExportRun.objects.filter(pk=run_id, state=ExportState.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"export-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _process_gone(host: str, pid: int) -> bool:
    if host != socket.gethostname():
        return False  # not ours to look at: the heartbeat tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_dead_runs() -> int:
    """Mark running exports whose process died (killed, machine lost) as failed; remove their partial folders."""
    silent_since = timezone.now() - timedelta(seconds=settings.EXPORT_DEAD_AFTER_SECONDS)
    count = 0
    for run in ExportRun.objects.filter(state=ExportState.RUNNING, task_id__startswith="pid:"):
        try:
            host, pid = run.task_id.split(":")[1:]
            pid = int(pid)
        except ValueError:
            continue
        silent = run.heartbeat_at is not None and run.heartbeat_at < silent_since
        if not (_process_gone(host, pid) or silent):
            continue
        why = (_("the export process (pid %(pid)s) stopped before finishing; nothing was published") if not silent
               else _("the export process (pid %(pid)s on %(host)s) gave no sign of life since %(when)s; "
                      "nothing was published"))
        count += ExportRun.objects.filter(pk=run.pk, state=ExportState.RUNNING).update(
            state=ExportState.FAILED, finished_at=timezone.now(),
            error=why % {"pid": pid, "host": host, "when": run.heartbeat_at})
        remove_partials_of(Path(run.output_path), host, pid)
        sweep_partials(Path(run.output_path).parent)
    return count

