# One image for web, workers and beat. GPU workers need a CUDA build of torch:
# build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 (the default).
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY safesora safesora
COPY generation generation
COPY annotation annotation
COPY exports exports
COPY moderation moderation
COPY templates templates
COPY manage.py ./
RUN pip install --extra-index-url ${TORCH_INDEX} . && python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "safesora.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
