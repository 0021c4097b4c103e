# One image for web, worker and release on a long-running host (AWS, Google Cloud, any VM).
# web:     docker run ... blacksky gunicorn blacksky_site.wsgi
# worker:  docker run ... blacksky python manage.py runbot
# release: docker run ... blacksky sh -c "python manage.py migrate --noinput && python manage.py setup_schedules"
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# A build needs no configuration: the real SECRET_KEY comes from the environment at run time.
RUN python manage.py collectstatic --noinput -v 0
RUN useradd --create-home --uid 10001 bot && mkdir -p /app/var && chown -R bot /app/var
USER bot
EXPOSE 8000
CMD ["gunicorn", "blacksky_site.wsgi"]
