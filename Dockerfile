# imagecache: one image for every part (web, worker, maintenance, simulator).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY imagecache ./imagecache
COPY workers ./workers
# The client distribution the server depends on (pyproject.toml names it by its path, client/).
COPY client ./client
# Exactly what tests/integration/test_install.py proves serves: the built wheel, no extras.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && pip install --no-cache-dir --prefix=/install /dist/*.whl

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CACHE_PATH=/cache
RUN useradd --system --uid 10001 --home-dir /app imagecache \
    && mkdir -p /cache /app \
    && chown imagecache /cache /app
COPY --from=build /install /usr/local
WORKDIR /app
USER imagecache
VOLUME ["/cache"]
EXPOSE 8000
# Right for whichever part a container runs: the web over HTTP, the others by their own heartbeat (ops/health_check.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD ["imagecache", "health"]
ENTRYPOINT ["imagecache"]
CMD ["web", "--host", "0.0.0.0", "--port", "8000"]
