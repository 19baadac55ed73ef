# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the gateway's dependencies, then the gateway itself, its executor's
# hot modules compiled with mypyc (setup.py, MOBIUS_BUILD_NATIVE=1).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/mobius
# Dependencies first, from pyproject.toml alone: this layer survives edits to the source.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && /opt/mobius/bin/pip install -r /tmp/requirements.txt
# The compiler's own venv (the pinned mypy of the `native` extra, the build backend), not shipped: it
# sees the dependencies above through a .pth file, since mypyc type-checks the modules against them.
RUN python -c "import tomllib; t = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(t['build-system']['requires'] + t['project']['optional-dependencies']['native']))" \
      > /tmp/build-requirements.txt \
 && python -m venv /opt/native \
 && /opt/native/bin/pip install -r /tmp/build-requirements.txt \
 && /opt/mobius/bin/python -c "import sysconfig; print(sysconfig.get_path('purelib'))" \
      > "$(/opt/native/bin/python -c "import sysconfig; print(sysconfig.get_path('purelib'))")/mobius-dependencies.pth"
COPY README.md setup.py ./
COPY mobius ./mobius
COPY schema ./schema
COPY resolvers ./resolvers
COPY clients ./clients
COPY sandbox ./sandbox
RUN MOBIUS_BUILD_NATIVE=1 /opt/native/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
 && /opt/mobius/bin/pip install --no-deps /tmp/wheels/*.whl

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
