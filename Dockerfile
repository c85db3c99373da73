# One image for every Gennaker process: `docker run gennaker worker orca`, `... gateway`, `... up`.
# Dependencies are installed from uv.lock in their own layer, so editing the code rebuilds only the last one.
# Debian 12 (bookworm), as on the machines the project is tested on: its packer and kubernetes-client are the ones the tests use
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/gennaker \
    PATH=/opt/gennaker/bin:$PATH \
    GENNAKER_DATA_DIR=/data \
    GENNAKER_GATEWAY_HOST=0.0.0.0

# The real peers the services run: git (Dinghy's and Terraformer's repositories, git/repo artifacts), Packer (Rosco's
# bakes) and kubectl (Rosco's kustomize bakes); Debian's packages, as the project's set-up installs them.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git packer kubernetes-client \
    && rm -rf /var/lib/apt/lists/*
ENV CHECKPOINT_DISABLE=1

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
