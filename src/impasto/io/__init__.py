"""Files <-> tensors: image decoding and atomic saves, mask files, video frames."""
