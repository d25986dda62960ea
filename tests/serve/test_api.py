"""The HTTP API in process (Starlette's TestClient): every endpoint and every error code."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.conftest import real_photos

SCHEMA = {"source", "frame", "label", "unknown", "top", "latency_ms"}  # edge-infer --json (+ score when known)


def photo_bytes(i: int = 0) -> bytes:
    paths = [p for ps in real_photos(2).values() for p in ps]
    return paths[i % len(paths)].read_bytes()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (the pixels are never there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body


def test_classify_raw_body_matches_the_python_api(make_client, clf):
    client, _ = make_client()
    data = photo_bytes()
    response = client.post("/v1/classify", content=data, headers={"content-type": "image/jpeg"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert SCHEMA <= set(body) <= SCHEMA | {"score"}
    assert set(body["latency_ms"]) == {"decode", "preprocess", "inference"}
    expected = clf.predict(data, k=3)
    assert body["label"] == expected.label and len(body["top"]) == 3
    for got, (label, prob) in zip(body["top"], expected.top):
        assert got["label"] == label and got["prob"] == pytest.approx(prob, abs=1e-5)
    assert response.headers["server-timing"].startswith("queue;dur=")


def test_classify_multipart_and_k(make_client, clf):
    client, _ = make_client()
    data = photo_bytes(1)
    response = client.post("/v1/classify?k=2", files={"image": ("rose.jpg", data, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "rose.jpg" and len(body["top"]) == 2
    # any field name works when it carries a file
    response = client.post("/v1/classify?k=1", files={"upload": ("x.jpg", data, "image/jpeg")}, data={"note": "hi"})
    assert response.status_code == 200 and len(response.json()["top"]) == 1
    # every label is a valid k; one more is refused like k=0, naming the range (not clamped silently)
    assert len(client.post(f"/v1/classify?k={len(clf.labels)}", content=data).json()["top"]) == len(clf.labels)
    for k in (0, len(clf.labels) + 1, 99):
        body = assert_json_error(client.post(f"/v1/classify?k={k}", content=data), 400)
        assert f"from 1 to {len(clf.labels)}" in body["error"]


def test_image_bytes_sent_as_a_form_are_sniffed(make_client):
    """`curl --data-binary @rose.jpg` sends Content-Type application/x-www-form-urlencoded: the bytes decide."""
    client, _ = make_client()
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "application/json", ""):
        response = client.post("/v1/classify", content=photo_bytes(), headers={"content-type": content_type})
        assert response.status_code == 200, (content_type, response.text)


def test_a_broken_upload_is_not_told_to_remove_a_file(make_client):
    client, _ = make_client()
    data = photo_bytes()
    for cut in (data[:300], data[: len(data) // 2]):  # a broken header; a whole header and half the pixels
        body = assert_json_error(client.post("/v1/classify", content=cut, headers={"content-type": "image/jpeg"}), 400)
        assert "upload" in body["error"] and "not a readable image" in body["error"], body
        assert "remove" not in body["error"] and "send a complete image" in body["error"], body


@pytest.mark.parametrize("k", ["0", "-1", "abc", "1.5", "99999", "\u00b2", "4"])
def test_bad_k_is_400(make_client, k):
    client, _ = make_client()
    assert_json_error(client.post(f"/v1/classify?k={k}", content=photo_bytes()), 400)


def test_bad_bodies_get_one_line_json_errors_and_the_next_request_works(make_client):
    client, _ = make_client()
    strip = io.BytesIO()
    Image.new("RGB", (2100, 10)).save(strip, "PNG")
    cases = [
        (b"", "image/jpeg", 400),                                   # empty
        (b"hello, not an image at all", "application/octet-stream", 415),
        (b'{"image": 1}', "application/json", 415),
        (b"a=1&b=2", "application/x-www-form-urlencoded", 415),
        (photo_bytes()[:300], "image/jpeg", 400),                   # truncated JPEG
        (png_declaring(30000, 30000), "image/png", 400),            # decompression bomb header
        (png_declaring(0, 0), "image/png", 400),
        (strip.getvalue(), "image/png", 400),                       # 210:1 strip
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400),
        (b"--x--\r\n", "multipart/form-data; boundary=x", 400),     # no parts
        (b"", "multipart/form-data", 400),                          # no boundary
    ]
    for body, content_type, status in cases:
        assert_json_error(client.post("/v1/classify", content=body, headers={"content-type": content_type}), status)
    field_only = client.post("/v1/classify", data={"note": "no file here"},
                             files={"empty": ("", b"", "application/octet-stream")})
    assert field_only.status_code in (400, 415)
    assert client.post("/v1/classify", content=photo_bytes()).status_code == 200


def test_body_limit_413_from_header_and_from_stream(make_client):
    client, _ = make_client(max_body_mb=0.01)
    big = b"\xff\xd8" + b"\0" * 20_000
    assert_json_error(client.post("/v1/classify", content=big), 413)

    def chunks():  # no Content-Length: chunked transfer, counted while it arrives
        for _ in range(20):
            yield b"\0" * 1000

    assert_json_error(client.post("/v1/classify", content=chunks()), 413)
    assert_json_error(client.post("/v1/classify", content=b"x", headers={"content-length": "abc"}), 400)


def test_queue_full_is_503_with_retry_after(make_client):
    client, parts = make_client(queue=2)
    parts.worker.admitted = 2  # two requests in flight
    response = client.post("/v1/classify", content=photo_bytes())
    body = assert_json_error(response, 503)
    assert response.headers["retry-after"] == "1" and "busy" in body["error"]
    parts.worker.admitted = 0
    assert client.post("/v1/classify", content=photo_bytes()).status_code == 200
    assert "edge_rejected_requests_total 1.0" in client.get("/metrics").text


def test_info_healthz_metrics(make_client, clf):
    client, _ = make_client()
    info = client.get("/v1/info").json()
    assert info["labels"] == clf.labels and info["backend"] == "onnxruntime" and info["artifact"] == "model.onnx"
    fields = {"resize_size", "crop_size", "mean", "std", "interpolation", "decode", "frame_preprocess"}
    assert fields <= set(info["preprocessing"])
    assert info["live"] is False and "edge" in info["versions"] and "onnxruntime" in info["versions"]
    assert "/" not in info["artifact"]  # no file system paths given away
    health = client.get("/healthz").json()
    assert health["ready"] is True and health["source"] == "none" and health["last_frame_age_s"] is None
    client.post("/v1/classify", content=photo_bytes())
    client.get("/nope")
    text = client.get("/metrics").text
    assert 'edge_http_requests_total{route="/v1/classify",status="200"} 1.0' in text
    assert 'edge_http_requests_total{route="other",status="404"} 1.0' in text
    assert "edge_inference_seconds_bucket" in text and "edge_batch_size_count 1.0" in text
    assert 'edge_predictions_total{source="api"} 1.0' in text


def test_page_is_self_contained(make_client):
    client, _ = make_client()
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "stream.mjpg" in html and "v1/events" in html and 'name="viewport"' in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html  # no outside assets
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/static/index.html", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/edge/serve/app.py", "/index.html", "/stream.mjpg/../../etc/passwd", "//etc/passwd"])
def test_nothing_else_is_served(make_client, path):
    client, _ = make_client()
    response = client.get(path)
    assert_json_error(response, 404)
    assert "root:" not in response.text


def test_wrong_methods_and_no_live_source(make_client):
    client, _ = make_client()
    assert_json_error(client.get("/v1/classify"), 405)
    assert_json_error(client.post("/v1/info"), 405)
    assert_json_error(client.get("/stream.mjpg"), 404)  # API-only server: no live view


def test_token_required_when_set(make_client):
    client, _ = make_client(token="s3cret-token")
    for path in ("/", "/v1/info", "/metrics", "/v1/events", "/stream.mjpg"):
        response = client.get(path)
        assert_json_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert_json_error(client.post("/v1/classify", content=photo_bytes()), 401)
    assert_json_error(client.get("/v1/info", headers={"authorization": "Bearer wrong-token"}), 401)
    assert client.get("/v1/info", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
    assert client.get("/?token=s3cret-token").status_code == 200
    assert client.post("/v1/classify?token=s3cret-token", content=photo_bytes()).status_code == 200
    assert client.get("/healthz").status_code == 200  # probes need no secret


def test_timeout_waiting_for_the_worker_is_503(make_client, monkeypatch):
    import time

    client, parts = make_client(request_timeout_s=0.3)
    real = parts.clf.answers
    monkeypatch.setattr(parts.clf, "answers", lambda batch, k: (time.sleep(1.0), real(batch, k))[1])
    start = time.monotonic()
    response = client.post("/v1/classify", content=photo_bytes())
    assert_json_error(response, 503)
    assert time.monotonic() - start < 1.0 and "retry-after" in response.headers


def test_many_part_forms_and_the_body_budget(make_client):
    client, parts = make_client()
    form = b"".join(b'--x\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(500)) + b"--x--\r\n"
    body = assert_json_error(client.post("/v1/classify", content=form,
                                         headers={"content-type": "multipart/form-data; boundary=x"}), 400)
    assert "more than 64 parts" in body["error"]
    parts.worker.body_bytes = parts.worker.body_budget  # others' bodies fill the budget
    response = client.post("/v1/classify", content=photo_bytes())
    assert_json_error(response, 503)
    parts.worker.body_bytes = 0
    assert client.post("/v1/classify", content=photo_bytes()).status_code == 200
    assert client.head("/v1/events").status_code == 200  # HEAD answers at once, it never streams
