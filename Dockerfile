# pushwise container image: `docker build -t pushwise .`
# One image for every role; the command picks it: `serve` (default: API and workers, one
# container), `api`, `worker`, `db upgrade`. See deploy/compose.yaml and deploy/kubernetes/.

# Build stage: the pushwise wheel and wheels of everything it depends on.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: the installed wheels only, no compilers or sources, run as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels pushwise
RUN groupadd --system --gid 10001 pushwise \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pushwise --create-home pushwise
USER 10001:10001
WORKDIR /var/lib/pushwise
# Listen beyond the container's loopback; the embedded SQLite default lives in the working directory.
ENV PUSHWISE_HOST=0.0.0.0 PUSHWISE_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PUSHWISE_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["pushwise"]
CMD ["serve"]
