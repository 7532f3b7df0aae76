"""Acceptance on the real example data: held-out batches score ok; a shifted numeric feature, a changed category
mix or a changed label relationship is flagged on the right feature (or on performance) and nowhere else.
Every batch is sampled from the held-out split the project's own split stage wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.monitor.report import EXIT_ALERT, EXIT_OK, EXIT_WARN
from tests.model.monitor.conftest import Example
from tests.model.monitor.helpers import judge_batch, psi_of, statuses

BATCH_ROWS = 1000


def held_out(example: Example, seed: int, *, with_labels: bool = False) -> pd.DataFrame:
    batch = example.test.sample(BATCH_ROWS, replace=True, random_state=seed).reset_index(drop=True)
    return batch if with_labels else batch.drop(columns=[example.contract.target.column])


def with_share(frame: pd.DataFrame, column: str, value: str, share: float, others: str, seed: int) -> pd.DataFrame:
    """`column` set to `value` in exactly `share` of the rows (chosen at random), `others` elsewhere."""
    chosen = np.random.default_rng(seed).permutation(len(frame)) < round(share * len(frame))
    return frame.assign(**{column: np.where(chosen, value, others)})


def only_flagged(report: dict, *names: str) -> None:
    """Exactly `names` are flagged among the features."""
    flagged = {f["name"] for f in report["features"] if f["status"] != "ok"}
    assert flagged == set(names), report["findings"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_out_batches_score_ok(example: Example, tmp_path: Path, seed: int) -> None:
    code, report = judge_batch(example, tmp_path, held_out(example, seed, with_labels=True))
    assert (code, report["status"]) == (EXIT_OK, "ok"), report["findings"]
    assert set(statuses(report).values()) == {"ok"}
    assert all(f["psi"] < example.params.monitor.psi_warn for f in report["features"])
    assert report["performance"]["labelled_rows"] == BATCH_ROWS


@pytest.mark.parametrize(
    ("feature", "shift"),
    [("age", 5), ("checks", 2)],
    ids=["age+5y", "checks+2"],
)
def test_a_shifted_numeric_feature_alerts_on_that_feature_only(
    example: Example, tmp_path: Path, feature: str, shift: int
) -> None:
    batch = held_out(example, 3)
    upper = example.contract.by_name[feature].max
    batch[feature] = (batch[feature] + shift).clip(upper=upper)  # stays inside the contract: drift, not bad data
    code, report = judge_batch(example, tmp_path, batch)
    assert (code, report["status"]) == (EXIT_ALERT, "alert")
    only_flagged(report, feature)
    assert psi_of(report, feature) >= example.params.monitor.psi_alert
    assert report["quality"]["status"] == "ok"


def test_a_changed_category_mix_alerts_on_that_feature_only(example: Example, tmp_path: Path) -> None:
    batch = with_share(held_out(example, 4), "employed", "No", 0.7, "Yes", seed=4)
    code, report = judge_batch(example, tmp_path, batch)
    assert code == EXIT_ALERT
    only_flagged(report, "employed")
    employed = next(f for f in report["features"] if f["name"] == "employed")
    assert employed["test"] == "chi2"
    assert employed["p_value"] < 1e-6
    assert employed["window"][employed["bins"].index("No")] == pytest.approx(0.7)


def test_a_moderate_category_shift_warns(example: Example, tmp_path: Path) -> None:
    reference_share = float((example.train["citizen"] == "No").mean())
    batch = with_share(held_out(example, 5), "citizen", "No", 0.3, "Yes", seed=5)
    code, report = judge_batch(example, tmp_path, batch)
    assert reference_share < 0.2
    monitor = example.params.monitor
    assert monitor.psi_warn <= psi_of(report, "citizen") < monitor.psi_alert
    assert (code, report["status"]) == (EXIT_WARN, "warn")
    only_flagged(report, "citizen")


def test_a_changed_label_relationship_alerts_on_performance_only(example: Example, tmp_path: Path) -> None:
    """Same inputs, same label mix, but the labels no longer follow the inputs (concept drift)."""
    batch = held_out(example, 6, with_labels=True)
    target = example.contract.target.column
    batch[target] = np.random.default_rng(6).permutation(batch[target].to_numpy())
    code, report = judge_batch(example, tmp_path, batch)
    assert code == EXIT_ALERT
    found = statuses(report)
    assert found.pop("performance") == "alert"
    assert set(found.values()) == {"ok"}, report["findings"]
    perf = report["performance"]
    assert perf["drop"] >= example.params.monitor.metric_drop_alert
    assert perf["window"]["roc_auc"] < perf["reference"]["roc_auc"]


def test_contract_violations_are_rated_per_column(example: Example, tmp_path: Path) -> None:
    batch = held_out(example, 7)
    rows = np.random.default_rng(7).permutation(len(batch))
    batch["age"] = batch["age"].astype("Float64")
    batch.loc[rows[:50], "age"] = None  # 5% missing
    batch.loc[rows[50:55], "age"] = 130  # 0.5% out of range
    batch.loc[rows[55:60], "sex"] = "Unknown"  # 0.5% outside the categories
    code, report = judge_batch(example, tmp_path, batch)
    quality = {q["column"]: q for q in report["quality"]["columns"]}
    assert (quality["age"]["missing"], quality["age"]["out_of_domain"]) == (50, 5)
    assert quality["age"]["violation_rate"] == pytest.approx(0.055)
    assert quality["age"]["status"] == "alert"
    assert 130 in quality["age"]["examples"]
    assert (quality["sex"]["out_of_domain"], quality["sex"]["status"]) == (5, "warn")
    assert quality["year"]["status"] == "ok"
    assert code == EXIT_ALERT
    sex = next(f for f in report["features"] if f["name"] == "sex")
    assert sex["window"][sex["bins"].index("(other)")] == pytest.approx(0.005)
