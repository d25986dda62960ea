"""`edge-infer MODEL [SOURCE] --serve [HOST:]PORT`: a live page, an HTTP API, metrics and label events.

Torch-free like the rest of the runtime. Starlette, uvicorn and prometheus_client come with the
optional extra `edge-classifier[serve]` and are imported only when a server starts.
"""

from edge.serve.options import ServeOptions, make_options
from edge.serve.run import Service, check_live, serve, watch

__all__ = ["ServeOptions", "Service", "check_live", "make_options", "serve", "watch"]
