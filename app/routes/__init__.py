"""Thin HTTP routers: validate, ask for admission, create a job, answer."""
