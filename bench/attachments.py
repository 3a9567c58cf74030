"""Attachment figures, printed as JSON.

    .venv/bin/python bench/attachments.py [--quick]

- `upload_mb_per_s`: a 25 MB file through `POST /api/upload` of a real `hermes web`, on
  loopback (median of several, each file different so none is deduplicated).
- `upload_rss_growth_mb`: how much the server's resident memory grew during those uploads
  (sampled every 5 ms): the body streams to disk, so it must stay far below the file's size.
- `ten_images_ms`: what a message with ten 1 MB images adds before the provider call:
  turning its attachment parts into data URLs (`attachment_content.expand`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import ms

# isort: split
import psutil

from hermes_agent.attachment_content import expand, user_content
from hermes_agent.attachments import AttachmentStore
from tests.support import ServerProcess

BOUNDARY = "bench-boundary"
TARGETS = {"upload_mb_per_s": 100.0, "upload_rss_growth_mb": 5.0, "ten_images_ms": 50.0}


def _multipart(data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def bench_upload(runs: int) -> dict[str, float]:
    import http.client

    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root))
        server.start()
        try:
            process = psutil.Process(server.proc.pid)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
            conn.request("POST", "/api/upload", _multipart(b"warm"), headers)
            conn.getresponse().read()
            baseline, peak = process.memory_info().rss, [0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.005):
                    peak[0] = max(peak[0], process.memory_info().rss)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            rates = []
            for _ in range(runs):
                body = _multipart(os.urandom(25 * 1024 * 1024))
                start = time.perf_counter()
                conn.request("POST", "/api/upload", body, headers)
                reply = conn.getresponse()
                reply.read()
                assert reply.status == 200, reply.status
                rates.append(25 / (time.perf_counter() - start))
            stop.set()
            sampler.join()
        finally:
            server.stop()
    return {
        "upload_mb_per_s": round(statistics.median(rates), 1),
        "upload_rss_growth_mb": round(max(0, peak[0] - baseline) / 2**20, 2),
    }


def bench_ten_images(runs: int) -> dict[str, float]:
    from PIL import Image

    with tempfile.TemporaryDirectory() as root:
        store = AttachmentStore(Path(root))
        files = []
        for i in range(10):
            path = Path(root) / f"{i}.png"
            Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3)).save(path)
            files.append(store.add_file(path).public())
        message = {"role": "user", "content": user_content("Compare these", files)}
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            expand([message], store, sees_images=True)
            times.append(time.perf_counter() - start)
    return {"ten_images_ms": ms(statistics.median(times))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 3 if parser.parse_args().quick else 7
    figures = {**bench_upload(runs), **bench_ten_images(runs * 3)}
    print(json.dumps({"figures": figures, "targets": TARGETS}, indent=2))


if __name__ == "__main__":
    main()
