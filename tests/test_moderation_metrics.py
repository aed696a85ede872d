"""Evaluation metrics match hand-computed values; thresholds are tuned for F1."""

import numpy as np
import pytest

from moderation.evaluate import auroc, average_precision, best_threshold, compute_metrics, model_card, pr_curve


def test_auroc_counts_correctly_ordered_pairs_and_ties_as_half():
    # Pairs (positive, negative): (.35,.1) yes, (.35,.4) no, (.8,.1) yes, (.8,.4) yes -> 3/4.
    assert auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert auroc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert auroc(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_precision_recall_curve_and_average_precision():
    y, s = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])
    precision, recall, thresholds = pr_curve(y, s)
    assert thresholds.tolist() == [0.9, 0.8, 0.7, 0.1]
    assert precision.tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.5])
    assert recall.tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])
    assert average_precision(y, s) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_best_threshold_sits_between_the_classes_when_they_separate():
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.7, 0.9])
    assert best_threshold(y, s) == pytest.approx(0.5)
    assert best_threshold(np.array([0, 0]), np.array([0.2, 0.9])) == 0.5  # nothing to tune on


def test_compute_metrics_macro_micro_and_unsafe():
    keys = ["a", "b", "c"]
    Y = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 1]])
    P = np.array([[0.9, 0.2, 0.1, 0.8], [0.6, 0.7, 0.2, 0.9], [0.1, 0.1, 0.6, 0.2], [0.4, 0.1, 0.1, 0.7]])
    thresholds = {"a": 0.5, "b": 0.5, "c": 0.5, "unsafe": 0.5}
    m = compute_metrics(Y, P, thresholds, keys)
    a = m["categories"]["a"]
    assert (a["tp"], a["fp"], a["fn"]) == (1, 1, 1) and a["f1"] == pytest.approx(0.5)
    assert m["categories"]["b"]["f1"] == pytest.approx(1.0)
    assert m["absent_categories"] == ["c"] and m["macro"]["categories"] == 2
    assert m["macro"]["f1"] == pytest.approx(0.75)  # c has no positives: left out of the macro average
    # Micro pools a, b and c: tp 2, fp 2 (a once, c once), fn 1.
    assert m["micro"]["precision"] == pytest.approx(0.5) and m["micro"]["recall"] == pytest.approx(2 / 3)
    assert m["unsafe"]["f1"] == pytest.approx(1.0) and m["unsafe"]["auroc"] == pytest.approx(1.0)


def test_a_category_without_held_out_positives_reads_n_a_in_the_card_not_zero():
    keys = ["violence", "porn"]
    Y = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]])
    P = np.array([[0.9, 0.7, 0.9], [0.1, 0.2, 0.1], [0.8, 0.1, 0.8]])  # c: one false alarm, no positives
    m = compute_metrics(Y, P, {"violence": 0.5, "porn": 0.5, "unsafe": 0.5}, keys)
    c = m["categories"]["porn"]
    assert (c["support"], c["fp"]) == (0, 1)
    assert c["precision"] is None and c["recall"] is None and c["f1"] is None and c["auroc"] is None
    row = next(line for line in model_card(m, keys, {}).splitlines() if line.startswith("| porn | n"))
    assert row.count("n/a") >= 4 and "0.000" not in row
    assert "porn" in m["absent_categories"]
    # Found nothing although there were positives: recall and F1 are a real 0, precision undefined.
    missed = compute_metrics(np.array([[1, 1]]), np.array([[0.1, 0.1]]), {"a": 0.5, "unsafe": 0.5}, ["a"])
    a = missed["categories"]["a"]
    assert (a["recall"], a["f1"], a["precision"]) == (0.0, 0.0, None)
