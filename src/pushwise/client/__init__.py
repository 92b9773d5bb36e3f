"""The Python client of pushwise's HTTP API v1 (API.md, "Pinned for tools and studies").

    from pushwise.client import Client

    with Client("http://127.0.0.1:8080", server_key) as pushwise:
        device = pushwise.register_device(platform="ios", token=apns_token, user_id="u1")
        sent = pushwise.send_notification(to={"user_ids": ["u1"]}, content={"title": "Shipped"})
        print(pushwise.get_notification(sent.id).counts)

`AsyncClient` has the same methods as coroutines. Errors raise `PushwiseError` (`.status`,
`.code`) after retries of 429 and 5xx that honour `Retry-After`. See docs/client.md.
"""

from pushwise.client.asynchronous import AsyncClient
from pushwise.client.errors import PushwiseConnectionError, PushwiseError
from pushwise.client.retrying import Retries
from pushwise.client.sync import Client

__all__ = ["AsyncClient", "Client", "PushwiseConnectionError", "PushwiseError", "Retries"]
