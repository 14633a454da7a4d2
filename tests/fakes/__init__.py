"""The tests' fakes, in one place: `service` (a five-passage pipeline with filters and streaming, and a
loopback uvicorn server) for the HTTP, chat, web page and retriever tests; `evaluation` (a tiny
corpus, gold set and benchmark, and `OverlapPipeline`, which ranks by word overlap per retrieval
mode) for the evaluation harness. Both satisfy `qa_service.protocols.AnswerPipeline`."""
