"""``python -m aep2.demo.celery_worker worker …``: the demo's Celery worker child (see ``worker``)."""

import importlib
import os
import sys

from aep2.demo.worker import celery_app

if __name__ == "__main__":
    importlib.import_module("workers.tasks")
    celery_app(os.environ["AEP2_BROKER_URL"]).worker_main(sys.argv[1:])
