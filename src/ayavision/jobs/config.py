"""Typed configurations of the two executors; unknown keys are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ayavision.utils.config import Strict


class LocalExecutorConfig(Strict):
    kind: Literal["local"] = "local"
    records_in_flight: int | None = Field(
        None, ge=1, description="records processed at once (default: twice the backend's concurrency, at least 8)"
    )


class RayExecutorConfig(Strict):
    kind: Literal["ray"] = "ray"
    address: str | None = Field(None, description="a running cluster ('auto', ray://...); default: start a local one")
    workers: int = Field(2, ge=1, description="actors; each has its own backend, cache shard and concurrency")
    records_in_flight: int = Field(16, ge=1, description="records each worker processes at once")
    batch_size: int = Field(16, ge=1, description="records sent to a worker per call")
    num_cpus: float = Field(0.5, gt=0, description="CPUs reserved per worker")
    num_gpus: float = Field(0.0, ge=0, description="GPUs reserved per worker (a transformers backend on GPU)")


ExecutorConfig = Annotated[LocalExecutorConfig | RayExecutorConfig, Field(discriminator="kind")]
