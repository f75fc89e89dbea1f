"""How the caller gets its answer: returned, posted early with `ack()`, or streamed."""
