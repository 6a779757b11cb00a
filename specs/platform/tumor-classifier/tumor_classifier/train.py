"""A small PyTorch MLP for the breast-cancer data: standardisation inside the model, so the served
model takes raw measurements; seeded so that the same data and hyperparameters give the same model."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from runtime.contract import TrainingInput


class TumorClassifier(nn.Module):
    """Raw features -> probability that the tumour is benign."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.net = nn.Sequential(
            nn.Linear(mean.numel(), hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


def fit(inp: TrainingInput) -> nn.Module:
    hp = inp.hyperparameters
    torch.manual_seed(int(hp.get("seed", 0)))
    torch.use_deterministic_algorithms(True)
    device = torch.device(inp.device)
    x = torch.tensor(inp.train[inp.features].to_numpy(dtype=np.float32), device=device)
    y = torch.tensor(inp.train[inp.target].to_numpy(dtype=np.float32), device=device)
    model = TumorClassifier(x.mean(0), x.std(0).clamp_min(1e-6), int(hp.get("hidden_units", 64))).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=float(hp.get("lr", 1e-3)),
                                  weight_decay=float(hp.get("weight_decay", 0.0)))
    loss_fn = nn.BCEWithLogitsLoss()
    batch, epochs = int(hp.get("batch_size", 64)), int(hp.get("epochs", 50))
    generator = torch.Generator(device="cpu").manual_seed(int(hp.get("seed", 0)))
    started = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            optimiser.zero_grad()
            loss = loss_fn(model.logits(x[index]), y[index])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(index)
        inp.log_metric("train_loss", total / len(x), epoch)
    elapsed = time.perf_counter() - started
    inp.log_metric("train_samples_per_second", epochs * len(x) / elapsed, epochs)
    return model.eval()
