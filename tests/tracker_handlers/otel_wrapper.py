"""The OpenTelemetry Lambda layer's `otel_wrapper`, in short: instrument the function named in
ORIG_HANDLER (the instrumentor wraps `module.function` in place), then serve that function."""

import os
from importlib import import_module

from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor

AwsLambdaInstrumentor().instrument()

module_name, function_name = os.environ["ORIG_HANDLER"].replace("/", ".").rsplit(".", 1)
lambda_handler = getattr(import_module(module_name), function_name)
