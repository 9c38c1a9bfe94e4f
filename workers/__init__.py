"""What starts each Celery process of the product: the app (`workers.app:app`) and the
worker, control worker, beat and Flower start scripts next to it."""
