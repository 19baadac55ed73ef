# syntax=docker/dockerfile:1
# Build stage: a wheel-installed virtualenv with everything the gateway needs.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/mobius
COPY pyproject.toml README.md ./
COPY mobius ./mobius
COPY schema ./schema
COPY resolvers ./resolvers
COPY clients ./clients
COPY sandbox ./sandbox
RUN /opt/mobius/bin/pip install .

# Runtime stage: no compiler, no source tree, a non-root user.
FROM python:3.11-slim
ENV PATH=/opt/mobius/bin:$PATH PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin mobius
COPY --from=build /opt/mobius /opt/mobius
COPY mobius.example.yaml /etc/mobius/mobius.yaml
USER mobius
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
ENTRYPOINT ["mobius"]
CMD ["serve", "--config", "/etc/mobius/mobius.yaml", "--host", "0.0.0.0", "--port", "8000"]
