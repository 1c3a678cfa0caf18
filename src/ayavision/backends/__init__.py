"""Model backends shared by annotation and evaluation: chat messages (with optional images) in, text out."""

from ayavision.backends.base import (
    BACKENDS,
    Backend,
    BackendError,
    ChatRequest,
    ChatResponse,
    available_backends,
    create_backend,
    register_backend,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "ChatRequest",
    "ChatResponse",
    "available_backends",
    "create_backend",
    "register_backend",
]
