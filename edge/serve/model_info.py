"""`edge_model_info` on /metrics: the model that answers now, read at each scrape (an update shows at once)."""

from __future__ import annotations

from edge.runtime.updates.files import model_version


class ModelInfo:
    """A prometheus_client collector: edge_model_info{version, arch, artifact, backend, precision} 1."""

    def __init__(self, clf):
        self.clf = clf

    def describe(self):
        return []  # nothing up front: collect() reads the model held at scrape time

    def collect(self):
        from prometheus_client.core import InfoMetricFamily

        clf = self.clf
        yield InfoMetricFamily("edge_model", "The model answering now (version: its manifest's source_sha256[:12])",
                               value={"version": model_version(clf), "arch": clf.manifest.arch,
                                      "artifact": clf.path.name, "backend": clf.backend.name,
                                      "precision": clf.manifest.precision})
