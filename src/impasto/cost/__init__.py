"""The cost: losses (pure functions), style moments, the objective, exact tiling."""
