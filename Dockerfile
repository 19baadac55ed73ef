# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the gateway's dependencies, then the gateway itself.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/mobius
# Dependencies first, from pyproject.toml alone: this layer survives edits to the source.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && /opt/mobius/bin/pip install -r /tmp/requirements.txt
COPY README.md ./
COPY mobius ./mobius
COPY schema ./schema
COPY resolvers ./resolvers
COPY clients ./clients
COPY sandbox ./sandbox
RUN /opt/mobius/bin/pip install --no-deps .

# Runtime stage: no compiler, no source tree, a non-root user, no secrets. Configuration and
# secrets come from mounted files (/run/secrets/...) and the environment (MOBIUS_*).
FROM python:3.11-slim
ENV PATH=/opt/mobius/bin:$PATH PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin mobius
COPY --from=build /opt/mobius /opt/mobius
COPY mobius.production.example.yaml /etc/mobius/mobius.yaml
USER mobius
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
ENTRYPOINT ["mobius"]
CMD ["serve", "--config", "/etc/mobius/mobius.yaml"]
