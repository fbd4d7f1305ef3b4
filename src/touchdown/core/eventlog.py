"""The event log (compiled): rows (``EVENT``: time s, event code, value) appended by world and
FSW."""

from touchdown._compile import kernel
from touchdown.core.layout import E_CODE, E_T, E_VALUE


@kernel
def log_event(events, n_events, t, code, value):
    """Append (t, code, value) to events (float64 [MAX_EVENTS, N_EVENT]); n_events is int64[1].
    Full: dropped."""
    k = n_events[0]
    if k < events.shape[0]:
        events[k, E_T] = t
        events[k, E_CODE] = code
        events[k, E_VALUE] = value
        n_events[0] = k + 1
