"""The function on this machine as Lambda runs it (lambda-ack's local Lambda): no AWS account and
no Slack workspace; a loopback server stands in for the command's response_url and Slack's Web
API."""

from lambda_ack.testing import SlackStandIn, answer_text, local_function, slash_command

SECRET = "test-signing-secret"


def env(slack):
    return {
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.api_url,
    }


def test_hello_is_answered_at_once_and_the_work_is_done_after():
    with SlackStandIn() as slack, local_function(env=env(slack)) as function:
        result = function.invoke(slash_command("/hello world", slack.response_url, SECRET))
        assert "Working on it: world" in answer_text(result)
        assert slack.posted()["text"] == "Done: world"


def test_a_request_with_a_wrong_signature_is_refused():
    with SlackStandIn() as slack, local_function(env=env(slack)) as function:
        forged = slash_command("/hello world", slack.response_url, "not-the-secret")
        assert function.invoke(forged).json()["statusCode"] == 401
