"""How a Codex lane is launched: its command lines (exec and interactive) and home.

Why apart from the harness: this is where a lane's fence becomes Codex's own flags
(`--sandbox` per fence, approvals off, `-c model_providers…` for a base URL) — the part a
reviewer of fence enforcement reads — and the demo, the tests and preflight need it
without the pane driver. `seed_isolated_home` prepares a throwaway CODEX_HOME (never the
person's own `~/.codex`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from laneboard.core.vocabulary import FenceName
from laneboard.errors import HarnessError
from laneboard.harnesses.base import (
    HarnessSpec,
    binary_of,
)

PINNED_VERSION = "0.169.0"
VERSION_RE = re.compile(r"^codex-cli (\S+)$")
INSTALL_HINT = f"npm install @openai/codex@{PINNED_VERSION}"

SANDBOX_OF_FENCE: dict[FenceName, str] = {
    "read-only": "read-only",
    "plan": "read-only",
    "workspace-write": "workspace-write",
    "full": "danger-full-access",
}
#: Text in a command's output that means the sandbox itself failed to start.
SANDBOX_FAILURE_MARKERS = (
    "bwrap: ",
    "Failed to create sandbox",
    "sandbox could not",
    "error running landlock",
    "seccomp",
)

ProviderOption = str | int | bool


def _toml(value: ProviderOption) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def provider_id(spec: HarnessSpec) -> str:
    """A config-safe id for the lane's provider (`model_providers.<id>`)."""
    raw = spec.provider or "laneboard"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw) or "laneboard"


def responses_base_url(base_url: str) -> str:
    """Codex wants the URL its `/responses` path hangs off; a bare host gets `/v1`."""
    url = base_url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


def config_args(
    spec: HarnessSpec, provider_options: Mapping[str, ProviderOption] | None = None,
    *, remote_python: str | None = None,
) -> list[str]:
    """The `-c` overrides shared by exec and interactive: effort, approvals, provider
    (`remote_python`: see `conductor_args`)."""
    args: list[str] = []
    if spec.thinking:
        args += ["-c", f"model_reasoning_effort={spec.thinking}"]
    args += ["-c", 'approval_policy="never"']
    if spec.base_url:
        pid = provider_id(spec)
        table: dict[str, ProviderOption] = {
            "name": pid,
            "base_url": responses_base_url(spec.base_url),
            "wire_api": "responses",
        }
        if spec.api_key_env:
            table["env_key"] = spec.api_key_env
        table.update(provider_options or {})
        body = ",".join(f"{k}={_toml(v)}" for k, v in table.items())
        args += ["-c", f"model_provider={pid}", "-c", f"model_providers.{pid}={{{body}}}"]
    return args + conductor_args(spec, remote_python=remote_python)


def conductor_args(spec: HarnessSpec, *, remote_python: str | None = None) -> list[str]:
    """`-c mcp_servers.laneboard…` for a lane allowed to delegate (its spec carries the
    control socket and its lane token); nothing for any other lane. The MCP server runs
    with this interpreter, so it is the laneboard that launched the lane — or, for a
    lane on another host, with `remote_python` there (`remote_conductor`), the token
    then coming from codex's environment, never its argv."""
    if not (spec.control_socket and spec.lane_token):
        return []
    from laneboard.harnesses.mcp_attach import codex_args

    if remote_python is not None:
        return codex_args(spec.lane, spec.lane_token, remote_python, spec.control_socket,
                          token_from_env=True)
    return codex_args(spec.lane, spec.lane_token, sys.executable, spec.control_socket)


def build_exec_argv(
    spec: HarnessSpec,
    *,
    output_file: str,
    prompt: str,
    binary: str = binary_of("codex"),
    provider_options: Mapping[str, ProviderOption] | None = None,
    remote_python: str | None = None,
) -> list[str]:
    """The `codex exec` command line for one prompt."""
    argv = [
        binary,
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-o",
        output_file,
        "--sandbox",
        SANDBOX_OF_FENCE[spec.fence],
    ]
    if spec.model:
        argv += ["-m", spec.model]
    argv += config_args(spec, provider_options, remote_python=remote_python)
    return [*argv, "--", prompt]


def build_interactive_argv(
    spec: HarnessSpec,
    *,
    binary: str = binary_of("codex"),
    provider_options: Mapping[str, ProviderOption] | None = None,
    model_upgrades: Mapping[str, str] | None = None,
    remote_python: str | None = None,
) -> list[str]:
    """The interactive `codex` command line (approvals off, sandbox from the fence)."""
    argv = [binary, "--sandbox", SANDBOX_OF_FENCE[spec.fence], "-a", "never"]
    if spec.model:
        argv += ["-m", spec.model]
        upgrade = (model_upgrades or {}).get(spec.model)
        if upgrade:
            # Keep the configured model: mark its "Meet <new model>" migration prompt as
            # seen for this process only (`-c`, so no config file is edited).
            table = "{" + json.dumps(spec.model) + "=" + json.dumps(upgrade) + "}"
            argv += ["-c", f"notice.model_migrations={table}"]
    return argv + config_args(spec, provider_options, remote_python=remote_python)


async def read_model_upgrades(binary: str, env: Mapping[str, str]) -> dict[str, str]:
    """`{model: upgrade}` from `codex debug models` (the CLI's offline model catalog).

    Interactive codex opens a "Meet <model> · Try new model / Use existing model" prompt
    for a model the catalog marks as upgradable, which would leave the lane blocked on a
    question the config already answered. Any failure yields {} (the prompt then shows and
    the screen rules report it as setup-blocked).
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            binary, "debug", "models",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=dict(env),
        )  # fmt: skip
    except OSError:
        return {}
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 15.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return {}
    return parse_model_upgrades(out)


def parse_model_upgrades(out: bytes | str) -> dict[str, str]:
    """`{model: upgrade}` from the JSON `codex debug models` printed ({} when it is not)."""
    try:
        doc = json.loads(out)
    except ValueError:
        return {}
    models = doc.get("models", []) if isinstance(doc, dict) else doc
    upgrades: dict[str, str] = {}
    for entry in models if isinstance(models, list) else []:
        if not isinstance(entry, dict):
            continue
        slug, upgrade = entry.get("slug"), entry.get("upgrade")
        target = upgrade.get("model") if isinstance(upgrade, dict) else None
        if isinstance(slug, str) and isinstance(target, str):
            upgrades[slug] = target
    return upgrades


def seed_isolated_home(codex_home: str | Path, cwd: str | Path) -> Path:
    """Trust `cwd` in `<codex_home>/config.toml` so the trust dialog does not appear.

    Only for an isolated CODEX_HOME that laneboard, a test or the demo created; refuses
    (HarnessError) the user's own `~/.codex`. (Passing the trust entry with `-c` does not
    suppress the dialog in 0.169.0, so it has to be in the file.)
    """
    home = Path(codex_home).expanduser().resolve()
    if home == (Path.home() / ".codex").resolve() or home == Path.home().resolve():
        raise HarnessError(
            f"seed_isolated_home: refusing to edit the user's own Codex config in {home}; "
            "give the lane an isolated CODEX_HOME"
        )
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    added = ""
    for p in sorted({str(Path(cwd).resolve()), str(Path(cwd).absolute())}):
        header = f"[projects.{json.dumps(p)}]"
        if header not in text:
            added += f'\n{header}\ntrust_level = "trusted"\n'
    if added:
        path.write_text(text + added, encoding="utf-8")
    return path


def default_state_dir() -> Path:
    """Where isolated CODEX_HOMEs live unless the lane's env names one: under laneboard's
    state dir — `$LANEBOARD_STATE_DIR` too (a test's or a second install's), not the
    platform's dir regardless."""
    env = os.environ.get("LANEBOARD_STATE_DIR")
    if env:
        return Path(env) / "codex-homes"
    import platformdirs

    return Path(platformdirs.user_state_dir("laneboard")) / "codex-homes"

