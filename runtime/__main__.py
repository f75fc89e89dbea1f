"""`python -m runtime`: what `bootstrap` executes."""


def __getattr__(name: str) -> object:
    """`__main__.bootstrap` is where error trackers (Sentry's AwsLambdaIntegration...) look for
    AWS's runtime client; it is imported only when one asks (`runtime.tracker_hooks`)."""
    if name == "bootstrap":
        from runtime import tracker_hooks

        return tracker_hooks
    raise AttributeError(name)


from runtime.startup import main  # noqa: E402  (after the hook above: main() never returns)

main()
