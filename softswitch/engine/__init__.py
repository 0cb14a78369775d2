"""The execution engine: compiles an elaborated v1model program into Python once
and runs packets through it with BMv2 simple_switch semantics."""

from softswitch.engine.codegen import AssertionFailure
from softswitch.engine.context import UnsupportedError
from softswitch.engine.pipeline import Pipeline, build_pipeline

__all__ = ["AssertionFailure", "Pipeline", "UnsupportedError", "build_pipeline"]
