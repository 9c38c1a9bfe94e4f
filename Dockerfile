# The image of every Celery service in docker-compose.yml (worker, control worker, beat, Flower).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && useradd --system --create-home --uid 1000 mnaas
# Workers, beat and Flower need no privileges.
USER mnaas
CMD ["workers/worker.sh"]
