# One image for every Gennaker process: `docker run gennaker worker orca`, `... gateway`, `... up`.
# Dependencies are installed from uv.lock in their own layer, so editing the code rebuilds only the last one.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/gennaker \
    PATH=/opt/gennaker/bin:$PATH \
    GENNAKER_DATA_DIR=/data \
    GENNAKER_GATEWAY_HOST=0.0.0.0

RUN pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN uv sync --frozen --no-dev \
    && useradd --system --create-home --uid 10001 gennaker \
    && mkdir -p /data && chown gennaker /data

USER gennaker
VOLUME ["/data"]
# 8084: the gateway (HTTP API, Swagger UI, /metrics); 9464: a worker's Prometheus metrics.
EXPOSE 8084 9464
ENTRYPOINT ["gennaker"]
CMD ["up"]
