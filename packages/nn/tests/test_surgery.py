"""Model surgery: the operations examples/nn_*.py demonstrate, as tests."""

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


class MLP(nn.Module):
    def __init__(self, din, hidden, dout, *, rngs):
        self.backbone = nn.Sequential(nn.Linear(din, hidden, rngs=rngs), nn.relu,
                                      nn.Linear(hidden, hidden, rngs=rngs), nn.relu)
        self.head = nn.Linear(hidden, dout, rngs=rngs)

    def __call__(self, x):
        return self.head(self.backbone(x))


def blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.integers(0, 3, n)
    x = centers[labels] + rng.normal(scale=0.6, size=(n, 2))
    return jnp.asarray(x.astype(np.float32)), jnp.asarray(labels)


def xent(logits, labels):
    return -jnp.mean(jnp.take_along_axis(ec.nn.log_softmax(logits), labels[:, None], axis=1))


def train(model, tx, x, y, steps, wrt=nn.Param):
    opt = nn.Optimizer(model, tx, wrt=wrt)

    @nn.jit
    def step(model, opt, x, y):
        loss, grads = nn.value_and_grad(lambda m: xent(m(x), y), wrt=wrt)(model)
        opt.update(model, grads)
        return loss

    return [float(step(model, opt, x, y)) for _ in range(steps)]


def accuracy(model, x, y):
    return float((jnp.argmax(model(x), -1) == y).mean())


def get_path(root, path):
    node = root
    for k in path:
        node = node[k] if isinstance(node, (list, dict)) else getattr(node, k)
    return node


def set_path(root, path, value):
    parent = get_path(root, path[:-1])
    if isinstance(parent, (list, dict)):
        parent[path[-1]] = value
    else:
        setattr(parent, path[-1], value)


def test_replace_submodule_by_assignment():
    model = MLP(2, 8, 3, rngs=nn.Rngs(0))
    model.head = nn.Linear(8, 5, rngs=nn.Rngs(1))
    model.backbone.layers[1] = nn.gelu
    assert model(jnp.ones((4, 2))).shape == (4, 5)
    assert nn.state(model)["head"]["kernel"].shape == (8, 5)


def test_count_and_list_parameters_by_path():
    model = MLP(2, 8, 3, rngs=nn.Rngs(0))
    params = nn.state(model, nn.Param).flat_state()
    listing = {"/".join(map(str, p)): tuple(v.shape) for p, v in params}
    assert listing == {
        "backbone/layers/0/kernel": (2, 8), "backbone/layers/0/bias": (8,),
        "backbone/layers/2/kernel": (8, 8), "backbone/layers/2/bias": (8,),
        "head/kernel": (8, 3), "head/bias": (3,),
    }
    assert sum(v.size for _, v in params) == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    per_module = {p: sum(v.size for _, v in nn.state(m, nn.Param).flat_state())
                  for p, m in nn.iter_modules(model) if isinstance(m, nn.Linear)}
    assert per_module[("head",)] == 27


def test_lora_adapters_train_only_the_adapters(adam):
    x, y = blobs()
    model = MLP(2, 16, 3, rngs=nn.Rngs(0))
    train(model, adam(0.05), x, y, 30)                       # "pretrained"
    frozen = {p: np.asarray(v.value) for p, v in nn.state(model, nn.Param).flat_state()}

    def add_lora(path, value):
        if type(value) is nn.Linear:
            return nn.LoRA(value.in_features, 2, value.out_features, base_module=value, rngs=nn.Rngs(len(path)))
        return value

    lora_model = nn.recursive_map(add_lora, model)
    np.testing.assert_allclose(np.asarray(lora_model(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-5)  # b = 0
    y2 = (y + 1) % 3                                          # a new task: relabelled classes
    losses = train(lora_model, adam(0.05), x, y2, 60, wrt=nn.LoRAParam)
    assert losses[-1] < 0.5 * losses[0]
    for path, var in nn.state(model, nn.Param).flat_state():
        np.testing.assert_array_equal(np.asarray(var.value), frozen[path])      # base weights untouched
    trainable = sum(v.size for _, v in nn.state(lora_model, nn.LoRAParam).flat_state())
    assert trainable == (2 + 16) * 2 + (16 + 16) * 2 + (16 + 3) * 2


def test_partial_initialisation_from_a_checkpoint(tmp_path):
    pretrained = MLP(2, 16, 10, rngs=nn.Rngs(0))
    np.savez(tmp_path / "backbone.npz", **{"/".join(map(str, p)): np.asarray(v.value)
                                           for p, v in nn.state(pretrained.backbone).flat_state()})
    model = nn.eval_shape(lambda: MLP(2, 16, 3, rngs=nn.Rngs(1)))       # abstract: nothing allocated
    assert all(isinstance(v.value, ec.ShapeDtypeStruct) for _, v in nn.state(model).flat_state())
    model.head = nn.Linear(16, 3, rngs=nn.Rngs(2))                       # materialise only the new head
    checkpoint = np.load(tmp_path / "backbone.npz")
    for path, var in nn.state(model.backbone).flat_state():
        array = checkpoint["/".join(map(str, path))]
        assert array.shape == var.value.shape and array.dtype == var.value.dtype
        var.value = jnp.asarray(array)
    assert not any(isinstance(v.value, ec.ShapeDtypeStruct) for _, v in nn.state(model).flat_state())
    x = jnp.ones((4, 2))
    np.testing.assert_allclose(np.asarray(model.backbone(x)), np.asarray(pretrained.backbone(x)), rtol=1e-6)
    assert model(x).shape == (4, 3)


class Int8(nn.Variable):
    """Quantized weights: not a Param, so never trained."""


class QuantizedLinear(nn.Module):
    def __init__(self, linear):
        w = np.asarray(linear.kernel.value)
        scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / 127.0          # per output channel
        self.kernel = Int8(jnp.asarray(np.clip(np.round(w / scale), -127, 127).astype(np.int8)))
        self.scale = Int8(jnp.asarray(scale.astype(np.float32)))
        self.bias = linear.bias

    def __call__(self, x):
        return (x @ self.kernel.value.astype(x.dtype)) * self.scale.value + self.bias.value


def test_int8_weight_only_quantisation_keeps_accuracy(adam):
    x, y = blobs(512, seed=1)
    model = MLP(2, 32, 3, rngs=nn.Rngs(0))
    train(model, adam(0.05), x, y, 60)
    logits = np.asarray(model(x))
    acc = accuracy(model, x, y)
    for path, module in list(nn.iter_modules(model)):
        if type(module) is nn.Linear:
            set_path(model, path, QuantizedLinear(module))
    assert [type(m).__name__ for _, m in nn.iter_modules(model)].count("QuantizedLinear") == 3
    assert all(v.value.dtype == jnp.int8 for p, v in nn.state(model, Int8).flat_state() if p[-1] == "kernel")
    q_logits = np.asarray(nn.jit(lambda m, x: m(x))(model, x))
    assert abs(accuracy(model, x, y) - acc) <= 0.01 and acc > 0.9
    assert np.abs(q_logits - logits).max() < 0.05 * np.abs(logits).max()
