"""`edge bench`: every format of a run measured in one process (needs torch for the baseline)."""
