"""From a run to an answer: predictors, softmax and temperature, abstention, ensembles."""
