# syntax=docker/dockerfile:1
# zenpro API server. Build: docker build -t zenpro .
# Run alone (SQLite in the /data volume):
#   docker run -p 8080:8080 -v zenpro-data:/data -e ZENPRO_ADMIN_PASSWORD=… \
#     zenpro zenpro serve --migrate --host 0.0.0.0 --port 8080
# With PostgreSQL, Redis and several instances: see docker-compose.yml.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# pyproject.toml names README.md as the package's readme, so the build needs it.
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ZENPRO_HOME=/app \
    ZENPRO_DATABASE_URL=sqlite+aiosqlite:////data/zenpro.db
RUN groupadd --system --gid 10001 zenpro \
 && useradd --system --uid 10001 --gid zenpro --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin zenpro \
 && mkdir -p /app /data \
 && chown zenpro:zenpro /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# `zenpro migrate` finds alembic.ini and migrations/ under $ZENPRO_HOME.
COPY alembic.ini ./
COPY migrations ./migrations
USER zenpro
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (touches no database); /ready also checks the database and migrations.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
CMD ["zenpro", "serve", "--host", "0.0.0.0", "--port", "8080"]
