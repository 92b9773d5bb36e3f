"""The delivery engine: acceptance, the dispatcher loop, provider resolution."""
