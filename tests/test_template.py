"""The SAM templates: template.yaml (provided.al2023 zip + Python layer) and template-image.yaml
(the Dockerfile's image), linted offline by cfn-lint and checked against the rest of the repo:
the zips build.sh writes, the Dockerfile's handler, the environment the example reads. cfn-lint
is shown to bite on a broken copy. Deploying needs AWS and is not tried here.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_check import handler_of, parse

ROOT = Path(__file__).resolve().parent.parent
ZIP, IMAGE = ROOT / "template.yaml", ROOT / "template-image.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# What only one way has: the zip's code, runtime and layer; the image's package type.
ZIP_ONLY = {"Runtime", "Handler", "CodeUri", "Layers"}
IMAGE_ONLY = {"PackageType", "ImageConfig", "SnapStart", "AutoPublishAlias"}
# SnapStart is offered for the image only: AWS documents it for images that implement the
# restore protocol; for provided.al2023 zips the documentation read here says nothing.
IMAGE_ONLY_PARAMETERS = {"SnapStart"}
# Read by the code behind the handler but not for a deployment to set: a stand-in Slack API for
# the tests and the demo.
NOT_DEPLOYED = {"SLACK_API_URL"}
# Reserved variables Lambda itself sets in every environment: read, never the template's to set.
SET_BY_LAMBDA = {"AWS_LAMBDA_INITIALIZATION_TYPE"}
# Set by the template for the runtime itself, not read by the example's code.
FOR_THE_RUNTIME = {
    "LAMBDA_RUNTIME_HANDOFF_QUEUE_URL",
    "LAMBDA_RUNTIME_HANDOFF_KEY",
    "LAMBDA_RUNTIME_DEDUPE_TABLE",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags: `!Ref X` -> {"Ref": X}, `!GetAtt A.B` ->
    {"Fn::GetAtt": ["A", "B"]}, `!Sub s` -> {"Fn::Sub": s}."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader)


def function(template: dict) -> dict:
    (fn,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    return fn


def cfn_lint(empty: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint run in (and with HOME at) the folder `empty`: a .cfnlintrc of the user's or of
    the working folder must not change the verdict."""
    assert CFN_LINT.exists(), f"no {CFN_LINT}: ./dev installs cfn-lint from requirements-dev.txt"
    env = {"PATH": os.environ["PATH"], "HOME": str(empty)}
    return subprocess.run(
        [CFN_LINT, "--", *paths], capture_output=True, text=True, cwd=empty, env=env
    )


def test_cfn_lint_has_nothing_to_say(tmp_path):
    version = subprocess.run([CFN_LINT, "--version"], capture_output=True, text=True).stdout
    pin = re.search(r"^cfn-lint==(\S+)", (ROOT / "requirements-dev.txt").read_text(), re.M)[1]
    assert version.split() == ["cfn-lint", pin]
    linted = cfn_lint(tmp_path, ZIP, IMAGE)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


def test_cfn_lint_bites_on_a_broken_copy(tmp_path):
    """A misspelt property and an impossible timeout, one in each template."""
    empty, broken_zip, broken_image = tmp_path / "run", tmp_path / "zip.yaml", tmp_path / "i.yaml"
    empty.mkdir()
    text = ZIP.read_text()
    assert "        AuthType: NONE\n" in text
    broken_zip.write_text(text.replace("        AuthType: NONE\n", "        AuthTyp: NONE\n"))
    text = IMAGE.read_text()
    assert "      Timeout: 60\n" in text
    broken_image.write_text(text.replace("      Timeout: 60\n", "      Timeout: 9000\n"))
    linted = cfn_lint(empty, broken_zip, broken_image)
    assert linted.returncode != 0
    said = linted.stdout
    assert "AuthTyp" in said and str(broken_zip) in said, said
    assert "9000" in said and str(broken_image) in said, said


def test_the_zip_way_deploys_what_build_sh_writes():
    template = load(ZIP)
    props = function(template)["Properties"]
    (layer,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"
    ]
    assert props["CodeUri"] == "dist/function.zip"
    assert layer["Properties"]["ContentUri"] == "dist/python-layer.zip"
    # build.sh writes into dist/, under the names the build gives its zips.
    from lambda_ack.cli.build import OUTPUTS

    assert {"function.zip", "python-layer.zip"} <= set(OUTPUTS)
    assert '--out "$here/dist"' in (ROOT / "build.sh").read_text()
    assert props["Runtime"] == "provided.al2023"
    assert props["Layers"] == [
        {"Ref": name} for name, r in template["Resources"].items() if r is layer
    ]
    assert layer["Properties"]["CompatibleArchitectures"] == props["Architectures"]


def default_handler(template: dict) -> str:
    return template["Parameters"]["Handler"]["Default"]


def test_the_handler_is_a_parameter_defaulting_to_the_dockerfiles_cmd():
    zip_template, image_template = load(ZIP), load(IMAGE)
    assert function(zip_template)["Properties"]["Handler"] == {"Ref": "Handler"}
    image_config = function(image_template)["Properties"]["ImageConfig"]
    assert image_config == {"Command": [{"Ref": "Handler"}]}
    cmd = handler_of(parse((ROOT / "Dockerfile").read_text()))
    assert [default_handler(zip_template)] == [default_handler(image_template)] == cmd


def test_the_image_way_builds_the_dockerfile():
    fn = function(load(IMAGE))
    assert fn["Properties"]["PackageType"] == "Image"
    metadata = fn["Metadata"]
    context = ROOT / metadata["DockerContext"]
    assert context.resolve() == ROOT
    assert (context / metadata["Dockerfile"]).is_file()
    assert metadata["DockerTag"]


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_a_public_function_url_for_slack(path):
    template = load(path)
    name = next(k for k, r in template["Resources"].items() if r is function(template))
    assert function(template)["Properties"]["FunctionUrlConfig"] == {
        "AuthType": "NONE",
        "InvokeMode": {"Ref": "InvokeMode"},
    }
    mode = template["Parameters"]["InvokeMode"]
    assert mode["Default"] == "BUFFERED"  # what Slack needs: one JSON answer
    assert mode["AllowedValues"] == ["BUFFERED", "RESPONSE_STREAM"]
    assert template["Outputs"]["SlackRequestUrl"]["Value"] == {
        "Fn::GetAtt": [f"{name}Url", "FunctionUrl"]
    }


def _modules(name: str) -> list[Path]:
    """The repository's files for a dotted module name: the module and its packages' inits."""
    parts, found = name.split("."), []
    for n in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:n])
        found += [p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]
    return found


def _literal(node: ast.AST) -> set[str]:
    """The variable's name when the code spells it out (a constant of a module is not)."""
    return {node.value} if isinstance(node, ast.Constant) else set()


def environment_read_by_the_example() -> set[str]:
    """Every variable read (os.environ.get("X"), os.getenv("X"), os.environ["X"]) by the
    handler's module and everything of the repository it imports, at any depth."""
    handler = default_handler(load(ZIP))
    todo, seen, names = [ROOT / (handler.rpartition(".")[0] + ".py")], set(), set()
    while todo:
        source = todo.pop()
        if source in seen:
            continue
        seen.add(source)
        package = ".".join(source.relative_to(ROOT).parent.parts)
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                todo += [m for alias in node.names for m in _modules(alias.name)]
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(filter(None, [base, node.module or ""]))
                todo += _modules(module)
                todo += [m for alias in node.names for m in _modules(f"{module}.{alias.name}")]
            elif isinstance(node, ast.Call) and node.args:
                if ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
                    names |= _literal(node.args[0])
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                names |= _literal(node.slice)
    return names


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_the_environment_is_what_the_example_reads(path):
    template = load(path)
    variables = function(template)["Properties"]["Environment"]["Variables"]
    read = environment_read_by_the_example()
    assert {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", *NOT_DEPLOYED} <= read
    assert set(variables) - FOR_THE_RUNTIME == read - NOT_DEPLOYED - SET_BY_LAMBDA
    parameters = template["Parameters"]
    for name, value in variables.items():
        if name not in FOR_THE_RUNTIME:
            assert set(value) == {"Ref"} and value["Ref"] in parameters, name
    for secret in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"):
        assert parameters[variables[secret]["Ref"]].get("NoEcho") is True, secret


def test_both_ways_deploy_the_same_function():
    """Parameters, settings and outputs may differ only where the way differs."""
    zip_template, image_template = load(ZIP), load(IMAGE)
    zip_props = function(zip_template)["Properties"]
    image_props = function(image_template)["Properties"]
    assert set(zip_props) - set(image_props) == ZIP_ONLY
    assert set(image_props) - set(zip_props) == IMAGE_ONLY
    for key in set(zip_props) & set(image_props):
        assert zip_props[key] == image_props[key], key
    for key in ("Outputs", "Transform", "AWSTemplateFormatVersion"):
        assert zip_template[key] == image_template[key], key

    def without_descriptions(parameters: dict) -> dict:
        return {
            k: {f: v for f, v in p.items() if f != "Description"} for k, p in parameters.items()
        }

    image_parameters = {
        k: p for k, p in image_template["Parameters"].items() if k not in IMAGE_ONLY_PARAMETERS
    }
    assert without_descriptions(zip_template["Parameters"]) == without_descriptions(
        image_parameters
    )


def sam_transform(path: Path, **parameters: str) -> dict:
    """The CloudFormation template SAM makes of `path` (the real translator, offline)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    template = yaml_parse(path.read_text())
    function = template["Resources"]["SlackFunction"]["Properties"]
    function.setdefault("ImageUri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/slack:1")
    return transform(template, {"SlackSigningSecret": "s", **parameters}, NoManagedPolicies())


def test_the_image_templates_snapstart_switch_publishes_and_serves_the_alias(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template = sam_transform(IMAGE, SnapStart="on")
    resources = template["Resources"]
    assert load(IMAGE)["Parameters"]["SnapStart"]["Default"] == "off"
    assert template["Conditions"]["WithSnapStart"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "on"]}
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["SnapStart"] == {
        "Fn::If": ["WithSnapStart", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    ((alias_id, alias),) = [
        (k, r) for k, r in resources.items() if r["Type"] == "AWS::Lambda::Alias"
    ]
    assert alias["Properties"]["Name"] == "live"
    (url,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Url"]
    # Slack's Request URL reaches the published version, where SnapStart applies.
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": alias_id}


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["Ref"]] if set(node) == {"Ref"} else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_every_ref_names_a_parameter_or_resource(path):
    """cfn-lint 1.58 lets a wrong !Ref in Outputs of a SAM template through."""
    template = load(path)
    known = set(template["Parameters"]) | set(template["Resources"])
    assert {r for r in _refs(template) if not r.startswith("AWS::")} <= known


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_the_hand_off_is_opt_in_and_complete(path):
    """HandOff=on: the queue with its dead-letter queue, the function consuming it with
    ReportBatchItemFailures, the permissions to send and to poll, and the variable naming it."""
    template = load(path)
    assert template["Parameters"]["HandOff"]["Default"] == "off"
    assert template["Conditions"]["WithHandOff"] == {"Fn::Equals": [{"Ref": "HandOff"}, "on"]}
    resources = template["Resources"]
    names = ("HandOffQueue", "HandOffDeadLetterQueue", "HandOffMapping")
    assert all(resources[name]["Condition"] == "WithHandOff" for name in names)
    redrive = resources["HandOffQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["HandOffDeadLetterQueue", "Arn"]}
    mapping = resources["HandOffMapping"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["HandOffQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    props = function(template)["Properties"]
    queue = props["Environment"]["Variables"]["LAMBDA_RUNTIME_HANDOFF_QUEUE_URL"]
    assert queue == {"Fn::If": ["WithHandOff", {"Ref": "HandOffQueue"}, ""]}
    granted = [next(iter(p["Fn::If"][1])) for p in props["Policies"]]
    assert granted[:2] == ["SQSSendMessagePolicy", "SQSPollerPolicy"]
    # The queue holds a message longer than the function can take to run it.
    assert resources["HandOffQueue"]["Properties"]["VisibilityTimeout"] >= 6 * props["Timeout"]


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_only_the_function_can_send_to_the_hand_off_queue_and_it_signs_what_it_sends(path):
    """A hand-off message names code to run with the function's role: the queue's policy
    denies SendMessage to every principal but the function's role, and the runtime's signing
    key is generated by Secrets Manager and given to the function."""
    template = load(path)
    resources = template["Resources"]
    (function_id,) = [
        name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"
    ]
    props = resources[function_id]["Properties"]
    assert "Role" not in props  # so SAM makes it, named <function id>Role (SAM's own rule)
    policy = resources["HandOffQueuePolicy"]
    assert policy["Condition"] == "WithHandOff"
    assert policy["Properties"]["Queues"] == [{"Ref": "HandOffQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [f"{function_id}Role", "Arn"]}}
    }
    key = resources["HandOffKey"]
    assert key["Type"] == "AWS::SecretsManager::Secret" and key["Condition"] == "WithHandOff"
    assert key["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    given = props["Environment"]["Variables"]["LAMBDA_RUNTIME_HANDOFF_KEY"]
    assert given == {
        "Fn::If": ["WithHandOff", {"Fn::Sub": "{{resolve:secretsmanager:${HandOffKey}}}"}, ""]
    }


@pytest.mark.parametrize("path", [ZIP, IMAGE], ids=["zip", "image"])
def test_the_duplicate_guards_table_is_opt_in_and_least_privilege(path):
    """Dedupe=on: the table (partition key `key`, TTL on `expires_at`, on demand), its name in
    LAMBDA_RUNTIME_DEDUPE_TABLE, and the two calls the guard makes on it, nothing more."""
    assert_dedupe_opt_in(load(path))


def assert_dedupe_opt_in(template: dict) -> None:
    """The table and its permissions, made only with Dedupe=on (`lambda-ack new`'s template
    too)."""
    assert template["Parameters"]["Dedupe"]["Default"] == "off"
    assert template["Conditions"]["WithDedupe"] == {"Fn::Equals": [{"Ref": "Dedupe"}, "on"]}
    table = template["Resources"]["DedupeTable"]
    assert table["Condition"] == "WithDedupe"
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "key", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "key", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    function_props = function(template)["Properties"]
    variable = function_props["Environment"]["Variables"]["LAMBDA_RUNTIME_DEDUPE_TABLE"]
    assert variable == {"Fn::If": ["WithDedupe", {"Ref": "DedupeTable"}, ""]}
    (policy,) = [
        p["Fn::If"][1] for p in function_props["Policies"] if p["Fn::If"][0] == "WithDedupe"
    ]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["DedupeTable", "Arn"]}
