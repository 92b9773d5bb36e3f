"""HTTP/2 clients behind the `Http2Transport` seam: pyreqwest (default) and a minimal `h2` fallback."""

from pushwise.providers.http2.h2_transport import H2Transport
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.http2.pyreqwest_transport import PyreqwestTransport

__all__ = ["ConnectionOptions", "H2Transport", "PyreqwestTransport"]
