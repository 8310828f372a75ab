"""hubgen's chat example: rooms, history, and presence over a typed hub."""
