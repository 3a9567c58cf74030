"""Session store and session API figures, printed as JSON (medians unless named otherwise).

    .venv/bin/python bench/sessions.py [--quick]

In process: `Session.save()` with the index and `all_sessions()` warm and cold at N = 100,
1,000 and 10,000 saved sessions; save and load of a 5,000-message session. Over HTTP against
a real server holding 1,000 sessions: the full sidebar list, import throughput from one client
and from 8 concurrent client processes, undo on a 200-message session, and idle RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import Client, median_ms, ms

# isort: split
from api import models, session_index
from api.storage import dumps_file
from tests.support import ServerProcess


def sample_messages(count: int, chars: int) -> list[dict]:
    text = ("lorem ipsum dolor sit amet " * (chars // 27 + 1))[:chars]
    now = time.time()
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text, "timestamp": now + i}
        for i in range(count)
    ]


def populate(session_dir: Path, count: int) -> None:
    """Write `count` session files directly (as an earlier server would have left them)."""
    session_dir.mkdir(parents=True, exist_ok=True)
    messages = sample_messages(6, 200)
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for i in range(count):
        s = models.Session(session_id=f"bench{i:06d}", title=f"Session {i}", messages=messages)
        path = session_dir / f"{s.session_id}.json"
        path.write_bytes(dumps_file(s.to_dict()))
        os.utime(path, ns=(an_hour_ago, an_hour_ago))


def point_store_at(session_dir: Path) -> None:
    session_index.close_current()
    models.SESSION_DIR = session_dir
    models.SESSION_INDEX_FILE = session_dir / "_index.json"
    models.SESSIONS.clear()


def bench_store(n: int, workdir: Path, runs: int) -> dict:
    session_dir = workdir / f"store-{n}" / "sessions"
    populate(session_dir, n)
    point_store_at(session_dir)
    start = time.perf_counter()
    models.all_sessions()
    first_load = time.perf_counter() - start
    session_index.close_current()  # writes the index the rebuild produced

    cold_times = []
    for _ in range(max(3, runs // 20)):
        session_index.close_current()
        start = time.perf_counter()
        models.all_sessions()
        cold_times.append(time.perf_counter() - start)
    cold_ms = ms(statistics.median(cold_times))
    warm_ms = median_ms(models.all_sessions, runs)
    target = models.get_session("bench000000")
    save_ms = median_ms(target.save, runs)
    session_index.close_current()
    return {
        "save_ms": save_ms,
        "all_sessions_warm_ms": warm_ms,
        "all_sessions_cold_ms": cold_ms,
        "index_rebuild_ms": ms(first_load),
    }


def bench_big_session(workdir: Path, runs: int) -> dict:
    session_dir = workdir / "big" / "sessions"
    session_dir.mkdir(parents=True)
    point_store_at(session_dir)
    s = models.Session(title="Big", messages=sample_messages(5000, 500))
    s.save()
    size = s.path.stat().st_size
    return {
        "messages": 5000,
        "file_mb": round(size / 1e6, 2),
        "save_ms": median_ms(s.save, runs),
        "load_ms": median_ms(lambda: models.Session.load(s.session_id), runs),
    }


IMPORT_BODY = {"title": "imported", "messages": sample_messages(4, 200), "model": "bench"}


def import_worker(args: tuple[int, int]) -> None:
    port, count = args
    client = Client(port)
    for _ in range(count):
        client.call("POST", "/api/session/import", IMPORT_BODY)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def bench_http(workdir: Path, runs: int) -> dict:
    server = ServerProcess(workdir / "http")
    populate(server.state_dir / "sessions", 1000)
    server.start()
    try:
        time.sleep(1.0)
        idle_rss = rss_kb(server.proc.pid)
        client = Client(server.port)
        listed = client.call_json("GET", "/api/sessions")
        list_ms = median_ms(lambda: client.call("GET", "/api/sessions"), runs)

        count = runs * 4
        start = time.perf_counter()
        import_worker((server.port, count))
        sequential = count / (time.perf_counter() - start)

        per_client = count // 8
        with multiprocessing.get_context("spawn").Pool(8) as pool:
            pool.map(import_worker, [(server.port, 2)] * 8)  # connect and warm up
            start = time.perf_counter()
            pool.map(import_worker, [(server.port, per_client)] * 8)
            concurrent = per_client * 8 / (time.perf_counter() - start)

        undo_body = {"title": "undo", "messages": sample_messages(200, 200)}
        sid = client.call_json("POST", "/api/session/import", undo_body)["session"]["session_id"]
        undo = {"session_id": sid}
        undo_ms = median_ms(lambda: client.call("POST", "/api/session/undo", undo), 90)
        return {
            "sessions": len(listed["sessions"]),
            "get_sessions_ms": list_ms,
            "import_sequential_rps": round(sequential, 1),
            "import_8_clients_rps": round(concurrent, 1),
            "undo_200_messages_ms": undo_ms,
            "rss_idle_mb": round(idle_rss / 1024, 1),
            "rss_after_load_mb": round(rss_kb(server.proc.pid) / 1024, 1),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, N up to 1,000")
    args = parser.parse_args()
    runs = 30 if args.quick else 200
    sizes = (100, 1000) if args.quick else (100, 1000, 10_000)
    with tempfile.TemporaryDirectory(prefix="hermes-bench-") as tmp:
        workdir = Path(tmp)
        results = {
            "store": {str(n): bench_store(n, workdir, runs) for n in sizes},
            "big_session": bench_big_session(workdir, min(runs, 50)),
            "http_1000": bench_http(workdir, min(runs, 100)),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
