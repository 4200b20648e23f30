"""The delivery engine and what it is made of: buffers per source partition, the flusher
that writes a cut to every sink with retries, hooks, stats, and the assembly of them all
from a pipeline file. Sources read and ack; the engine does everything between."""
