"""The `guideline-qa` command: one entry point whose subcommands come from ingest, qa_service, eval and bench."""
