"""``lamina.models``: reference models built from ``lamina.nn`` layers and ``lamina.nn.blocks``.

Each is a short, readable composition meant to be read and trained: ``LeNet5`` (a classic CNN), ``ResNet``
with ``resnet18`` / ``resnet34`` / ``resnet50`` (torchvision's state_dict names), and ``GPT`` (a GPT-2-style
decoder-only transformer).
"""
from lamina.models.lenet import LeNet5
from lamina.models.resnet import ResNet, resnet18, resnet34, resnet50
from lamina.models.gpt import GPT

__all__ = ["LeNet5", "ResNet", "resnet18", "resnet34", "resnet50", "GPT"]
