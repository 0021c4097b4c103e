"""Operations pages of the web dyno (gunicorn): health, figures, dashboard and pairing; no models."""
