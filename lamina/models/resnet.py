"""ResNet (He et al., 2015) in torchvision's layout, so its state_dict keys are torchvision's."""
from lamina.errors import ArgumentError
from lamina.nn import init
from lamina.nn.activation import ReLU
from lamina.nn.blocks import BasicBlock, Bottleneck, conv1x1
from lamina.nn.containers import Sequential
from lamina.nn.conv import Conv2d
from lamina.nn.linear import Linear
from lamina.nn.module import Module
from lamina.nn.normalization import BatchNorm2d
from lamina.nn.pooling import AdaptiveAvgPool2d, MaxPool2d


class ResNet(Module):
    """A stem (7x7 stride-2 conv, BatchNorm, ReLU, 3x3 stride-2 max-pool), four stages of residual blocks with
    64, 128, 256, 512 planes (stages 2-4 halve the resolution), global average pooling and a Linear classifier.

    Args:
        block: ``BasicBlock`` or ``Bottleneck`` (from ``lamina.nn.blocks``) or any block class with the same
            constructor and an ``expansion`` attribute.
        layers: the number of blocks in each of the four stages (``[2, 2, 2, 2]`` is ResNet-18).
        num_classes: outputs of ``fc``.
        in_channels: channels of the input images.
        zero_init_residual: start each block's last BatchNorm weight at zero, so each block begins as the
            identity (helps training, per "Bag of Tricks").

    Example:
        >>> model = lamina.models.ResNet(lamina.nn.blocks.BasicBlock, [1, 1, 1, 1], num_classes=10)
        >>> model(lamina.randn(2, 3, 32, 32)).shape
        lamina.Size([2, 10])
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, zero_init_residual=False):
        super().__init__()
        if len(layers) != 4:
            raise ArgumentError(f"ResNet: layers must give the number of blocks of the 4 stages, got {layers!r}")
        self.inplanes = 64
        self.conv1 = Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = ReLU()
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        """One stage: the first block changes stride / channels (with a conv1x1 + BatchNorm shortcut)."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                    BatchNorm2d(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return Sequential(*stage)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-18: BasicBlocks in stages of [2, 2, 2, 2] (11.7M parameters with 1000 classes)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


def resnet34(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-34: BasicBlocks in stages of [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def resnet50(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-50: Bottlenecks in stages of [3, 4, 6, 3]."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)
