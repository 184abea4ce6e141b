"""The experience pool: store, embedder, index, SEER recall, the memory facade."""
