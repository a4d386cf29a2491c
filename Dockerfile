# One image for every RescueOps process (api, worker, the one-shot migration).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    RESCUEOPS_MIGRATIONS_DIR=/app/migrations RESCUEOPS_DRILLS_DIR=/app/drills RESCUEOPS_VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY drills ./drills
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir . && useradd --system --home /app rescueops && mkdir -p var && chown rescueops var
USER rescueops
EXPOSE 8000
CMD ["rescueops", "serve", "--host", "0.0.0.0", "--port", "8000"]
