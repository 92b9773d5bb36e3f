"""What pushwise knows about an app's users: events, interests, engagement, segments, preferences.

Pure: no I/O. The store feeds these functions in batches and keeps their results.
"""
