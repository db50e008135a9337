# Multi-stage build: wheels in a builder, a slim runtime as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY socialgraph socialgraph
COPY graph graph
COPY api api
COPY seeds seeds
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
# The query catalog is read from files beside the code.
COPY --chown=app:app queries /app/queries
COPY --chown=app:app socialgraph /app/socialgraph
COPY --chown=app:app graph /app/graph
COPY --chown=app:app api /app/api
COPY --chown=app:app seeds /app/seeds
USER app
ENV SOCIALGRAPH_ENV=production PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys;sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz',timeout=2).status==200 else 1)"
CMD ["uvicorn", "api.main:app_factory", "--factory", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
