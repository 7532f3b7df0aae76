"""What Argo Rollouts does with an AnalysisTemplate, reproduced for tests.

- `resolve_args`: the controller's `{{args.name}}` substitution (fasttemplate with `{{`/`}}`; a tag that
  names no supplied argument is an error, as in the controller).
- `analysis_queries` / `recording_rules`: every Prometheus query of the rendered templates, with arguments,
  as a Prometheus rules file, so `promtool test rules` runs the very text the AnalysisRun would send.
- `evaluate_condition` / `measurement_phase`: success/failure conditions evaluated like the controller's
  `EvaluateResult`, for the small subset of the expr language the templates use (anything else is refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tests.k8s.manifests import Manifest

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_ARG_REF = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+?)\s*\}\}")


class UnresolvedArgError(KeyError):
    """A `{{...}}` tag with no supplied value: the controller refuses to create the AnalysisRun."""


def resolve_args(template: str, args: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        tag = match.group(1).strip()
        name = tag.removeprefix("args.")
        if not tag.startswith("args.") or name not in args:
            raise UnresolvedArgError(f"failed to resolve {{{{{match.group(1)}}}}}")
        return args[name]

    return _TAG.sub(substitute, template)


def referenced_args(text: str) -> set[str]:
    """Argument names a template string uses."""
    return set(_ARG_REF.findall(text))


def analysis_queries(templates: Iterable[Manifest], args: Mapping[str, str]) -> dict[str, str]:
    """Metric name -> Prometheus query with `args` substituted, for every metric of `templates`."""
    queries: dict[str, str] = {}
    for template in templates:
        for metric in template["spec"]["metrics"]:
            queries[metric["name"]] = resolve_args(metric["provider"]["prometheus"]["query"], args)
    return queries


def recording_rule_name(metric_name: str) -> str:
    return "analysis:" + metric_name.replace("-", "_")


def recording_rules(queries: Mapping[str, str]) -> dict[str, Any]:
    """A Prometheus rules file recording each query as `analysis:<metric_name>`."""
    return {
        "groups": [
            {
                "name": "analysis-templates",
                "rules": [
                    {"record": recording_rule_name(name), "expr": expr} for name, expr in queries.items()
                ],
            }
        ]
    }


# --- conditions ---------------------------------------------------------------------------------------------

_CONDITION_TOKENS = re.compile(
    r"""\s*(?:
        (?P<len>len\(result\))
      | (?P<first>result\[0\])
      | (?P<isnan>isNaN\()
      | (?P<and>&&) | (?P<or>\|\|)
      | (?P<not>!(?=\s*(?:isNaN\(|\()))
      | (?P<cmp>>=|<=|==|!=|>|<)
      | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
      | (?P<paren>[()])
    )""",
    re.VERBOSE,
)
_PYTHON = {
    "len": "len(result)",
    "first": "result[0]",
    "isnan": "isnan(",
    "and": " and ",
    "or": " or ",
    "not": " not ",
}


class UnsupportedConditionError(ValueError):
    """The condition uses expr syntax outside the subset these tests can evaluate faithfully."""


def _to_python(condition: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(condition):
        match = _CONDITION_TOKENS.match(condition, position)
        if not match or match.end() == position:
            raise UnsupportedConditionError(f"cannot evaluate {condition!r} from position {position}")
        kind = match.lastgroup
        assert kind is not None
        out.append(_PYTHON.get(kind, match.group(kind)))
        position = match.end()
    return "".join(out)


def evaluate_condition(condition: str, result: Sequence[float]) -> bool:
    """Evaluate a success/failure condition against a Prometheus vector result (a list of floats)."""
    value = eval(
        _to_python(condition), {"__builtins__": {}}, {"len": len, "result": list(result), "isnan": math.isnan}
    )
    if not isinstance(value, bool):
        raise UnsupportedConditionError(f"{condition!r} does not evaluate to a boolean")
    return value


def measurement_phase(metric: Mapping[str, Any], result: Sequence[float]) -> str:
    """Successful / Failed / Inconclusive / Error, as the controller decides for one measurement."""
    success = metric.get("successCondition", "")
    failure = metric.get("failureCondition", "")
    try:
        succeeded = evaluate_condition(success, result) if success else False
        failed = evaluate_condition(failure, result) if failure else False
    except IndexError:
        return "Error"
    if not success and not failure:
        return "Successful"
    if success and not failure:
        failed = not succeeded
    if failure and not success:
        succeeded = not failed
    if failed:
        return "Failed"
    return "Successful" if succeeded else "Inconclusive"


# --- arguments ----------------------------------------------------------------------------------------------

_LABEL_PATH = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def field_ref(rollout: Manifest, path: str) -> str:
    """`valueFrom.fieldRef.fieldPath` on the Rollout, for the paths the controller resolves from metadata."""
    if path in ("metadata.name", "metadata.namespace"):
        return str(rollout["metadata"][path.split(".")[1]])
    match = _LABEL_PATH.match(path)
    if match and match.group(2) in rollout["metadata"].get(match.group(1), {}):
        return str(rollout["metadata"][match.group(1)][match.group(2)])
    raise KeyError(f"{path} does not resolve on Rollout {rollout['metadata']['name']}")


def run_args(rollout: Manifest, analysis: Mapping[str, Any], templates: Iterable[Manifest]) -> dict[str, str]:
    """An AnalysisRun's arguments: template defaults overridden by the step's args, fieldRefs resolved."""
    args: dict[str, str] = {}
    for template in templates:
        for arg in template["spec"].get("args", []):
            if "value" in arg:
                args[arg["name"]] = arg["value"]
    for arg in analysis.get("args", []):
        if "value" in arg:
            args[arg["name"]] = arg["value"]
        elif "fieldRef" in arg.get("valueFrom", {}):
            args[arg["name"]] = field_ref(rollout, arg["valueFrom"]["fieldRef"]["fieldPath"])
    return args
