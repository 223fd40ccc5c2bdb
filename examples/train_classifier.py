"""A small training script with the mistakes logitlint finds (run: logitlint check examples/)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, features: int = 20, classes: int = 5):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        return self.body(x)


def train(model: nn.Module, batches, epochs: int = 3):
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        for x, y in batches:
            logits = model(x)
            probs = F.softmax(logits, dim=1)
            loss = criterion(probs, y)  # double softmax: the loss is squashed, the model stalls
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def evaluate(model: nn.Module, x, y):
    logits = model(x)
    log_probs = torch.log(F.softmax(logits, dim=1))  # -inf where softmax underflows
    nll = F.nll_loss(log_probs, y)
    predictions = torch.argmax(F.softmax(logits, dim=1), dim=1)
    return nll, (predictions == y).float().mean()


if __name__ == "__main__":
    torch.manual_seed(0)
    data = [(torch.randn(32, 20), torch.randint(0, 5, (32,))) for _ in range(10)]
    model = train(Classifier(), data)
    print(evaluate(model, *data[0]))
