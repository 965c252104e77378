"""Training curves to a PNG (matplotlib is an optional extra: ``pip install lamina[plot]``)."""
from lamina.errors import ArgumentError, LaminaError


class MissingDependencyError(LaminaError, ImportError):
    """An optional extra that a feature needs is not installed."""


def plot_history(history, path, title=None):
    """Plot loss and accuracy curves to ``path`` (a PNG) and return the path.

    Args:
        history: a dict of metric name -> list of values per epoch (``val_`` entries are drawn dashed beside
            their training curve), or anything with a ``.history`` dict such as a Keras History.
        path: where to write the image.

    Example:
        >>> plot_history({"loss": [1.0, 0.5], "accuracy": [0.6, 0.9]}, "curves.png")
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("plot_history() needs matplotlib: pip install 'lamina[plot]'") from None
    history = getattr(history, "history", history)
    names = [k for k in history if not k.startswith("val_")] if isinstance(history, dict) else []
    if not names or not all(len(history[k]) for k in names):
        raise ArgumentError(f"plot_history(): expected a dict of metric name -> values per epoch (or a Keras "
                            f"History), with at least one training metric and one epoch; got {history!r}")
    groups = [[n for n in names if "loss" in n], [n for n in names if "loss" not in n]]
    groups = [g for g in groups if g]
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False)
    for ax, group in zip(axes[0], groups):
        for name in group:
            values = history[name]
            line, = ax.plot(range(1, len(values) + 1), values, label=name)
            if "val_" + name in history:
                ax.plot(range(1, len(history["val_" + name]) + 1), history["val_" + name], "--",
                        color=line.get_color(), label="val_" + name)
        ax.set_xlabel("epoch")
        ax.set_title(", ".join(group))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
