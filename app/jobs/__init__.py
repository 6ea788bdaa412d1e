"""The job domain: the kinds of heavy work and what each needs, with no HTTP in it."""
