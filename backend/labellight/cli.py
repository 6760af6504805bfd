"""`labellight run | serve | worker | worker-health | migrate | create-user | invite | import | bench | openapi`."""

import argparse
import getpass
import json
import os
import signal
import sys
from pathlib import Path

from labellight.config import get_settings

IMPORTABLE = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".zip", ".tar", ".tgz", ".gz"}


def _serve(host: str, port: int) -> None:
    import uvicorn

    from labellight.db.migrations import SchemaNotCurrent, check_schema_current

    try:
        check_schema_current()
    except SchemaNotCurrent as exc:
        sys.exit(f"labellight: {exc}")
    from labellight.logs import uvicorn_config

    uvicorn.run("labellight.api.app:create_app", factory=True, host=host, port=port, log_level="info",
                log_config=uvicorn_config(get_settings().log_format))


WORKER_APP = "labellight_worker.celery_app"  # named, not imported: the application never imports the worker


def _worker(queues: str, concurrency: int) -> None:
    argv = [sys.executable, "-m", "celery", "-A", WORKER_APP, "worker", "--loglevel=INFO", f"--queues={queues}",
            f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "-O", "fair"]
    os.execv(sys.executable, argv)


def _run(host: str, port: int) -> None:
    """The embedded mode: migrate, start one supervised worker process for both queues, serve the app.

    The worker goes with `run` however `run` ends: Ctrl-C, SIGTERM from a service manager or `kill`
    (uvicorn re-raises it after its graceful shutdown, and the handler below turns it into an exit that
    runs the ``finally``), or an error."""
    from labellight.db.migrations import upgrade_to_head
    from labellight.supervision import SupervisedWorker

    def exit_on(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, exit_on)
    worker = SupervisedWorker([sys.executable, "-m", "labellight.cli", "worker"], os.environ.copy(),
                              check_interval_s=get_settings().sweep_interval_seconds)
    try:
        upgrade_to_head()
        worker.start()
        _serve(host, port)
    finally:
        worker.stop()


def _worker_health(pid: int | None) -> None:
    from labellight.services.worker_health import check

    verdict = check(pid)
    print(f"labellight worker-health: {'healthy' if verdict.healthy else 'UNHEALTHY'}: {verdict.reason}")
    if not verdict.healthy:
        sys.exit(1)


def _create_user(email: str, password: str | None) -> None:
    from labellight.db.session import session_scope
    from labellight.services.accounts import create_user
    from labellight.services.errors import Conflict, InvalidInput

    password = password or os.environ.get("LABELLIGHT_PASSWORD") or getpass.getpass("Password: ")
    try:
        with session_scope() as session:
            user = create_user(session, email, password)
            print(f"created user {user.id} <{user.email}>")
    except (Conflict, InvalidInput) as exc:
        sys.exit(f"labellight: {exc}")


def _invite(days: float) -> None:
    from labellight.db.session import session_scope
    from labellight.services.invites import create_invite

    if days <= 0:
        sys.exit("labellight: --days must be a positive number")
    with session_scope() as session:
        code = create_invite(session, days)
    print(code)
    if get_settings().signup != "invite":
        print(f"note: sign-up on this server is '{get_settings().signup}'; invite codes are asked for only "
              "with LABELLIGHT_SIGNUP=invite", file=sys.stderr)


def _import(project_id: int, folder: Path) -> None:
    from labellight.db.models import Project, User
    from labellight.db.session import session_scope
    from labellight.services.uploads import IncomingFile, start_ingest

    if not folder.is_dir():
        sys.exit(f"labellight: {folder} is not a folder")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMPORTABLE)
    if not paths:
        sys.exit(f"labellight: no image or archive files under {folder}")
    with session_scope() as session:
        project = session.get(Project, project_id)
        owner = session.get(User, project.owner_id) if project else None
        if project is None or owner is None:
            sys.exit(f"labellight: project {project_id} does not exist")
        handles = [p.open("rb") for p in paths]
        try:
            files = [IncomingFile(str(p.relative_to(folder)), h) for p, h in zip(paths, handles, strict=True)]
            job = start_ingest(session, owner, project_id, files)
        finally:
            for handle in handles:
                handle.close()
        print(f"queued ingest job {job.id} with {len(paths)} files")
        print("class subfolders (folder/<class>/*, or archives holding them) become classes and labels: "
              "the job's result lists the classes created and counts the labels")


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def _add_bench_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("bench", help="label-efficiency benchmark on a train/<class>/ + test/<class>/ folder")
    p.add_argument("folder", type=Path, help="folder or .tar(.gz) archive: train/<class>/* and test/<class>/*")
    p.add_argument("--budgets", type=_int_list, default=[10, 20, 50, 100, 200], help="labels, comma-separated")
    p.add_argument("--strategies", default="auto,random,cold_start,probcover", help="comma-separated strategies")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--pretrain-minutes", type=float, default=20.0,
                   help="BYOL time budget; 0: no pretraining, the frozen pretrained start a user has after the upload")
    p.add_argument("--out", type=Path, default=Path("labellight-bench"), help="folder for JSON, markdown, PNG")
    p.add_argument("--weights", type=Path, help="a local backbone weights file for the frozen-features baseline")
    p.add_argument("--baselines", default="frozen_pretrained,raw_pixels,random_init,supervised_scratch",
                   help="comma-separated baselines scored on the random runs' labels ('' for none)")
    p.add_argument("--targets", type=_int_list, default=[],
                   help="test accuracies in %% for the labels-needed summary (default: random's curve)")


def _bench(args: argparse.Namespace) -> None:
    from labellight.bench.data import BenchInputError
    from labellight.bench.run import BenchSpec, run_benchmark
    from labellight.services.suggestions import Strategy

    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [n for n in names if n not in {s.value for s in Strategy}]
    if unknown:
        sys.exit(f"labellight: unknown strategies {unknown}; choose from {', '.join(s.value for s in Strategy)}")
    try:
        baselines = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
        spec = BenchSpec(args.budgets, [Strategy(n) for n in names], args.seeds, args.pretrain_minutes, args.weights,
                         baselines, tuple(t / 100 for t in args.targets))
        run_benchmark(args.folder, spec, args.out, log=lambda line: print(line, file=sys.stderr, flush=True))
    except BenchInputError as exc:
        sys.exit(f"labellight: {exc}")
    print((args.out / "results.md").read_text())
    print(f"wrote {args.out / 'results.json'}, {args.out / 'results.md'}, {args.out / 'learning_curve.png'}")


def openapi_document() -> str:
    """The API's OpenAPI document as stable JSON text (sorted keys): the source of the SPA's API types.
    It builds the app as the server does; nothing is connected, so no database or broker is needed."""
    from labellight.api.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _openapi(out: Path | None) -> None:
    text = openapi_document()
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="labellight", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "migrate, start a worker and serve (embedded mode)"),
                           ("serve", "serve the API and the web app")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
    p = sub.add_parser("worker", help="run a Celery worker")
    p.add_argument("--queues", default="cpu,gpu")
    p.add_argument("--concurrency", type=int, default=2)
    p = sub.add_parser("worker-health", help="exit 1 when a worker of this host is gone, frozen or stalled")
    p.add_argument("--pid", type=int, help="the worker's main process (default: the latest to report)")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    p = sub.add_parser("create-user", help="create a user account")
    p.add_argument("email")
    p.add_argument("--password", help="default: $LABELLIGHT_PASSWORD or a prompt")
    p = sub.add_parser("invite", help="print a one-time sign-up code (for LABELLIGHT_SIGNUP=invite)")
    p.add_argument("--days", type=float, default=7.0, help="how long the code stays valid")
    p = sub.add_parser("import", help="import a server-side folder of images into a project; its class "
                       "subfolders (folder/<class>/*) become classes and label their images")
    p.add_argument("project_id", type=int)
    p.add_argument("folder", type=Path)
    _add_bench_parser(sub)
    p = sub.add_parser("openapi", help="write the API's OpenAPI document (JSON, sorted keys)")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    if args.command == "bench":
        _bench(args)  # in a throw-away data folder of its own: nothing under the configured one
        return
    if args.command == "openapi":
        _openapi(args.out)  # touches no data folder
        return

    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    if args.command in ("run", "serve"):
        from labellight import logs

        logs.configure(get_settings().log_format)
    if args.command == "run":
        _run(args.host, args.port)
    elif args.command == "serve":
        _serve(args.host, args.port)
    elif args.command == "worker":
        _worker(args.queues, args.concurrency)
    elif args.command == "worker-health":
        _worker_health(args.pid)
    elif args.command == "migrate":
        from labellight.db.migrations import upgrade_to_head

        upgrade_to_head()
    elif args.command == "create-user":
        _create_user(args.email, args.password)
    elif args.command == "invite":
        _invite(args.days)
    elif args.command == "import":
        _import(args.project_id, args.folder)


if __name__ == "__main__":
    main()
