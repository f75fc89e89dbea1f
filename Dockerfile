# The Slack example as a Lambda container image: Python 3.12 on Amazon Linux 2023, this runtime's
# `bootstrap` as the image's runtime, the base image's own entrypoint and RIE kept.
#
# Build (the build context is the repository root):
#   docker build --platform linux/amd64 -t slack-ack .                        # x86_64
#   docker build --platform linux/arm64 --build-arg BASE_TAG=al2023-arm64 -t slack-ack .  # arm64
# Give --platform always: without it a build on an arm64 machine (Apple silicon) makes an arm64
# image, which an x86_64 function cannot run; `al2023-arm64` names the arm64 base explicitly.
# The function's architecture must match the image's.
#
# Run locally (no AWS account: the base image's entrypoint starts its RIE when
# AWS_LAMBDA_RUNTIME_API is unset), then send it a slash command signed at that moment:
#   docker run --rm -p 9000:8080 -e SLACK_SIGNING_SECRET=local-secret slack-ack
#   SLACK_SIGNING_SECRET=local-secret ./dev invoke --slack-command "/start-process hi" --port 9000
# It answers statusCode 200 with "Accepted! (task: hi)"; the follow-up goes to a response_url on
# this machine's loopback, which the container cannot reach, so it fails in the log. An event
# that is not HTTP (`./dev invoke - --port 9000 <<< '{}'`) gets a 400, a request signed with
# another secret or older than 5 minutes a 401.
#
# This is the repository's example. For a project of your own, `lambda-ack new` writes a
# Dockerfile of its own, built from what `lambda-ack build --image` lays out (no edit of this
# file). For a handler already in this image, CMD can be overridden at run time: `docker run ...
# slack-ack other/module.handler`, or `ImageConfig.Command` on the function.

# al2023 (x86_64) or al2023-arm64. For a fully fixed build pin a digest as well:
# --build-arg BASE_TAG=al2023@sha256:<digest of the tag you tested>.
ARG BASE_TAG=al2023

# Builder: pip, the hash-checked dependencies and the bytecode. Nothing of it but the files
# under /build/var reaches the image.
FROM public.ecr.aws/lambda/provided:${BASE_TAG} AS builder
# The AL2023 base image locks its package repository to its own release, so the versions dnf
# installs are fixed by the base tag (pin the tag by digest for a fully fixed build).
# hadolint ignore=DL3041
RUN dnf install -y python3.12 python3.12-pip && dnf clean all && rm -rf /var/cache/dnf
WORKDIR /build
COPY requirements.txt requirements-handoff.txt ./
# requirements.txt is a lock with the sha256 of every file: pip refuses anything else. Binary
# wheels only, so nothing is compiled here. --no-compile: compileall below writes the bytecode.
# --build-arg HANDOFF_REQUIREMENTS=requirements-handoff.txt adds boto3's lock, for a function
# that uses the hand-off of durable work; by default the second -r is the first again, which
# adds nothing.
ARG HANDOFF_REQUIREMENTS=requirements.txt
RUN python3.12 -m pip install --no-cache-dir --no-compile --require-hashes \
        --only-binary=:all: --target var/runtime/vendor -r requirements.txt \
        -r ${HANDOFF_REQUIREMENTS}
COPY bootstrap var/runtime/bootstrap
COPY lambda_ack/ var/runtime/lambda_ack/
COPY runtime/ var/runtime/runtime/
COPY handler_example/ var/task/handler_example/
# /var/task and /var/runtime are read-only on Lambda, so bytecode written at run time would be
# lost on every cold start: write it now, by the interpreter the image runs. unchecked-hash:
# valid whatever the files' timestamps become. -p /: tracebacks show the paths in the image.
# chmod: a checkout without the executable bit (a zip download, core.fileMode=false) still
# gives Lambda an executable bootstrap.
RUN chmod 755 var/runtime/bootstrap \
    && python3.12 -m compileall -q --invalidation-mode unchecked-hash -p / var

FROM public.ecr.aws/lambda/provided:${BASE_TAG}
# Only the interpreter: no pip, no dnf cache. It installs beside the system Python 3.9
# (/usr/bin/python3, which dnf itself needs: never repoint it).
# hadolint ignore=DL3041
RUN dnf install -y python3.12 && dnf clean all && rm -rf /var/cache/dnf
# bootstrap runs this interpreter (its first choice), with /var/runtime and /var/runtime/vendor
# on PYTHONPATH.
ENV LAMBDA_RUNTIME_PYTHON=/usr/bin/python3.12
COPY --from=builder /build/var/runtime/ /var/runtime/
COPY --from=builder /build/var/task/ /var/task/
# SnapStart: nothing to add. The runtime implements the restore protocol (GET
# /runtime/restore/next, the snapshot_restore_py hooks), which is what Lambda asks of an image
# with its own runtime; the label com.amazonaws.lambda.feature.snapstart="Allow" is for images
# whose runtime does not (no hook runs there).
# Exactly one argument, the handler: the base image's /lambda-entrypoint.sh exports it as _HANDLER
# and starts /var/runtime/bootstrap (under its RIE when run outside Lambda). No ENTRYPOINT here.
CMD ["handler_example/app.handler"]
