"""Model updates that cannot brick the device (`edge-infer ... --update-from PATH|URL`).

- files: the export report's table of file hashes, and the model version;
- fetch: an export folder on disk or at an HTTP(S) URL, checked with ETag / If-Modified-Since;
- store: versions on disk, the `current` / `previous` / `trial` links switched atomically;
- check: what a downloaded version must pass before it is loaded (labels, an artifact for here, budget);
- self_test: the new model on the last frames the device saw, against the running one;
- swap: the classifier the live loop holds, swapped between two frames, watched for a minute;
- updater: the thread that runs all of it; startup: which version a (re)start runs.
"""
