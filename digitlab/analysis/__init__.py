"""Looking at a trained model: evaluation, real handwriting, explanations, weights, export."""
