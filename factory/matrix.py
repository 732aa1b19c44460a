"""`factory plan`: the stale set as GitHub Actions matrices, one per layer of build.requires.

A layer's builds need only wheels of earlier layers (or already published ones), so
layer N's jobs start when layer N-1's are done. Each entry says what its runner needs:
its labels (from the recipe's ``build.size`` and the runner variables), a timeout and
the size class. Layers past the workflow's last are left for the next run: they are
still stale then, and their dependencies are published.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName

from .errors import ConfigError
from .recipe import LoadedRecipe, dependency_order
from .stale import StaleReport

MAX_LAYERS = 4  # build jobs in .github/workflows/build.yml
HOSTED_LABELS = ("ubuntu-latest",)  # any x86_64 runner: riscv64 through the emulated userland
HOSTED_MAX_MINUTES = 360  # GitHub's limit for a job on a hosted runner
# Beyond the build steps' own timeouts: installing the factory, the userland, uploads.
JOB_OVERHEAD_MINUTES = 30
RUNNER_VARIABLES = {"normal": "FACTORY_RUNNER", "large": "FACTORY_RUNNER_LARGE"}


@dataclass(frozen=True)
class MatrixPlan:
    layers: tuple[tuple[dict[str, Any], ...], ...]
    deferred: tuple[str, ...]  # stale, in a layer past MAX_LAYERS: the next run builds them
    not_buildable: tuple[dict[str, Any], ...]  # needs-bump, failed, blocked: need a person

    def to_json(self) -> dict[str, Any]:
        return {
            "empty": not self.layers,
            "builds": sum(len(layer) for layer in self.layers),
            "layers": [{"include": list(layer)} for layer in self.layers],
            "deferred": list(self.deferred),
            "not_buildable": list(self.not_buildable),
        }

    def github_output(self) -> str:
        """``key=value`` lines for $GITHUB_OUTPUT: ``empty`` and ``layer-0``...; an empty
        layer is ``""`` so that its job's ``if`` skips it."""
        lines = [f"empty={'true' if not self.layers else 'false'}"]
        for number in range(MAX_LAYERS):
            layer = self.layers[number] if number < len(self.layers) else ()
            value = json.dumps({"include": list(layer)}, separators=(",", ":")) if layer else ""
            lines.append(f"layer-{number}={value}")
        return "".join(f"{line}\n" for line in lines)


def runner_labels(size: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The labels for a build of this size: $FACTORY_RUNNER / $FACTORY_RUNNER_LARGE (a JSON
    list or one label), else a hosted x86_64 runner."""
    name = RUNNER_VARIABLES[size]
    value = environ.get(name, "").strip() or (
        environ.get(RUNNER_VARIABLES["normal"], "").strip() if size == "large" else ""
    )
    if not value:
        return list(HOSTED_LABELS)
    if not value.startswith("["):
        return [value]
    try:
        labels = json.loads(value)
    except ValueError:
        labels = None
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ConfigError(
            f"{name}={value!r} is neither a runner label nor a JSON list of labels",
            hint='e.g. FACTORY_RUNNER=\'["self-hosted", "linux", "riscv64"]\'',
        )
    return labels


def plan_matrix(
    report: StaleReport,
    recipes: Mapping[NormalizedName, LoadedRecipe],
    environ: Mapping[str, str] = os.environ,
) -> MatrixPlan:
    layer_of: dict[NormalizedName, int] = {}
    layers: list[list[dict[str, Any]]] = []
    deferred = []
    for verdict in report.verdicts:  # dependencies come first
        if verdict.status != "stale":
            continue
        layer = 1 + max((layer_of[d] for d in verdict.requires if d in layer_of), default=-1)
        layer_of[verdict.project] = layer
        if layer >= MAX_LAYERS:
            deferred.append(verdict.project)
            continue
        while len(layers) <= layer:
            layers.append([])
        layers[layer].append(_entry(recipes[verdict.project], recipes, verdict.reasons, environ))
    not_buildable = tuple(
        {"package": v.project, "status": v.status, "reasons": list(v.reasons)}
        for v in report.verdicts
        if v.status in ("needs-bump", "failed", "blocked")
    )
    return MatrixPlan(tuple(tuple(layer) for layer in layers), tuple(deferred), not_buildable)


def _entry(
    loaded: LoadedRecipe,
    recipes: Mapping[NormalizedName, LoadedRecipe],
    reasons: tuple[str, ...],
    environ: Mapping[str, str],
) -> dict[str, Any]:
    settings = loaded.recipe.build
    labels = runner_labels(settings.size, environ)
    minutes = math.ceil(settings.timeout / 60) + JOB_OVERHEAD_MINUTES
    if not any(label in ("self-hosted", "riscv64") for label in labels):
        minutes = min(minutes, HOSTED_MAX_MINUTES)
    return {
        "package": loaded.name,
        "version": loaded.recipe.version,
        "size": settings.size,
        "runs-on": labels,
        # A riscv64 runner builds natively; any other builds in the emulated userland.
        "emulated": "riscv64" not in labels,
        "timeout-minutes": minutes,
        "reason": "; ".join(reasons),
        # Its build dependencies, all the way down: a build job first pulls the ones
        # already published, so that it builds with those wheels instead of again.
        "requires": " ".join(loaded.name for loaded in dependency_order([loaded], recipes)[:-1]),
    }
