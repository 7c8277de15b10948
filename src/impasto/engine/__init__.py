"""Running the optimisation: schedule, budget, progress and ETA, optimiser, coarse to fine."""
