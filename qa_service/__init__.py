"""The question-answering service: retrieval, composition, grounding, the evidence gate, the HTTP API and chat."""
