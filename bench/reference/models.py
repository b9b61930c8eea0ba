"""PyTorch definitions of Frugal's named models (src/Frugal/Models/ModelZoo.cs), layer for layer, so a
Frugal model.safetensors loads with load_state_dict unchanged. mlp and cnn are exactly the models of
../shared/bench/torch_fashion.py."""
import torch.nn as nn


def mlp(hidden=(1024, 1024), classes=10):
    layers, prev = [nn.Flatten()], 28 * 28
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    return nn.Sequential(*layers, nn.Linear(prev, classes))


def cnn(width=32, classes=10):
    def block(i, o): return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    w = width
    return nn.Sequential(*block(1, w), *block(w, w), nn.MaxPool2d(2), *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(2 * w * 7 * 7, 256), nn.ReLU(), nn.Linear(256, classes))


def lenet(classes=10):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(o)
        self.downsample = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o)) if stride != 1 or i != o else None

    def forward(self, x):
        h = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (h + (x if self.downsample is None else self.downsample(x))).relu()


def resnet(width=16, depth=2, classes=10):
    layers, c = [nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()], width
    for w, s in ((width, 1), (2 * width, 2), (4 * width, 2)):
        blocks = []
        for b in range(depth):
            blocks.append(BasicBlock(c, w, s if b == 0 else 1)); c = w
        layers.append(nn.Sequential(*blocks))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


BUILD = {"mlp": mlp, "cnn": cnn, "lenet": lenet, "resnet": resnet}


def build(kind, size=0):
    """The model by name; size (if non-zero) is the mlp's one hidden width, or the cnn/resnet first-stage
    width (resnet then has one block per stage): the small variants Frugal's tests use."""
    if not size:
        return BUILD[kind]()
    if kind == "mlp":
        return mlp(hidden=(size,))
    if kind == "resnet":
        return resnet(width=size, depth=1)
    return BUILD[kind](width=size)
