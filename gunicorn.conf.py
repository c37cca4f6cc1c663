"""gunicorn for production: threaded workers, since requests mostly wait on PostgreSQL."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle a worker now and then as a guard against slow leaks, not as a load-dependent restart loop:
# at 2,000 a worker serving a cohort's autosaves (300+ requests/s) restarted every few seconds.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
wsgi_app = "elearn.wsgi:application"
