"""The event log (compiled): rows of (time s, event code, value) appended by world and FSW."""

from touchdown._compile import kernel


@kernel
def log_event(events, n_events, t, code, value):
    """Append (t, code, value) to events (float64 [MAX, 3]); n_events is int64[1]. Full: dropped."""
    k = n_events[0]
    if k < events.shape[0]:
        events[k, 0] = t
        events[k, 1] = code
        events[k, 2] = value
        n_events[0] = k + 1
