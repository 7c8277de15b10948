"""Pure tensor functions: resizing, colour, masks, and the checks at the public door."""
