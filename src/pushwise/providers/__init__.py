"""Provider adapters: one per channel, each behind the `Provider` protocol."""
