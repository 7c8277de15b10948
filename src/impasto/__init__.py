"""impasto: neural style transfer (Gatys, Ecker & Bethge 2015) that is fast on an ordinary CPU."""
