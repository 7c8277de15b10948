"""VGG: one geometry, the feature extractor, the weights registry, conversion and the store."""
