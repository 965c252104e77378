"""Optimizers and learning-rate schedulers (torch.optim), shared by the PyTorch and Keras idioms.

Example:
    >>> opt = lamina.optim.AdamW(model.parameters(), lr=1e-3)
    >>> sched = lamina.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    >>> for x, y in loader:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
    ...     sched.step()
"""
from lamina.optim.optimizer import Optimizer, required
from lamina.optim.sgd import SGD
from lamina.optim.adam import Adam, AdamW
from lamina.optim.rmsprop import RMSprop
from lamina.optim.adagrad import Adagrad
from lamina.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
