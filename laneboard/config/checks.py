"""Cross-references inside config.yaml that pydantic alone cannot see.

Why separate from the models: each check spans sections (routing names existing lanes,
aliases are unique across models, a lane's provider is configured), so it runs once over
the validated whole and reports through the source map, all problems at once.
"""

from __future__ import annotations

import difflib

from laneboard.config.models import Config
from laneboard.core.harness_kinds import kind
from laneboard.core.vocabulary import WRITABLE_FENCES
from laneboard.errors import ConfigProblem
from laneboard.yamlsource import Path_, SourceMap, dotted


def cross_check(cfg: Config, source: SourceMap) -> list[ConfigProblem]:
    """References between sections that pydantic alone cannot see."""
    problems: list[ConfigProblem] = []
    lanes = set(cfg.lanes)

    def need_lane(lane: str, path: Path_) -> None:
        if lane not in lanes:
            close = difflib.get_close_matches(lane, sorted(lanes), n=1)
            problems.append(
                ConfigProblem(
                    f"no lane named {lane!r}",
                    source.locate(path),
                    dotted(path),
                    expected=f"one of the lanes: {', '.join(sorted(lanes))}",
                    hint=f"did you mean {close[0]!r}?" if close else "define it under `lanes:`",
                )
            )

    if cfg.routing:
        need_lane(cfg.routing.default, ("routing", "default"))
        if cfg.routing.untrusted:
            need_lane(cfg.routing.untrusted, ("routing", "untrusted"))
        for i, rule in enumerate(cfg.routing.rules):
            need_lane(rule.lane, ("routing", "rules", i, "lane"))
        names = [r.name for r in cfg.routing.rules]
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.append(
                    ConfigProblem(
                        f"rule name {name!r} is used twice",
                        source.locate(("routing", "rules", i, "name")),
                        dotted(("routing", "rules", i, "name")),
                        hint="each decision names its rule; names must be unique",
                    )
                )
        for i, tr in enumerate(cfg.routing.tools):
            path: Path_ = ("routing", "tools", i, "lane")
            if ("routing", "tools", tr.tools[0]) in source.values:  # the map form
                path = ("routing", "tools", tr.tools[0])
            need_lane(tr.lane, path)
        if cfg.routing.triage:
            need_lane(cfg.routing.triage.lane, ("routing", "triage", "lane"))

    seen_alias: dict[str, str] = {}
    for key, entry in cfg.models.items():
        if entry.alias is None:
            continue
        folded = entry.alias.casefold()
        if folded in seen_alias:
            problems.append(
                ConfigProblem(
                    f"alias {entry.alias!r} is already used by {seen_alias[folded]!r}",
                    source.locate(("models", key, "alias")),
                    dotted(("models", key, "alias")),
                    hint="aliases are case-insensitive and must be unique",
                )
            )
        else:
            seen_alias[folded] = key

    for key in cfg.models:
        if "/" not in key or not key.split("/", 1)[0].strip() or not key.split("/", 1)[1].strip():
            problems.append(
                ConfigProblem(
                    f"model key {key!r} is not a `provider/model` ref",
                    source.locate(("models", key), key=True),
                    dotted(("models", key)),
                    expected="provider/model, e.g. ollama/qwen3:7b",
                )
            )

    if cfg.defaults.provider and cfg.providers and cfg.defaults.provider not in cfg.providers:
        problems.append(
            ConfigProblem(
                f"default provider {cfg.defaults.provider!r} is not configured",
                source.locate(("defaults", "provider")),
                "defaults.provider",
                expected=f"one of: {', '.join(sorted(cfg.providers))}",
            )
        )
    for lane_id, lane in cfg.lanes.items():
        if lane.provider and lane.provider not in cfg.providers:
            problems.append(
                ConfigProblem(
                    f"provider {lane.provider!r} is not configured",
                    source.locate(("lanes", lane_id, "provider")),
                    dotted(("lanes", lane_id, "provider")),
                    expected=f"one of: {', '.join(sorted(cfg.providers)) or '(none configured)'}",
                )
            )
        if kind(lane.harness).takes_model and lane.model is None and cfg.defaults.model is None:
            problems.append(
                ConfigProblem(
                    f"lane {lane_id!r} names no model and there is no defaults.model",
                    source.locate(("lanes", lane_id)),
                    dotted(("lanes", lane_id)),
                    hint="add `model:` to the lane or `defaults.model.primary`",
                )
            )
    for i, rung in enumerate(cfg.review.ladder):
        rung_path: Path_ = ("review", "ladder", i, "lane")
        if rung.lane not in lanes:
            need_lane(rung.lane, rung_path)
        elif cfg.lanes[rung.lane].fence in WRITABLE_FENCES:
            problems.append(
                ConfigProblem(
                    f"review ladder rung {i + 1} runs on lane {rung.lane!r}, which can write "
                    f"(fence: {cfg.lanes[rung.lane].fence})",
                    source.locate(rung_path),
                    dotted(rung_path),
                    expected="a lane with fence plan or read-only",
                    hint="a reviewer never edits what it reviews: pick a plan or read-only "
                         "lane, or add one for this rung",
                )
            )
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    for pid in cfg.providers:
        if pid != pid.strip().lower():
            # model refs fold their provider half (`provA/m1` names provider `prova`, as in
            # OpenClaw), so a mixed-case id here is never found: the lane would start with
            # no base_url and no key and fail as "not logged in"
            problems.append(
                ConfigProblem(
                    f"provider id {pid!r} is not lower-case",
                    source.locate(("providers", pid)),
                    dotted(("providers", pid)),
                    expected="a lower-case provider id (model refs fold theirs to lower case)",
                    hint=f"rename it to {pid.strip().lower()!r}",
                )
            )
    return problems


