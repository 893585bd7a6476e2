"""The HTTP edge: FastAPI app, dependencies, error translation and routes."""
