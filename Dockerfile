# Multi-stage build: one wheel in a builder, a slim runtime as a non-root user.
# The wheel carries everything the service reads at run time (the Cypher catalog is package
# data), so the runtime image holds no second copy of the sources.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY graph graph
COPY redislayer redislayer
COPY api api
COPY seeds seeds
COPY socialgraph socialgraph
COPY queries queries
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /home/app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
USER app
ENV SOCIALGRAPH_ENV=production PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys;sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz',timeout=2).status==200 else 1)"
# `socialgraph serve` applies the same uvicorn settings (frame cap, timeouts) as `make run`.
CMD ["socialgraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
