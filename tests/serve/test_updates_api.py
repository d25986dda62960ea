"""POST /v1/model on a real server (uvicorn on 127.0.0.1, the versions on a real http.server): the token is
required, a good version is swapped in and answers /v1/classify, /v1/info and /metrics name it, a damaged
one is refused with a one-line 422 while the old model keeps answering."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from edge.runtime.classifier import Classifier
from edge.runtime.updates.swap import SwappableClassifier
from edge.runtime.updates.updater import Updater, UpdateSettings
from tests.runtime.update_fixtures import publish, static_server
from tests.serve.conftest import running_service

OLD, NEW, BAD = "a" * 64, "b" * 64, "d" * 64
TOKEN = "s3cret-token"


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 40, 90)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def holder(tiny_export, tmp_path):
    baseline = publish(tiny_export, tmp_path / "baseline", sha=OLD)
    holder = SwappableClassifier(Classifier(baseline / "model.onnx", threads=1, spin_wait=False))
    settings = UpdateSettings(source=None, state_dir=tmp_path / "state", baseline=baseline, every_s=0, trial_s=0.5)
    updater = Updater(holder, settings, lambda p: Classifier(p, threads=1, spin_wait=False), lambda m: None).start()
    yield holder
    updater.close()


def test_post_v1_model_swaps_in_a_good_version_and_refuses_a_damaged_one(holder, tmp_path):
    baseline = tmp_path / "baseline"
    publish(baseline, tmp_path / "pub" / "door", sha=NEW, bias=0.2)
    bad = publish(baseline, tmp_path / "pub" / "bad", sha=BAD)
    (bad / "model.onnx").write_bytes((bad / "model.onnx").read_bytes()[:5000])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with static_server(tmp_path / "pub") as (url, _log), running_service(holder, token=TOKEN) as service:
        api = service.url.rstrip("/")
        assert httpx.get(f"{api}/v1/info", headers=auth).json()["model_version"] == OLD[:12]
        assert httpx.post(f"{api}/v1/model", json={"from": url + "door/"}).status_code == 401
        answer = httpx.post(f"{api}/v1/model", json={"from": url + "door/"}, headers=auth, timeout=90)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "updated" and body["version"] == NEW[:12]
        assert body["self_test"]["frames"] > 0 and 0.0 <= body["self_test"]["agreement"] <= 1.0
        assert httpx.get(f"{api}/v1/info", headers=auth).json()["model_version"] == NEW[:12]
        metrics = httpx.get(f"{api}/metrics", headers=auth).text
        assert f'edge_model_info{{arch="mobilenet_v3_small",artifact="model.onnx",backend="onnxruntime",' \
               f'precision="fp32",version="{NEW[:12]}"}} 1.0' in metrics
        classified = httpx.post(f"{api}/v1/classify", content=jpeg(), headers={**auth, "Content-Type": "image/jpeg"})
        assert classified.status_code == 200 and classified.json()["label"]
        refused = httpx.post(f"{api}/v1/model", content=(url + "bad/").encode(), headers=auth, timeout=90)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert "\n" not in error and "truncated" in error and error.endswith(f"still running {NEW[:12]}")
        status = httpx.get(f"{api}/v1/model", headers=auth).json()
        assert status["model_version"] == NEW[:12] and status["updates"]["last"]["status"] == "refused"
        assert httpx.post(f"{api}/v1/classify", content=jpeg(), headers={**auth, "Content-Type": "image/jpeg"}).status_code == 200


def test_post_v1_model_needs_a_token_and_updates_turned_on(holder, make_client):
    client, _parts = make_client()  # a plain Classifier: no --update-from
    assert client.post("/v1/model").status_code == 404 and "--update-from" in client.post("/v1/model").json()["error"]
    assert client.get("/v1/model").json()["updates"] is None
    with running_service(holder) as service:  # updates on, but no --token
        answer = httpx.post(service.url + "v1/model")
        assert answer.status_code == 403 and "--token" in answer.json()["error"]
