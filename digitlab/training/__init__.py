"""Training: the loop, fine-tuning, run logs, the job queue, workers, Ray, search."""
