"""The harness: model loading, encoders, evaluators (one per task format), and the run loop."""
