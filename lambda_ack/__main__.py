"""`python -m lambda_ack`: what `bootstrap` executes."""


def __getattr__(name: str) -> object:
    """`__main__.bootstrap` is where error trackers (Sentry's AwsLambdaIntegration...) look for
    AWS's runtime client; it is imported only when one asks
    (`lambda_ack.environment.tracker_hooks`)."""
    if name == "bootstrap":
        from lambda_ack.environment import tracker_hooks

        return tracker_hooks
    raise AttributeError(name)


from lambda_ack.startup import main  # noqa: E402  (after the hook above: main() never returns)

main()
