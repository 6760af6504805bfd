# One image for the API and the workers. Build the SPA first, then the Python package.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm install --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN pip install "torch==2.14.1" "torchvision==0.29.1"
COPY pyproject.toml alembic.ini ./
COPY backend/ backend/
COPY worker/ worker/
RUN pip install -e .
COPY --from=frontend /src/frontend/dist frontend/dist
RUN useradd --create-home labellight && mkdir -p /data && chown labellight /data
USER labellight
ENV LABELLIGHT_DATA_DIR=/data
EXPOSE 8000
CMD ["labellight", "serve", "--host", "0.0.0.0", "--port", "8000"]
