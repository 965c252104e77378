"""LeNet-5 (LeCun et al., 1998): two convolution + pooling stages, then three fully connected layers."""
from lamina.nn.activation import Tanh
from lamina.nn.containers import Sequential
from lamina.nn.conv import Conv2d
from lamina.nn.flatten import Flatten
from lamina.nn.linear import Linear
from lamina.nn.module import Module
from lamina.nn.pooling import AvgPool2d


class LeNet5(Module):
    """LeNet-5 for 28x28 images (MNIST): the first convolution pads by 2, so the feature maps are the paper's
    28x28 -> 14x14 -> 10x10 -> 5x5, with tanh activations and average pooling as in the original.

    ``features``: Conv2d(in, 6, 5, padding=2) -> Tanh -> AvgPool2d(2) -> Conv2d(6, 16, 5) -> Tanh -> AvgPool2d(2).
    ``classifier``: Flatten -> Linear(400, 120) -> Tanh -> Linear(120, 84) -> Tanh -> Linear(84, num_classes).

    Args:
        num_classes: outputs (logits) of the last layer.
        in_channels: channels of the input images.

    Example:
        >>> model = lamina.models.LeNet5()
        >>> model(lamina.randn(8, 1, 28, 28)).shape
        lamina.Size([8, 10])
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = Sequential(
            Conv2d(in_channels, 6, kernel_size=5, padding=2), Tanh(), AvgPool2d(2),
            Conv2d(6, 16, kernel_size=5), Tanh(), AvgPool2d(2),
        )
        self.classifier = Sequential(
            Flatten(), Linear(16 * 5 * 5, 120), Tanh(), Linear(120, 84), Tanh(), Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
