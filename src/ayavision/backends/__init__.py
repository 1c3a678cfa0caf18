"""Model backends shared by annotation and evaluation: chat messages (with optional images) in, text out."""

from ayavision.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    ChatResponse,
    available_backends,
    create_backend,
    register_backend,
)

__all__ = [
    "Backend",
    "BackendError",
    "ChatRequest",
    "ChatResponse",
    "available_backends",
    "create_backend",
    "register_backend",
]
