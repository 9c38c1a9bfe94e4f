"""Daily missing customer files check of the MNAAS mediation platform.

The domain package: no Celery imports here, so the local executor (`run`) and the Celery
tasks (`submit`) share every piece of logic.
"""

__version__ = "1.0.0"
