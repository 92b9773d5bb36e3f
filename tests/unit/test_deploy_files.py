"""The Dockerfile, the compose file and the Kubernetes example agree with pushwise itself.

Every `PUSHWISE_*` variable they set is a setting, and every command they run is a `pushwise`
command with options it has. No Docker engine runs where these tests run, so the Dockerfile is
checked by parsing it: its stages, user, health check and that every file it copies is there.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from dockerfile_parse import DockerfileParser
from kubernetes_validate import utils as kubernetes

from pushwise.cli import app as cli_app
from pushwise.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"
KUBERNETES = ROOT / "deploy" / "kubernetes" / "pushwise.yaml"
KUBERNETES_VERSION = "1.30"
SETTINGS = {ENV_PREFIX + f.name.upper() for f in fields(Settings) if f.name != "extra"} | {
    ENV_PREFIX + "CONFIG"  # the TOML file's path, read beside the settings
}


def pushwise_command(argv: list[str]) -> typer.Context:
    """Parse `pushwise ARGV` as the CLI would; unknown commands and options fail the test."""
    assert argv[0] == "pushwise", argv
    command = typer.main.get_command(cli_app)
    args, name = list(argv[1:]), "pushwise"
    while (subcommands := getattr(command, "commands", None)) is not None:
        assert args, f"{' '.join(argv)}: a command group needs a command"
        name = args.pop(0)
        assert name in subcommands, f"{' '.join(argv)}: pushwise has no command {name!r}"
        command = subcommands[name]
    try:
        context: typer.Context = command.make_context(name, args)
    except Exception as error:  # typer's usage errors: unknown option, missing argument, bad value
        pytest.fail(f"{' '.join(argv)}: {error}")
    return context


def unknown_settings(names: set[str]) -> set[str]:
    return {name for name in names if name.startswith(ENV_PREFIX)} - SETTINGS


# --- Dockerfile ---


def dockerfile() -> list[dict[str, Any]]:
    return [i for i in DockerfileParser(path=str(DOCKERFILE)).structure if i["instruction"] != "COMMENT"]


def stages() -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    for instruction in dockerfile():
        if instruction["instruction"] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def last(stage: list[dict[str, Any]], instruction: str) -> str:
    values = [i["value"] for i in stage if i["instruction"] == instruction]
    assert values, f"the image sets no {instruction}"
    return values[-1]


def exec_form(value: str) -> list[str]:
    parsed = yaml.safe_load(value)  # a JSON array is a YAML sequence
    assert isinstance(parsed, list), f"{value}: use the exec form (a JSON array)"
    return [str(part) for part in parsed]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stages()[-1]:
        if instruction["instruction"] == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(instruction["value"]))  # type: ignore[arg-type]
    return env


def image_user() -> str:
    return last(stages()[-1], "USER").split(":")[0]


def entrypoint() -> list[str]:
    return exec_form(last(stages()[-1], "ENTRYPOINT"))


def dockerignored(path: str) -> bool:
    """The subset of .dockerignore rules this repository uses: globs, `**/`, `!` exceptions."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        if any(fnmatch.fnmatch(path, p) for p in candidates):
            ignored = not negated
    return ignored


def test_the_image_is_built_in_stages_and_runs_as_an_unprivileged_user() -> None:
    names = [re.split(r"\s+AS\s+", s[0]["value"], flags=re.IGNORECASE)[-1] for s in stages()[:-1]]
    assert len(stages()) >= 2, "multi-stage: build tools stay out of the runtime image"
    for instruction in dockerfile():
        for source in re.findall(r"--(?:mount=\S*\bfrom|from)=([\w.-]+)", instruction["value"]):
            assert source in names, f"{instruction['value']}: no stage named {source}"
    assert image_user() not in ("root", "0"), "the runtime stage must not run as root"


def test_every_copied_file_is_in_the_build_context() -> None:
    copies = [i for i in dockerfile() if i["instruction"] in ("COPY", "ADD") and "--from=" not in i["value"]]
    assert copies
    for copy in copies:
        *sources, _ = shlex.split(copy["value"])
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
    assert dockerignored(".venv")
    assert dockerignored("tests")


def test_the_health_check_asks_healthz_on_the_port_the_image_listens_on() -> None:
    env = image_env()
    assert unknown_settings(set(env)) == set()
    healthcheck = last(stages()[-1], "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "PUSHWISE_PORT" in healthcheck
    assert last(stages()[-1], "EXPOSE") == env["PUSHWISE_PORT"]
    assert env["PUSHWISE_HOST"] == "0.0.0.0"


def test_the_image_runs_pushwise_and_serves_by_default() -> None:
    assert entrypoint() == ["pushwise"]
    assert pushwise_command([*entrypoint(), *exec_form(last(stages()[-1], "CMD"))]).info_name == "serve"


# --- compose ---


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def pushwise_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("image", "").startswith("pushwise")}


def test_compose_builds_the_image_from_this_repository() -> None:
    for service in pushwise_services().values():
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_compose_sets_only_settings_and_runs_only_pushwise_commands() -> None:
    commands = {}
    for name, service in pushwise_services().items():
        assert unknown_settings(set(service.get("environment", {}))) == set(), name
        commands[name] = pushwise_command([*entrypoint(), *service["command"]]).command_path
    assert commands == {"migrate": "upgrade", "api": "api", "worker": "worker"}


def test_compose_migrates_once_before_the_api_and_workers_start() -> None:
    services = compose()["services"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    api = pushwise_command([*entrypoint(), *services["api"]["command"]])
    assert services["api"]["ports"] == [f"{api.params['port']}:{api.params['port']}"]
    assert "postgres:5432" in services["api"]["environment"]["PUSHWISE_DATABASE_URL"]


# --- Kubernetes ---


def manifests() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(KUBERNETES.read_text()) if doc]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def containers() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Workload name -> (pod spec, its one container)."""
    found = {}
    for doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            [container] = pod["containers"]
            found[doc["metadata"]["name"]] = (pod, container)
    return found


@pytest.mark.parametrize("manifest", manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}")
def test_each_kubernetes_object_is_valid_for_the_api_server(manifest: dict[str, Any]) -> None:
    kubernetes.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_kubernetes_runs_the_migrations_job_the_api_and_the_workers() -> None:
    commands = {
        name: pushwise_command([*container.get("command", entrypoint()), *container["args"]]).command_path
        for name, (_, container) in containers().items()
    }
    assert commands == {"pushwise-db-upgrade": "upgrade", "pushwise-api": "api", "pushwise-worker": "worker"}
    assert set(of_kind("Job")) == {"pushwise-db-upgrade"}


def test_kubernetes_configures_only_settings_from_its_secret_and_config_map() -> None:
    sources = {("secretRef", n): set(d["stringData"]) for n, d in of_kind("Secret").items()}
    sources |= {("configMapRef", n): set(d["data"]) for n, d in of_kind("ConfigMap").items()}
    for keys in sources.values():
        assert unknown_settings(keys) == set()
        assert all(key.startswith(ENV_PREFIX) for key in keys), "envFrom passes every key on"
    for name, (_, container) in containers().items():
        for reference in container["envFrom"]:
            [(kind, target)] = reference.items()
            assert (kind, target["name"]) in sources, f"{name}: {kind} {target['name']} is not defined"
        assert unknown_settings({e["name"] for e in container.get("env", [])}) == set(), name


def test_kubernetes_pods_run_as_the_image_user_and_probe_the_api() -> None:
    for name, (pod, _) in containers().items():
        assert pod["securityContext"]["runAsNonRoot"], name
        assert str(pod["securityContext"]["runAsUser"]) == image_user(), name
        assert f"{image_user()}:{pod['securityContext']['runAsGroup']}" == last(stages()[-1], "USER"), name
    _, api = containers()["pushwise-api"]
    port = pushwise_command([*entrypoint(), *api["args"]]).params["port"]
    assert api["ports"] == [{"name": "http", "containerPort": port}]
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    [service] = of_kind("Service").values()
    labels = of_kind("Deployment")["pushwise-api"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
