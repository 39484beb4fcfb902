# autofixer service image. Build: docker build -t autofixer . ; run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: the worker clones repositories and pushes fix branches.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 autofixer \
    && mkdir -p /data /app/config \
    && chown autofixer:autofixer /data

WORKDIR /app
# Pinned dependencies first, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY common ./common
COPY domain ./domain
COPY evals ./evals
COPY execution ./execution
COPY notify ./notify
COPY prompts ./prompts
COPY scm ./scm
COPY server ./server
COPY sources ./sources
COPY tools ./tools
RUN pip install --no-deps . && autofixer --help > /dev/null

USER autofixer
ENV AUTOFIXER_CONFIG=/app/config/autofixer.yml \
    AUTOFIXER_STATE_DIR=/data \
    AUTOFIXER_HOST=0.0.0.0 \
    AUTOFIXER_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"]
CMD ["autofixer", "serve"]
