"""A model on a whole split: its mean loss and predictions, and the test set's score.

Kept apart from the training loop (:mod:`lrtui.engine.trainer`): validation, the test and the range test's
checks all evaluate the same way, in large batches under ``inference_mode``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.diagnostics import Observer, ValStats
from lrtui.engine.records import TestResult

#: Batch size of validation and test on the CPU, and on a GPU. Larger than training batches
#: (fewer steps, same numbers), but on the CPU not too large: at 1000 the activations fall
#: out of cache and a validation pass takes 2.3x as long as at 200 (measured).
EVAL_BATCH_CPU, EVAL_BATCH_GPU = 200, 4096
#: Test digits kept for display.
N_SAMPLES = 16


def predict(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, observer: Observer, observe: ValStats | None = None
) -> tuple[float, torch.Tensor]:
    """Mean loss and predicted classes over a whole split, in large batches; ``observe`` also
    collects dead units and prediction collapse on the way (same logits)."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    preds = []
    step = EVAL_BATCH_CPU if x.device.type == "cpu" else EVAL_BATCH_GPU
    with torch.inference_mode(), observer.observing(observe) as forward:
        for i in range(0, x.shape[0], step):
            logits = forward(x[i : i + step])
            if observe is not None:
                observe.observe(logits)
            loss_sum += F.cross_entropy(logits, y[i : i + step], reduction="sum")
            preds.append(logits.argmax(1))
    return float(loss_sum.item()) / max(1, x.shape[0]), torch.cat(preds)


def scored(
    loss: float,
    pred_t: torch.Tensor,
    true_t: torch.Tensor,
    classes: int,
    pictures: torch.Tensor | None,
    class_names: tuple[str, ...] = (),
) -> TestResult:
    """The test set's score: accuracy, loss, confusion matrix, per-class report and a few digits to show
    (misclassified ones first; none where the inputs are no images)."""
    from sklearn.metrics import classification_report

    matrix = torch.bincount(true_t * classes + pred_t, minlength=classes * classes).view(classes, classes)
    true, pred = true_t.tolist(), pred_t.tolist()
    report = classification_report(true, pred, labels=list(range(classes)), output_dict=True, zero_division=0)
    wrong = [i for i, (t, p) in enumerate(zip(true, pred)) if t != p]
    right = [i for i, (t, p) in enumerate(zip(true, pred)) if t == p]
    picked = (wrong + right)[:N_SAMPLES] if pictures is not None else []
    images = pictures[picked].reshape(len(picked), -1) if pictures is not None else torch.empty(0)
    return TestResult.of(
        accuracy=sum(t == p for t, p in zip(true, pred)) / max(1, len(true)),
        loss=loss,
        confusion_matrix=matrix.cpu().tolist(),
        report=report,
        samples={"images": images.tolist(), "true": [true[i] for i in picked], "pred": [pred[i] for i in picked]},
        class_names=class_names,
    )
