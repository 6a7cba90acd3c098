"""Signals other apps listen to, so that org never imports them."""

from django.dispatch import Signal

# Sent by refresh_school_counts with `school_ids`: schools that gained their first built class or
# lost their last one (a Banbantong school became one, or stopped being one).
banbantong_status_changed = Signal()
