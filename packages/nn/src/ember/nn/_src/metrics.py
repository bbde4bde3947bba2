"""``nn.metrics``: metrics as small modules whose running totals are Variables, so they can be
updated inside ``nn.jit`` and read (``compute``) outside.

    >>> import ember.core.numpy as jnp
    >>> from ember.nn import metrics
    >>> m = metrics.MultiMetric(loss=metrics.Average("loss"), accuracy=metrics.Accuracy())
    >>> m.update(loss=jnp.array(0.5), logits=jnp.array([[0.1, 0.9], [0.8, 0.2]]), labels=jnp.array([1, 1]))
    >>> {k: round(float(v), 3) for k, v in m.compute().items()}
    {'loss': 0.5, 'accuracy': 0.5}
"""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp

from .module import Module
from .variables import Variable

__all__ = ["Metric", "MetricState", "Average", "Accuracy", "Welford", "MultiMetric"]


class MetricState(Variable):
    """Kind of a metric's running state."""


class Metric(Module):
    """Base class: ``reset()``, ``update(**kwargs)``, ``compute()``."""

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute(self) -> Any:
        raise NotImplementedError


class Average(Metric):
    """Mean of the values passed as ``update(<argname>=values)`` (scalars or arrays)."""

    def __init__(self, argname: str = "values"):
        self.argname = argname
        self.total = MetricState(jnp.array(0, dtype=jnp.float32))
        self.count = MetricState(jnp.array(0, dtype=jnp.int32))

    def reset(self) -> None:
        self.total.value = jnp.array(0, dtype=jnp.float32)
        self.count.value = jnp.array(0, dtype=jnp.int32)

    def update(self, **kwargs: Any) -> None:
        if self.argname not in kwargs:
            raise TypeError(f"{type(self).__name__}.update expects the keyword argument {self.argname!r}")
        values = jnp.asarray(kwargs[self.argname])
        self.total.value = self.total.value + values.sum().astype(jnp.float32)
        self.count.value = self.count.value + values.size

    def compute(self) -> Any:
        return self.total.value / self.count.value


class Accuracy(Average):
    """Fraction of correct predictions: ``update(logits=..., labels=...)``.

    With ``logits`` one rank above ``labels`` the prediction is the argmax; with the same rank it is
    ``logits > threshold`` (binary; ``threshold`` defaults to 0.5).
    """

    def __init__(self, threshold: float | None = None, argname: str = "values"):
        super().__init__(argname)
        self.threshold = threshold

    def update(self, *, logits: Any, labels: Any, **kwargs: Any) -> None:  # type: ignore[override]
        logits = jnp.asarray(logits)
        labels = jnp.asarray(labels)
        if logits.ndim == labels.ndim + 1:
            preds = jnp.argmax(logits, axis=-1)
        elif logits.ndim == labels.ndim:
            preds = logits > (0.5 if self.threshold is None else self.threshold)
            labels = labels.astype(bool) if labels.dtype != bool else labels
        else:
            raise ValueError(f"Accuracy: logits shape {logits.shape} does not match labels shape {labels.shape}")
        super().update(**{self.argname: (preds == labels).astype(jnp.float32)})


class Welford(Metric):
    """Running mean and standard deviation (Welford's algorithm): ``compute()`` -> (mean, std)."""

    def __init__(self, argname: str = "values"):
        self.argname = argname
        self.count = MetricState(jnp.array(0, dtype=jnp.int32))
        self.mean = MetricState(jnp.array(0, dtype=jnp.float32))
        self.m2 = MetricState(jnp.array(0, dtype=jnp.float32))

    def reset(self) -> None:
        self.count.value = jnp.array(0, dtype=jnp.int32)
        self.mean.value = jnp.array(0, dtype=jnp.float32)
        self.m2.value = jnp.array(0, dtype=jnp.float32)

    def update(self, **kwargs: Any) -> None:
        values = jnp.asarray(kwargs[self.argname], jnp.float32).reshape(-1)
        n_b = values.size
        mean_b = values.mean()
        m2_b = ((values - mean_b) ** 2).sum()
        n_a = self.count.value.astype(jnp.float32)
        n = n_a + n_b
        delta = mean_b - self.mean.value
        self.mean.value = self.mean.value + delta * n_b / n
        self.m2.value = self.m2.value + m2_b + delta ** 2 * n_a * n_b / n
        self.count.value = self.count.value + n_b

    def compute(self) -> Any:
        return self.mean.value, jnp.sqrt(self.m2.value / self.count.value)


class MultiMetric(Metric):
    """Several metrics updated together: every ``update`` keyword goes to every metric."""

    def __init__(self, **metrics: Metric):
        self._metric_names = tuple(metrics)
        for name, m in metrics.items():
            setattr(self, name, m)

    def reset(self) -> None:
        for name in self._metric_names:
            getattr(self, name).reset()

    def update(self, **kwargs: Any) -> None:
        for name in self._metric_names:
            getattr(self, name).update(**kwargs)

    def compute(self) -> dict[str, Any]:
        return {name: getattr(self, name).compute() for name in self._metric_names}
