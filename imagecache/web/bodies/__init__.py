"""Request bodies read whole, bounded and never for ever: JSON bodies, streamed uploads, stalled bodies."""
