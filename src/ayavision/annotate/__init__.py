"""The synthetic annotation pipeline: recaption, filter, translate, rephrase and measure, resumable and scalable.

Steps see only the ``Backend`` interface (``ayavision.backends``); executors run them locally or on Ray;
every input record ends in the step's ``ledger.jsonl`` exactly once, and a killed step resumes.
"""

from ayavision.annotate.config import (
    BackendSpec,
    CometConfig,
    FilterConfig,
    MetricsConfig,
    PipelineConfig,
    RecaptionConfig,
    RephraseConfig,
    RulesConfig,
    RunOptions,
    TranslateConfig,
)
from ayavision.annotate.engine import StepAborted, StepSpec
from ayavision.annotate.metrics.report import compute_metrics, run_metrics
from ayavision.annotate.pipeline import PipelineResult, load_pipeline, run_pipeline
from ayavision.annotate.runner import ConfigChangedError, StepResult, run_step
from ayavision.annotate.step import Outcome, RecordContext, Step, register_step, step_class
from ayavision.annotate.templates import TemplateError, load_template
from ayavision.jobs.config import LocalExecutorConfig, RayExecutorConfig

__all__ = [
    "BackendSpec",
    "CometConfig",
    "ConfigChangedError",
    "FilterConfig",
    "LocalExecutorConfig",
    "MetricsConfig",
    "Outcome",
    "PipelineConfig",
    "PipelineResult",
    "RayExecutorConfig",
    "RecaptionConfig",
    "RecordContext",
    "RephraseConfig",
    "RulesConfig",
    "RunOptions",
    "Step",
    "StepAborted",
    "StepResult",
    "StepSpec",
    "TemplateError",
    "TranslateConfig",
    "compute_metrics",
    "load_pipeline",
    "load_template",
    "register_step",
    "run_metrics",
    "run_pipeline",
    "run_step",
    "step_class",
]
