"""The `fairness` stage: a fairlearn audit of the held-out predictions per sensitive attribute of the contract.

For each attribute (numeric ones banded on the contract's edges), and for the intersection of all of them, a
fairlearn `MetricFrame` gives per group: count, positives, selection rate, TPR, FPR, precision and accuracy. The
differences (demographic parity difference and ratio, equalized odds difference) are computed over the groups with
at least `fairness.min_group_size` rows; smaller groups stay in the table, flagged `small`, and are listed.

It always runs on the whole held-out split: a fairness figure for a small group measured on a sample is noise.
A rate a group cannot have (TPR without positives, FPR without negatives) is null and left out of the differences,
where fairlearn's own metrics would count it as 0.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core import paths
from model.core.contract import Contract, SensitiveAttribute
from model.core.dataset import features, labels
from model.core.errors import LighthouseError
from model.core.io import write_json
from model.core.params import FairnessParams
from model.core.plotting import clear_pngs, pyplot, save_png, slug
from model.stages.stage_inputs import load_held_out

DECIMALS = 6
INTERSECTION = "intersection"
#: The per-group rates drawn in the plots, in this order.
PLOTTED = ("selection_rate", "true_positive_rate", "false_positive_rate")


def _rate_among(y_true: np.ndarray, y_pred: np.ndarray, label: int) -> float:
    """Share predicted positive among rows whose true label is `label`; NaN when there are none."""
    mask = np.asarray(y_true) == label
    return float(np.mean(np.asarray(y_pred)[mask] == 1)) if mask.any() else float("nan")


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """[tn, fp, fn, tp] of one group: the only metric handed to the MetricFrame.

    fairlearn converts every row of every argument for every metric and group it evaluates, which at 500k rows
    costs about a minute for seven metrics; all seven rates follow exactly from these four counts.
    """
    codes = 2 * np.asarray(y_true, dtype=np.int64) + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(codes, minlength=4)[:4]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def rates(counts: np.ndarray) -> dict[str, float]:
    """Per-group figures from [tn, fp, fn, tp]; a rate with an empty denominator is NaN (undefined)."""
    tn, fp, fn, tp = (float(c) for c in counts)
    total = tn + fp + fn + tp
    return {
        "count": total,
        "positives": fn + tp,
        "selection_rate": _ratio(fp + tp, total),
        "true_positive_rate": _ratio(tp, tp + fn),
        "false_positive_rate": _ratio(fp, fp + tn),
        "precision": _ratio(tp, tp + fp),
        "accuracy": _ratio(tp + tn, total),
    }


def _clean(value: Any) -> Any:
    """Round floats for stable JSON; NaN (undefined) becomes null."""
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), DECIMALS)
    if isinstance(value, np.integer):
        return int(value)
    return value


def describe(entry: dict[str, Any]) -> str:
    """`DPD 0.0314, EOD 0.0749`, or why the differences were not assessed."""
    if entry["demographic_parity_difference"] is None:
        return str(entry["note"])
    eod = entry["equalized_odds_difference"]
    return f"DPD {entry['demographic_parity_difference']:.4f}, EOD " + ("n/a" if eod is None else f"{eod:.4f}")


def entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every audited entry of a report: the attributes, then the intersection when there is one."""
    return [*report["attributes"].values(), *([report["intersection"]] if report.get("intersection") else [])]


def _edge(value: float) -> str:
    return f"{value:g}"


def band_labels(edges: tuple[float, ...], integer: bool) -> list[str]:
    """Readable names of the half-open bands [e_i, e_i+1) and the open last one: `18-24`, `35+` for integers."""
    names = []
    for low, high in itertools.pairwise(edges):
        if integer and float(low).is_integer() and float(high).is_integer():
            names.append(f"{_edge(low)}-{_edge(high - 1)}")
        else:
            names.append(f"[{_edge(low)}, {_edge(high)})")
    names.append(f"{_edge(edges[-1])}+" if integer else f">={_edge(edges[-1])}")
    return names


def group_labels(frame: pd.DataFrame, contract: Contract, attribute: SensitiveAttribute) -> tuple[pd.Series, list[str]]:
    """Each row's group name for `attribute`, and every group name in contract order (bands or categories)."""
    column = contract.by_name[attribute.column]
    values = frame[attribute.column]
    if attribute.bands is not None:
        edges = attribute.bands
        names = band_labels(edges, integer=column.dtype == "integer")
        below = f"<{_edge(edges[0])}"
        codes = np.searchsorted(np.asarray(edges), values.to_numpy(dtype=float), side="right") - 1
        row_names = [below if code < 0 else names[code] for code in codes]
        return pd.Series(row_names, index=frame.index, dtype=object), [below, *names]
    if column.categories is not None:
        order = [column.label_of(c) for c in column.categories]
        return values.map(column.label_of).astype(object), order
    # A boolean attribute: its two values.
    return values.astype(str).astype(object), sorted(values.astype(str).unique())


def audit_groups(
    name: str,
    columns: list[str],
    groups: pd.Series,
    order: list[str],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    min_group_size: int,
) -> dict[str, Any]:
    """The per-group table and the between-group differences over the groups large enough to assess."""
    from fairlearn.metrics import MetricFrame

    frame = MetricFrame(
        metrics={"counts": confusion_counts}, y_true=y_true, y_pred=y_pred, sensitive_features=groups.rename(name)
    )
    by_group = pd.DataFrame({group: rates(counts) for group, counts in frame.by_group["counts"].items()}).T
    present = [g for g in order if g in by_group.index]
    table = []
    for group in present:
        row = {metric: _clean(by_group.loc[group, metric]) for metric in by_group.columns}
        row["count"] = int(row["count"])
        row["positives"] = int(row["positives"])
        table.append({"group": group, **row, "small": row["count"] < min_group_size})
    small = [row["group"] for row in table if row["small"]]
    assessed = [row["group"] for row in table if not row["small"]]
    entry: dict[str, Any] = {
        "name": name,
        "columns": columns,
        "groups": table,
        "small_groups": small,
        "assessed_groups": assessed,
        "demographic_parity_difference": None,
        "demographic_parity_ratio": None,
        "equalized_odds_difference": None,
        "note": "",
    }
    if len(assessed) < 2:
        entry["note"] = (
            f"fewer than two groups have at least {min_group_size} rows ({len(assessed)} do): differences not assessed"
        )
        return entry
    compared = by_group.loc[assessed, ["selection_rate", "true_positive_rate", "false_positive_rate"]].astype(float)
    spread = compared.max() - compared.min()  # NaN (undefined rates) skipped, as fairlearn's between_groups does
    low, high = compared["selection_rate"].min(), compared["selection_rate"].max()
    entry["demographic_parity_difference"] = _clean(spread["selection_rate"])
    entry["demographic_parity_ratio"] = _clean(low / high if high > 0 else float("nan"))
    entry["equalized_odds_difference"] = _clean(
        np.nanmax([spread["true_positive_rate"], spread["false_positive_rate"]])
    )
    if small:
        entry["note"] = f"{len(small)} group(s) under {min_group_size} rows reported but not assessed"
    return entry


def audit(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    contract: Contract,
    params: FairnessParams,
    threshold: float,
) -> dict[str, Any]:
    """The whole fairness report for predictions `y_pred` on `frame` (the held-out split)."""
    attributes: dict[str, dict[str, Any]] = {}
    labelled: list[tuple[pd.Series, list[str]]] = []
    for attribute in contract.sensitive_attributes:
        groups, order = group_labels(frame, contract, attribute)
        labelled.append((groups, order))
        attributes[attribute.column] = {
            **audit_groups(attribute.column, [attribute.column], groups, order, y_true, y_pred, params.min_group_size),
            "bands": list(attribute.bands) if attribute.bands is not None else None,
        }
    intersection = None
    if params.intersection and len(labelled) >= 2:
        combined = pd.Series(
            [" / ".join(parts) for parts in zip(*(g.tolist() for g, _ in labelled), strict=True)],
            index=frame.index,
            dtype=object,
        )
        order = [" / ".join(parts) for parts in itertools.product(*(o for _, o in labelled))]
        columns = [a.column for a in contract.sensitive_attributes]
        intersection = {
            **audit_groups(INTERSECTION, columns, combined, order, y_true, y_pred, params.min_group_size),
            "bands": None,
        }
    return {
        "rows": len(frame),
        "threshold": threshold,
        "min_group_size": params.min_group_size,
        "positive_label": contract.target.positive_label,
        "overall": {
            "selection_rate": _clean(float(np.mean(y_pred == 1))),
            "true_positive_rate": _clean(_rate_among(y_true, y_pred, 1)),
            "false_positive_rate": _clean(_rate_among(y_true, y_pred, 0)),
        },
        "attributes": attributes,  # keyed by attribute, as the release record's `fairness` is (ci/release_record.py)
        "intersection": intersection,
    }


def plot_entry(entry: dict[str, Any], target: Path) -> None:
    """Grouped horizontal bars of selection rate, TPR and FPR per group; small groups marked."""
    plt = pyplot()
    groups = entry["groups"]
    height = 0.8 / len(PLOTTED)
    figure, axes = plt.subplots(figsize=(7.5, 1.2 + 0.45 * len(groups) * len(PLOTTED) / 2))
    positions = np.arange(len(groups))
    for i, metric in enumerate(PLOTTED):
        values = [row[metric] if row[metric] is not None else 0.0 for row in groups]
        axes.barh(positions + i * height, values, height=height, label=metric.replace("_", " "))
    axes.set_yticks(
        positions + height, [f"{row['group']} (n={row['count']}{', small' if row['small'] else ''})" for row in groups]
    )
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    summary = "not assessed" if entry["demographic_parity_difference"] is None else describe(entry)
    axes.set_title(f"Fairness by {entry['name']}: {summary}")
    axes.legend(loc="lower right", fontsize="small")
    save_png(figure, target)


def write_plots(report: dict[str, Any], directory: Path) -> list[Path]:
    clear_pngs(directory)
    written = []
    for entry in entries(report):
        target = directory / f"{slug(entry['name'])}.png"
        plot_entry(entry, target)
        written.append(target)
    return written


def _log_to_mlflow(run_id: str, experiment: str, report: dict[str, Any]) -> None:
    from model.core.tracking import configure, training_run

    mlflow = configure(experiment)
    values = {}
    for entry in entries(report):
        for key in ("demographic_parity_difference", "equalized_odds_difference"):
            if entry[key] is not None:
                values[f"fairness.{slug(entry['name'])}.{key}"] = entry[key]
    with training_run(mlflow, run_id, "fairness"):
        mlflow.log_metrics(values)
        mlflow.log_artifact(str(paths.FAIRNESS_REPORT))
        mlflow.log_artifacts(str(paths.FAIRNESS_PLOTS), artifact_path="plots/fairness")


def main() -> int:
    try:
        held_out = load_held_out()
    except LighthouseError as exc:
        print(f"fairness: {exc}", file=sys.stderr)
        return 2
    contract, params, model, record, test = (
        held_out.contract,
        held_out.params,
        held_out.model,
        held_out.record,
        held_out.test,
    )
    threshold = params.evaluate.threshold
    y_pred = (model.predict_proba(features(test, contract))[:, 1] >= threshold).astype(np.int64)
    report = audit(test, labels(test, contract), y_pred, contract, params.fairness, threshold)
    write_json(paths.FAIRNESS_REPORT, report)
    write_plots(report, paths.FAIRNESS_PLOTS)
    if record.mlflow_run_id:
        _log_to_mlflow(record.mlflow_run_id, params.tracking.experiment, report)
    for entry in entries(report):
        print(f"fairness: {entry['name']}: {len(entry['groups'])} groups, {describe(entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
