"""Review aids on embeddings: suspected mislabels, label propagation, out-of-distribution scores and
near duplicates.

Pure like ``ml``, ``index`` and ``selection``: numpy, scipy, scikit-learn and FAISS arrays in, arrays and
dataclasses out; nothing here imports the database, jobs, services, the API, storage or torch."""
