"""What happens when the live label changes: one debounced state per source (tracker), one `Change`
event, and the actions that hang off it (the --on-change webhook, MQTT with Home Assistant discovery),
each on its own thread behind a bounded queue, so none of them can slow the inference loop.

Torch-free; sits on edge.runtime, under edge.serve (which wires the webhook and /metrics to it).
"""
