"""Helpers shared by the benchmarks in bench/: not a benchmark itself (`make bench` skips files
starting with an underscore).

    from bench import _common as common

Everything here talks to 127.0.0.1 only, starts processes in their own session so they (and
their children) can be stopped by process group, and never touches a process it did not start.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SHARED = Path(os.environ.get("SMARTGALLERY_SHARED_DIR", REPO.parent / "shared")).resolve()
# A benchmark key only: 64 characters, never used outside a throw-away database.
BENCH_SECRET_KEY = "bench-" + "k" * 58


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# Environment --------------------------------------------------------------------------------


def configure(db_name: str, redis_db: int, *, scratch: Path) -> None:
    """Production settings (MariaDB + Redis) against a database of our own; media, indexes and
    static files in `scratch`. Values the caller already set in the environment win, except the
    database name, which is always `db_name` (the benchmark creates and drops it)."""
    server = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    os.environ["DATABASE_URL"] = f"{server.rstrip('/')}/{db_name}"
    if os.environ.get("BENCH_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    else:
        # A private redis-server: the shared one's databases are used by other test runs, whose
        # fixtures purge the Celery queues (our tasks vanished) and whose workers consume them.
        os.environ["REDIS_URL"] = start_private_redis(scratch) + f"/{redis_db}"
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ.setdefault("SECURE_SSL", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
    os.environ["MEDIA_ROOT"] = str(scratch / "media")
    os.environ["SMARTGALLERY_INDEX_DIR"] = str(scratch / "index")
    os.environ["STATIC_ROOT"] = str(scratch / "static")
    os.environ.setdefault("SMARTGALLERY_FACE_PACK", str(SHARED / "models" / "face_default"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "1")
    os.environ["PYTHONUNBUFFERED"] = "1"


def start_private_redis(scratch: Path) -> str:
    """redis-server on 127.0.0.1:<spare port>, no persistence, stopped when this process exits."""
    import atexit

    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(scratch),
            "--protected-mode",
            "yes",
        ],
        stdout=(scratch / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    atexit.register(stop_group, process, signal.SIGTERM, 10)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("private redis-server did not start")
        time.sleep(0.1)
    return f"redis://127.0.0.1:{port}"


def _server_connection():
    from urllib.parse import urlsplit

    import MySQLdb

    url = urlsplit(os.environ["DATABASE_URL"])
    return MySQLdb.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root", passwd=url.password or ""
    )


def create_database() -> None:
    """(Re)create the database named in DATABASE_URL, empty; then migrate and collect static."""
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    if not name.startswith("sg_bench"):
        raise SystemExit(f"refusing to recreate database {name!r}: benchmark databases start with sg_bench")
    db = _server_connection()
    cursor = db.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    db.close()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    if name.startswith("sg_bench"):
        db = _server_connection()
        db.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        db.close()


def flush_redis_db() -> None:
    """Empty our Redis database (broker queues, rate-limit counters, cached sessions)."""
    from django.core.cache import cache

    cache.clear()


# Processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def has_mapped(pid: int, needle: str) -> bool:
    """Whether a shared library whose path contains `needle` is loaded in the process."""
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop a process we started with start_new_session=True, and its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_worker(
    concurrency: int,
    env: dict[str, str],
    log_path: Path,
    *,
    app: str = "smartgallery",
    extra_args: list[str] | None = None,
    timeout: float = 90,
) -> subprocess.Popen:
    """A real `celery worker` on both queues; returns once it says `ready.`."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "-Q",
        "default,faces",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
        *(extra_args or []),
    ]
    start = log_path.stat().st_size if log_path.exists() else 0
    process = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while "ready." not in log_path.read_bytes()[start:].decode(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process, signal.SIGKILL)
            raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    stop_group(process, signal.SIGTERM, timeout=30)


class Gunicorn:
    """gunicorn with the production settings on 127.0.0.1:<spare port>, sync workers."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.workers = workers or (2 * (os.cpu_count() or 1) + 1)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "smartgallery.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--graceful-timeout",
            "10",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(
            args,
            cwd=REPO,
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/accounts/login/", timeout=5) as response:  # noqa: S310 (loopback)
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def rss(self) -> dict:
        workers = [rss_mib(pid) for pid in self.worker_pids()]
        workers = [w for w in workers if w is not None]
        return {
            "master_mib": rss_mib(self.process.pid),
            "workers_mib": workers,
            "worker_max_mib": max(workers) if workers else None,
        }

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGTERM, timeout=20)
            self.process = None


def get(url: str, cookie: str | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """One GET on loopback without following redirects."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("loopback only")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback, checked above)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Browser:
    """A cookie-keeping HTTP client for one user on loopback (stdlib http.client), enough for
    CSRF-protected form posts and multipart uploads. One per thread."""

    def __init__(self, base: str, session_key: str | None = None, timeout: float = 120) -> None:
        if not base.startswith("http://127.0.0.1:"):
            raise ValueError("loopback only")
        self.port = int(base.rsplit(":", 1)[1])
        self.timeout = timeout
        self.cookies: dict[str, str] = {"sessionid": session_key} if session_key else {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            all_headers = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location"), data
        finally:
            connection.close()

    def csrf(self, path: str) -> str:
        """GET a form page for the CSRF cookie; returns the token (the cookie's value)."""
        status, _, _ = self.request("GET", path)
        if status != 200 or "csrftoken" not in self.cookies:
            raise RuntimeError(f"GET {path}: HTTP {status}, no CSRF cookie")
        return self.cookies["csrftoken"]

    def post_form(self, path: str, fields: dict[str, str], headers: dict | None = None):
        from urllib.parse import urlencode

        body = urlencode(fields).encode()
        return self.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                **(headers or {}),
            },
        )

    def upload(self, path: str, filename: str, data: bytes, field: str = "files"):
        boundary = f"----sgbench{time.monotonic_ns()}"
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'.encode(),
                b"Content-Type: image/jpeg\r\n\r\n",
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.request(
            "POST",
            path,
            body,
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "HX-Request": "true",
            },
        )


# Users and sessions -------------------------------------------------------------------------


def create_verified_users(emails: list[str], password: str) -> list:
    """Users whose address is verified, as after sign-up (they can sign in with a password)."""
    from allauth.account.models import EmailAddress

    from accounts.models import User

    users = []
    for email in emails:
        user = User.objects.create_user(email, password)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        users.append(user)
    return users


def session_for(user) -> str:
    """A signed-in session created directly (what django.contrib.auth.login stores), so a
    benchmark skips the password + emailed code. Returns the session key (the cookie value)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


# wrk ----------------------------------------------------------------------------------------

_WRK_LUA = r"""
local paths = {%(paths)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"mean_us":%%.1f,"p50_us":%%d,"p90_us":%%d,' ..
    '"p95_us":%%d,"p99_us":%%d,"max_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
"""


def wrk(
    base: str,
    paths: list[str],
    cookie: str | None,
    *,
    seconds: int = 15,
    connections: int = 20,
    threads: int = 2,
    scratch: Path,
    headers: dict[str, str] | None = None,
) -> dict:
    """wrk against loopback: GETs cycling over `paths`; req/s, latency percentiles (ms), errors.
    `status` counts answers that are not 2xx/3xx."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("loopback only")
    script = scratch / f"wrk-{time.monotonic_ns()}.lua"
    script.write_text(_WRK_LUA % {"paths": ", ".join(json.dumps(p) for p in paths)})
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
    ]
    if cookie:
        args += ["-H", f"Cookie: sessionid={cookie}"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    args.append(base + paths[0])
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON ") :])
    return {
        "req_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "requests": raw["requests"],
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "kb_per_request": round(raw["bytes"] / max(1, raw["requests"]) / 1024, 1),
        "errors": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]},
    }


def percentiles_ms(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


# Photos -------------------------------------------------------------------------------------


def small_jpeg(width: int, height: int, seed: int, quality: int = 80) -> bytes:
    """A small JPEG with some structure (gradients + noise), different for every seed."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * (1 + seed % 5) + y) % 256, (y * 2 + seed * 37) % 256, (x + y * 3 + seed * 11) % 256], -1)
    pixels = (base + rng.normal(0, 12, (height, width, 3))).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_photos(count: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """12 MP JPEGs (4000x3000) from the shared face photos, upscaled, with sensor-like noise
    (bench/ingest.py's photos: the same bytes for the same count and seed)."""
    import numpy as np
    from PIL import Image

    sources = sorted(p for p in (SHARED / "faces").glob("*/*.jpg") if not p.parent.name.startswith("_"))
    rng = np.random.default_rng(seed)
    photos = []
    for index in range(count):
        source = sources[(index * 7) % len(sources)]
        image = Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 8, (3000, 4000, 3)).astype(np.int16)
        buffer = io.BytesIO()
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
        photos.append((f"bench-{index}.jpg", buffer.getvalue()))
    return photos


# Seeding ------------------------------------------------------------------------------------


def model_id_of_pack(pack: str) -> str:
    """The model id the engine gives faces of this pack (pack name + recogniser sha256[:12]),
    without loading the models in this process."""
    import hashlib

    folder = Path(pack)
    recogniser = next(p for p in sorted(folder.glob("*.onnx")) if not p.name.startswith("det_"))
    return f"{folder.resolve().name}:{hashlib.sha256(recogniser.read_bytes()).hexdigest()[:12]}"


def write_media(owner_id: int, media: Path) -> dict[str, list[str]]:
    """A few small real JPEGs per user that many rows share: thumbnails, previews, face crops."""
    files: dict[str, list[str]] = {"thumbnail": [], "preview": [], "crop": []}
    sizes = {"thumbnail": (320, 240, 8), "preview": (800, 600, 2), "crop": (112, 112, 4)}
    for kind, (width, height, count) in sizes.items():
        folder = "faces" if kind == "crop" else "derivatives"
        (media / str(owner_id) / folder).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            name = f"{owner_id}/{folder}/bench-{kind}-{k}.jpg"
            (media / name).write_bytes(small_jpeg(width, height, seed=owner_id * 100 + k))
            files[kind].append(name)
    return files


def seed_user(email: str, *, photos: int, faces: int, persons: int, groups: int, model_id: str, seed: int):
    """One user's library, bulk-created: photos (done, with thumbnails), persons, faces."""
    import numpy as np
    from django.conf import settings

    from accounts.models import User
    from faces.models import Face, FaceGroup, Person
    from gallery.models import Photo

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    user = User.objects.create_user(email, "bench-password-123456", display_name=email.split("@")[0])
    files = write_media(user.pk, Path(settings.MEDIA_ROOT))
    now = datetime.now(UTC)
    start = now - timedelta(days=5 * 365)
    step = (now - start) / max(1, photos)
    photo_rows = []
    for i in range(photos):
        taken = start + step * i + timedelta(seconds=rng.randint(0, 3600))
        photo_rows.append(
            Photo(
                owner=user,
                original=f"{user.pk}/originals/bench-{i:06d}.jpg",
                original_filename=f"IMG_{i:05d}.jpg",
                image_format="JPEG",
                sha256=f"{user.pk:08x}{i:056x}",
                file_size=3_600_000,
                width=4000,
                height=3000,
                taken_at=taken,
                camera="Bench Camera",
                thumbnail=files["thumbnail"][i % 8],
                preview=files["preview"][i % 2],
                status=Photo.Status.DONE,
                attempts=1,
                queued_at=now,
                started_at=now,
                finished_at=now,
                faces_model_id=model_id,
            )
        )
    Photo.objects.bulk_create(photo_rows, batch_size=2000)
    photo_ids = list(Photo.objects.filter(owner=user).order_by("id").values_list("id", flat=True))

    person_rows = Person.objects.bulk_create(
        [Person(owner=user, name=f"Person {k:03d} {rng.choice(['Ann', 'Bo', 'Cy', 'Di'])}") for k in range(persons)]
    )
    group_rows = FaceGroup.objects.bulk_create([FaceGroup(owner=user) for _ in range(groups)])
    # Zipf-like: a few people are in many photos, most in a few.
    weights = [1 / (k + 1) for k in range(persons)]
    vectors = nrng.normal(size=(faces, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    states = [
        (Face.State.AUTO, 55),
        (Face.State.CONFIRMED, 10),
        (Face.State.SUGGESTED, 8),
        (Face.State.UNKNOWN, 25),
        (Face.State.REJECTED_AS_FACE, 2),
    ]
    face_rows = []
    for i in range(faces):
        state = rng.choices([s for s, _ in states], [w for _, w in states])[0]
        person = rng.choices(person_rows, weights)[0] if state in ("auto", "confirmed", "suggested") else None
        group = group_rows[i % groups] if state == Face.State.UNKNOWN and group_rows and i % 3 == 0 else None
        x1, y1 = rng.uniform(0, 3500), rng.uniform(0, 2500)
        size = rng.uniform(40, 400)
        face_rows.append(
            Face(
                owner=user,
                photo_id=photo_ids[rng.randrange(len(photo_ids))] if i >= len(photo_ids) else photo_ids[i],
                x1=x1,
                y1=y1,
                x2=x1 + size,
                y2=y1 + size,
                landmarks=[[x1 + 10, y1 + 10]] * 5,
                det_score=0.9,
                size_px=int(size),
                sharpness=100.0,
                frontalness=0.8,
                recognisable=True,
                embedding=vectors[i].tobytes(),
                model_id=model_id,
                crop=files["crop"][i % 4],
                person=person,
                state=state,
                similarity=0.5 if person else None,
                margin=0.1 if person else None,
                group=group,
            )
        )
    Face.objects.bulk_create(face_rows, batch_size=2000)
    covers = {}
    for face_id, person_id in (
        Face.objects.filter(owner=user, state=Face.State.CONFIRMED).order_by("id").values_list("id", "person_id")
    ):
        covers.setdefault(person_id, face_id)
    for person in person_rows:
        person.cover_face_id = covers.get(person.id)
    Person.objects.bulk_update(person_rows, ["cover_face"], batch_size=500)
    return user


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"sg-bench-{prefix}-"))


def wait_processed(owner, count: int, timeout: float) -> bool:
    """Until `count` of the owner's photos are done or failed; False on timeout."""
    from gallery.models import Photo

    deadline = time.monotonic() + timeout
    while Photo.objects.filter(owner=owner, status__in=["done", "failed"]).count() < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


if __name__ == "__main__":
    # Not a benchmark; `make bench` skips it, and running it by hand does nothing.
    print(json.dumps({"bench": "_common", "note": "helpers only"}))
