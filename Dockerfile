# Multi-stage build: compilers and headers stay in the builder; the runtime image is slim and
# runs as a non-root user. Docker is not available on our build machines, so this file is
# kept simple and checked by reading (see README).

FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential default-libmysqlclient-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# The requirements file is a complete lock: --no-deps keeps insightface from pulling in the
# GUI build of OpenCV, which would clobber opencv-python-headless.
RUN /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 smartgallery
COPY --from=builder /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=smartgallery.settings \
    SMARTGALLERY_VAR_DIR=/data \
    MEDIA_ROOT=/data/media \
    INSIGHTFACE_HOME=/data/insightface
WORKDIR /app
COPY --chown=smartgallery:smartgallery . /app
RUN mkdir -p /data && chown smartgallery:smartgallery /data
# collectstatic needs settings but no database; a throwaway key is enough at build time.
RUN SECRET_KEY=build-only-key-build-only-key-build-only-key-build-only \
    SMARTGALLERY_VAR_DIR=/tmp/build python manage.py collectstatic --noinput -v 0
USER smartgallery
VOLUME ["/data"]
EXPOSE 8000
CMD ["gunicorn", "smartgallery.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
